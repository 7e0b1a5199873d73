package adapter

import (
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// SelectAndScatterMax implements backends.Builder: each window (over the
// padded operand) routes its source value to the position of its maximum,
// the first one in row-major window order on ties, as XLA does.
func (b *Builder) SelectAndScatterMax(operand, source backends.Op, windowDimensions, windowStrides []int,
	paddings [][2]int) (backends.Op, error) {
	c := b.compose()
	return c.result("SelectAndScatterMax",
		selectAndScatterOps(c, true, operand, source, windowDimensions, windowStrides, paddings))
}

// SelectAndScatterMin is SelectAndScatterMax selecting the minimum.
func (b *Builder) SelectAndScatterMin(operand, source backends.Op, windowDimensions, windowStrides []int,
	paddings [][2]int) (backends.Op, error) {
	c := b.compose()
	return c.result("SelectAndScatterMin",
		selectAndScatterOps(c, false, operand, source, windowDimensions, windowStrides, paddings))
}

// selectAndScatterOps visits the window offsets k in row-major order. For each
// one, the strided slice of the padded operand starting at k holds, for every
// window, the element at offset k. Comparing it with the window extreme (and
// excluding windows already served by an earlier offset) says where each
// window's source goes; Pad with interior stride-1 puts those values back at
// their operand positions, and the offsets' contributions are summed.
func selectAndScatterOps(c *composer, isMax bool, operand, source backends.Op, window, strides []int,
	paddings [][2]int) backends.Op {
	shape := c.shape(operand)
	srcShape := c.shape(source)
	if c.err != nil {
		return nil
	}
	rank := shape.Rank()
	dtype := shape.DType
	if srcShape.DType != dtype {
		c.failf("source dtype %s differs from operand dtype %s", srcShape.DType, dtype)
		return nil
	}
	if len(window) != rank {
		c.failf("window dimensions %v must have one value per operand axis (operand %s)", window, shape)
		return nil
	}
	if len(strides) != 0 && len(strides) != rank {
		c.failf("strides %v must be empty or have one value per operand axis (operand %s)", strides, shape)
		return nil
	}
	if len(paddings) != 0 && len(paddings) != rank {
		c.failf("paddings %v must be empty or have one value per operand axis (operand %s)", paddings, shape)
		return nil
	}

	padCfg := make([]backends.PadAxis, rank)
	hasPadding := false
	for i := range rank {
		if len(paddings) > 0 {
			padCfg[i] = backends.PadAxis{Start: paddings[i][0], End: paddings[i][1]}
			hasPadding = hasPadding || paddings[i][0] != 0 || paddings[i][1] != 0
		}
	}
	var fill backends.Op
	if isMax {
		fill = c.lowest(dtype)
	} else {
		fill = c.highest(dtype)
	}
	padded := c.pad(operand, fill, padCfg...)
	// Padding must never be selected, even when it ties with the extreme
	// (an operand full of -Inf under max), so track which positions are real.
	var valid backends.Op
	if hasPadding {
		trueOp := c.call(func() (backends.Op, error) { return c.b.Constant([]bool{true}) })
		falseOp := c.call(func() (backends.Op, error) { return c.b.Constant([]bool{false}) })
		valid = c.pad(c.broadcastScalar(trueOp, dtypes.Bool, shape.Dimensions), falseOp, padCfg...)
	}
	pdims := c.dims(padded)
	if c.err != nil {
		return nil
	}

	outDims := make([]int, rank)
	normStrides := make([]int, rank)
	for i := range rank {
		w := window[i]
		s := w
		if len(strides) > 0 {
			s = strides[i]
		}
		s = max(s, 1)
		normStrides[i] = s
		if w < 1 || w > pdims[i] {
			c.failf("window %v does not fit padded operand dimensions %v", window, pdims)
			return nil
		}
		outDims[i] = (pdims[i]-w)/s + 1
	}
	if !slices.Equal(srcShape.Dimensions, outDims) {
		c.failf("source shape %s does not match the %v windows of operand %s", srcShape, outDims, shape)
		return nil
	}

	type offsetSlice struct {
		k      []int
		values backends.Op
		valid  backends.Op
	}
	var offsets []offsetSlice
	iterIndices(window, func(k []int) {
		starts := make([]int, rank)
		limits := make([]int, rank)
		for i := range rank {
			starts[i] = k[i]
			limits[i] = k[i] + (outDims[i]-1)*normStrides[i] + 1
		}
		o := offsetSlice{k: append([]int(nil), k...)}
		o.values = c.slice(padded, starts, limits, normStrides)
		if hasPadding {
			o.valid = c.slice(valid, starts, limits, normStrides)
		}
		offsets = append(offsets, o)
	})

	extreme := offsets[0].values
	for _, o := range offsets[1:] {
		if isMax {
			extreme = c.binary(c.b.Max, extreme, o.values)
		} else {
			extreme = c.binary(c.b.Min, extreme, o.values)
		}
	}

	zero := c.scalar(dtype, 0)
	var taken, total backends.Op
	for i, o := range offsets {
		hit := c.binary(c.b.Equal, o.values, extreme)
		if hasPadding {
			hit = c.binary(c.b.LogicalAnd, hit, o.valid)
		}
		if taken != nil {
			notTaken := c.call(func() (backends.Op, error) { return c.b.LogicalNot(taken) })
			hit = c.binary(c.b.LogicalAnd, hit, notTaken)
		}
		if i < len(offsets)-1 {
			if taken == nil {
				taken = hit
			} else {
				taken = c.binary(c.b.LogicalOr, taken, hit)
			}
		}
		routed := c.where(hit, source, zero)
		back := make([]backends.PadAxis, rank)
		for a := range rank {
			last := o.k[a] + (outDims[a]-1)*normStrides[a] + 1
			back[a] = backends.PadAxis{Start: o.k[a], End: pdims[a] - last, Interior: normStrides[a] - 1}
		}
		routed = c.pad(routed, zero, back...)
		if total == nil {
			total = routed
		} else {
			total = c.add(total, routed)
		}
	}

	if hasPadding {
		unpad := make([]backends.PadAxis, rank)
		for i, p := range padCfg {
			unpad[i] = backends.PadAxis{Start: -p.Start, End: -p.End}
		}
		total = c.pad(total, zero, unpad...)
	}
	return total
}
