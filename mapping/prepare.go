package mapping

import (
	"github.com/tfrun/tfrun/inputs"
	"github.com/tfrun/tfrun/raster"
)

// preparer turns a window's raw samples into model input and tells which
// pixels hold data: through the model's fitted raster preprocessing when
// it has one, else by the sheet's nodata values (the cutter's valid), the
// model's scale, and a conversion to grey for one-channel models.
type preparer struct {
	m       ModelInfo
	pixels  int
	inBands int
	scratch []float32 // raw samples, when preprocessing changes the band count
}

func newPreparer(m ModelInfo, in raster.Info, l layout) *preparer {
	p := &preparer{m: m, pixels: l.winW * l.winH, inBands: in.Bands}
	if m.Raster != nil || m.grey(in.Bands) {
		p.scratch = make([]float32, p.pixels*in.Bands)
	}
	return p
}

// raw is where the window's raw samples go before apply: x itself unless
// the preprocessing has its own band count.
func (p *preparer) raw(x []float32) []float32 {
	if p.scratch != nil {
		return p.scratch
	}
	return x
}

// apply prepares the raw samples into x, and valid with them when the
// model's preprocessing decides nodata.
func (p *preparer) apply(x []float32, valid []bool) error {
	switch {
	case p.m.Raster != nil:
		out, ok, err := p.m.Raster.Apply(p.scratch, p.pixels, p.inBands)
		if err != nil {
			return err
		}
		copy(x, out)
		copy(valid, ok)
		return nil
	case p.scratch != nil:
		g, err := inputs.ToGray(&inputs.Array{Shape: []int{p.pixels, 1, p.inBands}, Data: p.scratch})
		if err != nil {
			return err
		}
		copy(x, g.Data)
	}
	if s := p.m.Scale; s != 0 && s != 1 {
		inv := float32(1 / s)
		for i := range x {
			x[i] *= inv
		}
	}
	return nil
}
