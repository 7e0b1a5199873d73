package adapter

import (
	"github.com/gomlx/gomlx/backends"
)

// Pad implements backends.Builder with XLA semantics: interior padding is
// inserted first, then Start/End are applied to the result, negative values
// cropping it.
func (b *Builder) Pad(x, fillValue backends.Op, axesConfig ...backends.PadAxis) (backends.Op, error) {
	c := b.compose()
	out := padOps(c, x, fillValue, axesConfig)
	if c.err == nil && out == x {
		out = c.identity(x)
	}
	return c.result("Pad", out)
}

// padOps returns x itself when nothing is padded; Builder.Pad turns that into
// a fresh node, internal callers can use it as is.
func padOps(c *composer, x, fill backends.Op, cfg []backends.PadAxis) backends.Op {
	shape := c.shape(x)
	fillShape := c.shape(fill)
	if c.err != nil {
		return nil
	}
	if len(cfg) > shape.Rank() {
		c.failf("%d axes configured for operand of rank %d (%s)", len(cfg), shape.Rank(), shape)
		return nil
	}
	if !fillShape.IsScalar() || fillShape.DType != shape.DType {
		c.failf("fill value must be a scalar of dtype %s, got %s", shape.DType, fillShape)
		return nil
	}
	dtype := shape.DType
	for axis, p := range cfg {
		if p.Interior < 0 {
			c.failf("negative interior padding %d for axis %d", p.Interior, axis)
			return nil
		}
		dims := c.dims(x)
		if c.err != nil {
			return nil
		}
		n := dims[axis]
		final := n + p.Start + p.End
		if n > 0 {
			final += (n - 1) * p.Interior
		}
		if final < 0 {
			c.failf("padding %+v of axis %d (dimension %d) gives a negative dimension", p, axis, n)
			return nil
		}

		if p.Interior > 0 && n > 1 {
			// Interleave along a new minor axis: [.., n, 1, ..] ++ fill[.., n, k, ..]
			// reshaped to [.., n*(1+k), ..] has k fills after each element; the
			// trailing k after the last one are sliced away.
			expanded := insertAxis(dims, axis+1, 1)
			fillDims := insertAxis(dims, axis+1, p.Interior)
			y := c.reshape(x, expanded...)
			y = c.concat(axis+1, y, c.broadcastScalar(fill, dtype, fillDims))
			merged := append([]int(nil), dims...)
			merged[axis] = n * (1 + p.Interior)
			y = c.reshape(y, merged...)
			dims[axis] = n + (n-1)*p.Interior
			x = sliceAxis(c, y, merged, axis, 0, dims[axis])
		}

		// Negative edges crop; done before positive ones so a negative Start with
		// a positive End (or vice versa) works on the interior-padded operand.
		if p.Start < 0 || p.End < 0 {
			lo, hi := max(-p.Start, 0), dims[axis]-max(-p.End, 0)
			x = sliceAxis(c, x, dims, axis, lo, hi)
			dims[axis] = hi - lo
		}
		if p.Start > 0 || p.End > 0 {
			parts := make([]backends.Op, 0, 3)
			if p.Start > 0 {
				blockDims := append([]int(nil), dims...)
				blockDims[axis] = p.Start
				parts = append(parts, c.broadcastScalar(fill, dtype, blockDims))
			}
			if dims[axis] > 0 {
				parts = append(parts, x)
			}
			if p.End > 0 {
				blockDims := append([]int(nil), dims...)
				blockDims[axis] = p.End
				parts = append(parts, c.broadcastScalar(fill, dtype, blockDims))
			}
			x = c.concat(axis, parts...)
		}
	}
	return x
}

// sliceAxis slices [lo, hi) of one axis, leaving x untouched for a full range.
func sliceAxis(c *composer, x backends.Op, dims []int, axis, lo, hi int) backends.Op {
	if lo == 0 && hi == dims[axis] {
		return x
	}
	starts := make([]int, len(dims))
	limits := append([]int(nil), dims...)
	starts[axis], limits[axis] = lo, hi
	return c.slice(x, starts, limits, nil)
}

func insertAxis(dims []int, at, size int) []int {
	out := make([]int, 0, len(dims)+1)
	out = append(out, dims[:at]...)
	out = append(out, size)
	return append(out, dims[at:]...)
}
