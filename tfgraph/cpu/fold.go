package cpu

import (
	"slices"

	"github.com/gomlx/gomlx/backends"
)

// Folding rewrites, at record time, zero padding around a convolution's
// input and cropping of its output into the convolution's own padding:
// tfrun's convolution gradients (package nn) pad and crop explicitly, and a
// padded copy of an activation costs as much memory traffic as the
// convolution's own reads. The rewritten ops compute the same values, so
// they stay correct wherever they run.

// sliceParams are a recorded Slice's parameters.
type sliceParams struct{ starts, limits, strides []int }

// convCall is a recorded ConvGeneral's operands and parameters.
type convCall struct {
	input, kernel       *value
	axes                backends.ConvolveAxesConfig
	strides             []int
	paddings            [][2]int
	inDil, kDil         []int
	groups, batchGroups int
}

// isZero reports whether v is zero by construction: a float32 constant of
// zeros, or a broadcast of one.
func isZero(v *value) bool {
	switch v.node.op {
	case backends.OpTypeBroadcastInDim:
		return isZero(v.node.inputs[0])
	case backends.OpTypeConstant:
		flat, ok := v.node.constant.([]float32)
		if !ok {
			return false
		}
		for _, x := range flat {
			if x != 0 {
				return false
			}
		}
		return true
	}
	return false
}

// peelZeroPad looks through concatenations of v with zeros along the given
// axes, returning the value inside and the padding found on each axis.
func peelZeroPad(v *value, axes []int) (*value, [][2]int) {
	pads := make([][2]int, len(axes))
	for v.node.op == backends.OpTypeConcatenate {
		axis := v.node.params.(int)
		i := slices.Index(axes, axis)
		if i < 0 {
			break
		}
		var inner *value
		before, after, ok := 0, 0, true
		for _, in := range v.node.inputs {
			switch {
			case isZero(in) && inner == nil:
				before += in.shape.Dimensions[axis]
			case isZero(in):
				after += in.shape.Dimensions[axis]
			case inner == nil:
				inner = in
			default:
				ok = false
			}
		}
		if !ok || inner == nil {
			break
		}
		pads[i][0] += before
		pads[i][1] += after
		v = inner
	}
	return v, pads
}

// foldPadding moves zero padding of the input into the convolution's
// padding. Input dilation dilates before padding, so it rules folding out.
func foldPadding(c *convCall) {
	if slices.ContainsFunc(c.inDil, func(d int) bool { return d > 1 }) {
		return
	}
	inner, pads := peelZeroPad(c.input, c.axes.InputSpatial)
	if inner == c.input {
		return
	}
	paddings := make([][2]int, len(pads))
	copy(paddings, c.paddings)
	for i, p := range pads {
		paddings[i][0] += p[0]
		paddings[i][1] += p[1]
	}
	c.input, c.paddings = inner, paddings
}

// foldCrop returns the convolution that computes only the slice p of the
// output of conv, or nil when the slice is not a plain spatial crop.
func foldCrop(conv *convCall, outDims []int, p sliceParams) *convCall {
	if len(p.starts) != len(outDims) || len(p.limits) != len(outDims) ||
		slices.ContainsFunc(conv.inDil, func(d int) bool { return d > 1 }) ||
		slices.ContainsFunc(p.strides, func(s int) bool { return s != 1 }) {
		return nil
	}
	for _, a := range []int{conv.axes.OutputBatch, conv.axes.OutputChannels} {
		if p.starts[a] != 0 || p.limits[a] != outDims[a] {
			return nil
		}
	}
	c := *conv
	sp := len(c.axes.OutputSpatial)
	strides := orOnes(c.strides, sp)
	c.paddings = make([][2]int, sp)
	copy(c.paddings, conv.paddings)
	for i, a := range c.axes.OutputSpatial {
		c.paddings[i][0] -= p.starts[a] * strides[i]
		c.paddings[i][1] -= (outDims[a] - p.limits[a]) * strides[i]
	}
	return &c
}
