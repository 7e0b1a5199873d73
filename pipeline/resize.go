package pipeline

// Both resizers use half-pixel centres, as tf.image.resize (TF 2) does, so
// that a 2× reduction averages 2×2 blocks (bilinear) or picks one pixel of
// each (nearest) rather than drifting towards a corner. Bilinear has no
// antialiasing, also as tf.image.resize by default.

// taps holds, for each output position along one axis, the two input
// positions it reads and the weight of the second.
type taps struct {
	lo, hi []int
	frac   []float32
}

func newTaps(out, in int) taps {
	t := taps{lo: make([]int, out), hi: make([]int, out), frac: make([]float32, out)}
	s := float64(in) / float64(out)
	for i := range out {
		p := min(max((float64(i)+0.5)*s-0.5, 0), float64(in-1))
		lo := int(p)
		t.lo[i], t.hi[i], t.frac[i] = lo, min(lo+1, in-1), float32(p-float64(lo))
	}
	return t
}

// resizeBilinear writes src ([sh, sw, c]) resampled to dst ([dh, dw, c]).
func resizeBilinear(dst []float32, dh, dw int, src []float32, sh, sw, c int) {
	if dh == sh && dw == sw {
		copy(dst, src)
		return
	}
	rows, cols := newTaps(dh, sh), newTaps(dw, sw)
	for r := range dh {
		top, bot, fr := src[rows.lo[r]*sw*c:], src[rows.hi[r]*sw*c:], rows.frac[r]
		out := dst[r*dw*c : (r+1)*dw*c]
		for x := range dw {
			a, b, fc := cols.lo[x]*c, cols.hi[x]*c, cols.frac[x]
			for k := range c {
				t := top[a+k] + (top[b+k]-top[a+k])*fc
				u := bot[a+k] + (bot[b+k]-bot[a+k])*fc
				out[x*c+k] = t + (u-t)*fr
			}
		}
	}
}

// ResizeLabels writes the labels src ([sh, sw]) resampled to dst ([dh, dw])
// by nearest neighbour, as masks are resized.
func ResizeLabels(dst []int32, dh, dw int, src []int32, sh, sw int) {
	if dh == sh && dw == sw {
		copy(dst, src)
		return
	}
	col := make([]int, dw)
	for x := range dw {
		col[x] = min(int((float64(x)+0.5)*float64(sw)/float64(dw)), sw-1)
	}
	for r := range dh {
		row := src[min(int((float64(r)+0.5)*float64(sh)/float64(dh)), sh-1)*sw:]
		out := dst[r*dw : (r+1)*dw]
		for x, c := range col {
			out[x] = row[c]
		}
	}
}
