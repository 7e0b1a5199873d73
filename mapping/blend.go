package mapping

// blender turns window outputs, arriving in row order, into finished
// strips.
type blender interface {
	// add blends window (r, c): probs are its outputs as probabilities,
	// valid which of its input pixels hold data.
	add(r, c int, probs []float32, valid []bool)
	// rowsBefore returns the output rows that window row r and later
	// cannot touch and that were not returned before (nil if none).
	rowsBefore(r int) *Strip
}

// mapBlend accumulates weighted probabilities of a map model's windows in
// a band of sheet rows as tall as a window: window row r touches sheet
// rows from its origin down, so once row r starts, every row above its
// origin is final.
type mapBlend struct {
	l       layout
	k       int
	w       weights
	lo      int       // sheet row held in the band's first row
	sum     []float32 // [winH, width, k] weighted probabilities
	weight  []float32 // [winH, width] summed weights
	valid   []bool    // [winH, width]
	emitted int       // sheet rows already returned
}

func newMapBlend(l layout, k int, w weights) *mapBlend {
	n := l.winH * l.width
	_, lo := l.origin(0, 0)
	return &mapBlend{l: l, k: k, w: w, lo: lo,
		sum: make([]float32, n*k), weight: make([]float32, n), valid: make([]bool, n)}
}

func (m *mapBlend) add(r, c int, probs []float32, valid []bool) {
	l, k := m.l, m.k
	x0, y0 := l.origin(r, c)
	// The part of the contributing region that lies on the sheet.
	reg := m.w.region
	xa, xb := max(reg.x0, -x0), min(reg.x1, l.width-x0)
	ya, yb := max(reg.y0, -y0), min(reg.y1, l.height-y0)
	if xa >= xb {
		return
	}
	for wy := ya; wy < yb; wy++ {
		src := wy*l.winW + xa
		dst := (y0+wy-m.lo)*l.width + x0 + xa
		n := xb - xa
		w, ok := m.w.w[src:src+n], valid[src:src+n]
		weight, seen := m.weight[dst:dst+n], m.valid[dst:dst+n]
		sum, p := m.sum[dst*k:(dst+n)*k], probs[src*k:(src+n)*k]
		for i := range ok {
			if !ok[i] {
				continue
			}
			wt := w[i]
			weight[i] += wt
			seen[i] = true
			for j := i * k; j < (i+1)*k; j++ {
				sum[j] += wt * p[j]
			}
		}
	}
}

func (m *mapBlend) rowsBefore(r int) *Strip {
	lo := m.l.height
	if r < m.l.rows {
		_, lo = m.l.origin(r, 0)
	}
	var s *Strip
	if upTo := min(lo, m.l.height); upTo > m.emitted {
		s = m.strip(m.emitted, upTo)
		m.emitted = upTo
	}
	m.shift(lo)
	return s
}

// strip divides the accumulated sums of sheet rows [y0, y1) by their
// weights.
func (m *mapBlend) strip(y0, y1 int) *Strip {
	width, k := m.l.width, m.k
	s := &Strip{Y0: y0, Rows: y1 - y0, Width: width, Classes: k}
	s.Probs = make([]float32, s.Rows*width*k)
	s.Valid = make([]bool, s.Rows*width)
	from := (y0 - m.lo) * width
	for i := range s.Valid {
		j := from + i
		if !m.valid[j] || m.weight[j] == 0 {
			continue
		}
		s.Valid[i] = true
		inv := 1 / m.weight[j]
		for c := range k {
			s.Probs[i*k+c] = m.sum[j*k+c] * inv
		}
	}
	return s
}

// shift moves the band down so that it starts at sheet row lo, keeping
// the rows already accumulated below it.
func (m *mapBlend) shift(lo int) {
	d := lo - m.lo
	if d <= 0 {
		return
	}
	width, k := m.l.width, m.k
	n := m.l.winH * width
	keep := max(n-d*width, 0)
	copy(m.weight, m.weight[n-keep:])
	copy(m.valid, m.valid[n-keep:])
	copy(m.sum, m.sum[(n-keep)*k:])
	clear(m.weight[keep:])
	clear(m.valid[keep:])
	clear(m.sum[keep*k:])
	m.lo = lo
}

// cellBlend gives a classifier's one class per window: each window row is
// one row of cells.
type cellBlend struct {
	l       layout
	k       int
	emitted int       // cell rows already returned; the next is being filled
	probs   []float32 // [cols, k] of that row
	valid   []bool    // [cols]
}

func newCellBlend(l layout, k int) *cellBlend {
	return &cellBlend{l: l, k: k, probs: make([]float32, l.cols*k), valid: make([]bool, l.cols)}
}

func (b *cellBlend) add(r, c int, probs []float32, valid []bool) {
	b.valid[c] = true
	copy(b.probs[c*b.k:(c+1)*b.k], probs)
}

func (b *cellBlend) rowsBefore(r int) *Strip {
	r = min(r, b.l.rows)
	if r <= b.emitted {
		return nil
	}
	// Only the first row can hold cells: rows are finished one at a time.
	n := (r - b.emitted) * b.l.cols
	s := &Strip{Y0: b.emitted, Rows: r - b.emitted, Width: b.l.cols, Classes: b.k,
		Probs: make([]float32, n*b.k), Valid: make([]bool, n)}
	copy(s.Probs, b.probs)
	copy(s.Valid, b.valid)
	clear(b.probs)
	clear(b.valid)
	b.emitted = r
	return s
}
