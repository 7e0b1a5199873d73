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
}

// bandReader reads the bands of successive window rows, reading each
// sheet row once: rows shared with the previous band are copied from it.
type bandReader struct {
	src  Source
	l    layout
	prev *band
}

func (br *bandReader) read(r int) (*band, error) {
	in := br.src.Info()
	_, y0 := br.l.origin(r, 0)
	lo, hi := in.Height, 0
	for y := y0; y < y0+br.l.winH; y++ {
		s := reflect(y, in.Height)
		lo, hi = min(lo, s), max(hi, s+1)
	}
	rowLen := in.Width * in.Bands
	b := &band{r: r, lo: lo, hi: hi, data: make([]float32, (hi-lo)*rowLen)}
	from := lo
	if p := br.prev; p != nil && p.lo <= lo && lo < p.hi {
		from = min(p.hi, hi)
		copy(b.data, p.data[(lo-p.lo)*rowLen:(from-p.lo)*rowLen])
	}
	if from < hi {
		rows, err := br.src.ReadWindow(0, from, in.Width, hi-from)
		if err != nil {
			return nil, err
		}
		copy(b.data[(from-lo)*rowLen:], rows)
	}
	br.prev = b
	return b, nil
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

// cut fills dst ([winH, winW, bands]) with window (b.r, c).
func (ct *cutter) cut(b *band, c int, dst []float32) {
	l, nb := ct.l, ct.bands
	x0, y0 := l.origin(b.r, c)
	if ct.cols == nil {
		ct.cols = make([]int, l.winW)
	}
	for x := range ct.cols {
		ct.cols[x] = reflect(x0+x, l.width)
	}
	rowLen := l.width * nb
	inside := x0 >= 0 && x0+l.winW <= l.width
	for y := range l.winH {
		row := b.data[(reflect(y0+y, l.height)-b.lo)*rowLen:]
		out := dst[y*l.winW*nb : (y+1)*l.winW*nb]
		if inside {
			copy(out, row[x0*nb:])
			continue
		}
		for x, sx := range ct.cols {
			copy(out[x*nb:x*nb+nb], row[sx*nb:sx*nb+nb])
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
