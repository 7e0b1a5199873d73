package mapping

import (
	"math"
	"slices"
	"strings"

	"github.com/tfrun/tfrun/raster"
)

// Source is a raster read by windows; *raster.File is one.
type Source interface {
	Info() raster.Info
	ReadWindow(x, y, w, h int) ([]float32, error)
}

// band is the sheet rows [lo, hi), all columns and bands, that one row of
// windows reads (reflected rows included).
type band struct {
	r      int // window row
	lo, hi int
	data   []float32
	// valid tells which pixels hold data, by the sheet's nodata values;
	// nil when every pixel does.
	valid []bool
}

// bandReader reads the bands of successive window rows, reading each
// sheet row once, and testing its pixels for nodata once: rows shared with
// the previous band are copied from it. Bands the cutter is done with come
// back through spent, so a run allocates three bands, not one per row.
type bandReader struct {
	src    Source
	l      layout
	nodata nodataTest
	prev   *band
	spent  chan *band
}

// newBandReader reads src; testNodata is false when the model's own
// preprocessing decides which pixels hold data.
func newBandReader(src Source, l layout, testNodata bool) *bandReader {
	br := &bandReader{src: src, l: l, nodata: newNodataTest(src.Info()), spent: make(chan *band, 2)}
	br.nodata.needed = br.nodata.needed && testNodata
	return br
}

func (br *bandReader) read(r int) (*band, error) {
	in := br.src.Info()
	_, y0 := br.l.origin(r, 0)
	lo, hi := in.Height, 0
	for y := y0; y < y0+br.l.winH; y++ {
		s := reflect(y, in.Height)
		lo, hi = min(lo, s), max(hi, s+1)
	}
	b := br.recycled()
	b.r, b.lo, b.hi = r, lo, hi
	rowLen := in.Width * in.Bands
	b.data = b.data[:(hi-lo)*rowLen]
	if br.nodata.needed {
		b.valid = b.valid[:(hi-lo)*in.Width]
	}
	from := lo
	if p := br.prev; p != nil && p.lo <= lo && lo < p.hi {
		from = min(p.hi, hi)
		copy(b.data, p.data[(lo-p.lo)*rowLen:(from-p.lo)*rowLen])
		if b.valid != nil {
			copy(b.valid, p.valid[(lo-p.lo)*in.Width:(from-p.lo)*in.Width])
		}
	}
	if from < hi {
		rows, err := br.src.ReadWindow(0, from, in.Width, hi-from)
		if err != nil {
			return nil, err
		}
		copy(b.data[(from-lo)*rowLen:], rows)
		if b.valid != nil {
			v := b.valid[(from-lo)*in.Width:]
			for i := range (hi - from) * in.Width {
				v[i] = br.nodata.valid(rows[i*in.Bands : (i+1)*in.Bands])
			}
		}
	}
	br.prev = b
	return b, nil
}

// recycled returns a spent band, or a new one big enough for any row.
func (br *bandReader) recycled() *band {
	select {
	case b := <-br.spent:
		return b
	default:
	}
	in := br.src.Info()
	rows := min(br.l.winH, in.Height)
	b := &band{data: make([]float32, rows*in.Width*in.Bands)}
	if br.nodata.needed {
		b.valid = make([]bool, rows*in.Width)
	}
	return b
}

// release hands back a band the cutter is done with. The reader has long
// finished copying from it: it sent the next band only once built.
func (br *bandReader) release(b *band) {
	select {
	case br.spent <- b:
	default:
	}
}

// nodataTest tells pixels without data: those where every band that has
// a nodata value holds it (GDAL's and rasterio's reading of per-band
// nodata), and those with a NaN sample.
type nodataTest struct {
	values []float32 // per band; NaN where the band has none
	any    bool
	// needed is false when no pixel can lack data: no nodata values,
	// and integer samples, which cannot be NaN.
	needed bool
}

func newNodataTest(in raster.Info) nodataTest {
	t := nodataTest{values: make([]float32, in.Bands)}
	for b := range t.values {
		t.values[b] = float32(math.NaN())
		if nd := in.NoData; b < len(nd) && nd[b] != nil {
			t.values[b] = float32(*nd[b])
			t.any = true
		}
	}
	t.needed = t.any || strings.HasPrefix(in.DataType, "Float")
	return t
}

func (t nodataTest) valid(px []float32) bool {
	matched := true
	for b, v := range px {
		if v != v {
			return false
		}
		if nd := t.values[b]; nd != nd || v != nd {
			matched = false
		}
	}
	return !(t.any && matched)
}

// cutter copies windows out of bands, reflecting at the sheet's edges.
type cutter struct {
	l     layout
	bands int
	cols  []int // sheet column of each window column, for the current window
}

// cut fills dst ([winH, winW, bands]) and valid ([winH, winW]) with window
// (b.r, c).
func (ct *cutter) cut(b *band, c int, dst []float32, valid []bool) {
	l, nb := ct.l, ct.bands
	x0, y0 := l.origin(b.r, c)
	if ct.cols == nil {
		ct.cols = make([]int, l.winW)
	}
	for x := range ct.cols {
		ct.cols[x] = reflect(x0+x, l.width)
	}
	inside := x0 >= 0 && x0+l.winW <= l.width
	for y := range l.winH {
		sy := reflect(y0+y, l.height) - b.lo
		row := b.data[sy*l.width*nb:]
		out := dst[y*l.winW*nb : (y+1)*l.winW*nb]
		vrow, vout := []bool(nil), valid[y*l.winW:(y+1)*l.winW]
		if b.valid != nil {
			vrow = b.valid[sy*l.width:]
		}
		switch {
		case inside:
			copy(out, row[x0*nb:])
			if vrow != nil {
				copy(vout, vrow[x0:])
			}
		default:
			for x, sx := range ct.cols {
				copy(out[x*nb:x*nb+nb], row[sx*nb:sx*nb+nb])
				if vrow != nil {
					vout[x] = vrow[sx]
				}
			}
		}
		if vrow == nil {
			for x := range vout {
				vout[x] = true
			}
		}
	}
}

// anyIn tells whether any pixel of region is valid in a window's mask.
func anyIn(valid []bool, winW int, region rect) bool {
	for y := region.y0; y < region.y1; y++ {
		if slices.Contains(valid[y*winW+region.x0:y*winW+region.x1], true) {
			return true
		}
	}
	return false
}
