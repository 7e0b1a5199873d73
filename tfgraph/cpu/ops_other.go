package cpu

import (
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// The ops with parameters beyond their operands. Slices given by the caller
// are cloned: the replay runs again at Compile time.

type bb = backends.Builder

type ops = []backends.Op

// ArgMinMax implements backends.Builder.
func (b *Builder) ArgMinMax(x backends.Op, axis int, outputDType dtypes.DType, isMin bool) (backends.Op, error) {
	return b.op1(backends.OpTypeArgMinMax, ops{x}, func(d bb, in ops) (backends.Op, error) {
		return d.ArgMinMax(in[0], axis, outputDType, isMin)
	})
}

// BatchNormForInference implements backends.Builder.
func (b *Builder) BatchNormForInference(operand, scale, offset, mean, variance backends.Op, epsilon float32,
	featureAxis int) (backends.Op, error) {
	return b.op1(backends.OpTypeBatchNormForInference, ops{operand, scale, offset, mean, variance},
		func(d bb, in ops) (backends.Op, error) {
			return d.BatchNormForInference(in[0], in[1], in[2], in[3], in[4], epsilon, featureAxis)
		})
}

// three unpacks a three-output op.
func three(outs []*value, err error) (backends.Op, backends.Op, backends.Op, error) {
	if err != nil {
		return nil, nil, nil, err
	}
	return outs[0], outs[1], outs[2], nil
}

// BatchNormForTraining implements backends.Builder.
func (b *Builder) BatchNormForTraining(operand, scale, offset backends.Op, epsilon float32, featureAxis int) (
	backends.Op, backends.Op, backends.Op, error) {
	return three(b.record(backends.OpTypeBatchNormForTraining, ops{operand, scale, offset},
		func(d bb, in ops) (ops, error) {
			n, m, v, err := d.BatchNormForTraining(in[0], in[1], in[2], epsilon, featureAxis)
			return ops{n, m, v}, err
		}))
}

// BatchNormGradient implements backends.Builder.
func (b *Builder) BatchNormGradient(operand, scale, mean, variance, gradOutput backends.Op, epsilon float32,
	featureAxis int) (backends.Op, backends.Op, backends.Op, error) {
	return three(b.record(backends.OpTypeBatchNormGradient, ops{operand, scale, mean, variance, gradOutput},
		func(d bb, in ops) (ops, error) {
			x, s, o, err := d.BatchNormGradient(in[0], in[1], in[2], in[3], in[4], epsilon, featureAxis)
			return ops{x, s, o}, err
		}))
}

// Bitcast implements backends.Builder.
func (b *Builder) Bitcast(x backends.Op, targetDType dtypes.DType) (backends.Op, error) {
	return b.op1(backends.OpTypeBitcast, ops{x}, func(d bb, in ops) (backends.Op, error) {
		return d.Bitcast(in[0], targetDType)
	})
}

// BroadcastInDim implements backends.Builder.
func (b *Builder) BroadcastInDim(x backends.Op, outputShape shapes.Shape, broadcastAxes []int) (backends.Op, error) {
	outputShape, broadcastAxes = outputShape.Clone(), slices.Clone(broadcastAxes)
	v, err := b.record1(backends.OpTypeBroadcastInDim, ops{x}, func(d bb, in ops) (backends.Op, error) {
		return d.BroadcastInDim(in[0], outputShape, broadcastAxes)
	})
	if err != nil {
		return nil, err
	}
	v.node.params = broadcastAxes
	if v.node.elt = classifyBroadcast(v.node, broadcastAxes); v.node.elt == nil {
		if native := newBroadcast(v.node, broadcastAxes); native != nil {
			v.node.native = native
		}
	}
	return v, nil
}

// Clamp implements backends.Builder.
func (b *Builder) Clamp(lo, x, hi backends.Op) (backends.Op, error) {
	return b.op1(backends.OpTypeClamp, ops{lo, x, hi}, func(d bb, in ops) (backends.Op, error) {
		return d.Clamp(in[0], in[1], in[2])
	})
}

// Concatenate implements backends.Builder.
func (b *Builder) Concatenate(axis int, operands ...backends.Op) (backends.Op, error) {
	v, err := b.record1(backends.OpTypeConcatenate, slices.Clone(operands), func(d bb, in ops) (backends.Op, error) {
		return d.Concatenate(axis, in...)
	})
	if err != nil {
		return nil, err
	}
	v.node.params = axis
	if native := newConcat(v.node, axis); native != nil {
		v.node.native = native
	}
	return v, nil
}

// ConvertDType implements backends.Builder.
func (b *Builder) ConvertDType(x backends.Op, dtype dtypes.DType) (backends.Op, error) {
	return b.op1(backends.OpTypeConvertDType, ops{x}, func(d bb, in ops) (backends.Op, error) {
		return d.ConvertDType(in[0], dtype)
	})
}

// DynamicSlice implements backends.Builder.
func (b *Builder) DynamicSlice(operand backends.Op, startIndices []backends.Op, sliceDims []int) (backends.Op, error) {
	sliceDims = slices.Clone(sliceDims)
	return b.op1(backends.OpTypeDynamicSlice, append(ops{operand}, startIndices...), func(d bb, in ops) (backends.Op, error) {
		return d.DynamicSlice(in[0], in[1:], sliceDims)
	})
}

// DynamicUpdateSlice implements backends.Builder.
func (b *Builder) DynamicUpdateSlice(operand, update backends.Op, startIndices []backends.Op) (backends.Op, error) {
	return b.op1(backends.OpTypeDynamicUpdateSlice, append(ops{operand, update}, startIndices...),
		func(d bb, in ops) (backends.Op, error) {
			return d.DynamicUpdateSlice(in[0], in[1], in[2:])
		})
}

// FFT implements backends.Builder.
func (b *Builder) FFT(operand backends.Op, fftType backends.FFTType, fftLength []int) (backends.Op, error) {
	fftLength = slices.Clone(fftLength)
	return b.op1(backends.OpTypeFFT, ops{operand}, func(d bb, in ops) (backends.Op, error) {
		return d.FFT(in[0], fftType, fftLength)
	})
}

// Gather implements backends.Builder.
func (b *Builder) Gather(operand, startIndices backends.Op, indexVectorAxis int,
	offsetOutputAxes, collapsedSliceAxes, startIndexMap, sliceSizes []int, indicesAreSorted bool) (backends.Op, error) {
	offsetOutputAxes, collapsedSliceAxes = slices.Clone(offsetOutputAxes), slices.Clone(collapsedSliceAxes)
	startIndexMap, sliceSizes = slices.Clone(startIndexMap), slices.Clone(sliceSizes)
	return b.op1(backends.OpTypeGather, ops{operand, startIndices}, func(d bb, in ops) (backends.Op, error) {
		return d.Gather(in[0], in[1], indexVectorAxis, offsetOutputAxes, collapsedSliceAxes, startIndexMap,
			sliceSizes, indicesAreSorted)
	})
}

// Iota implements backends.Builder.
func (b *Builder) Iota(shape shapes.Shape, iotaAxis int) (backends.Op, error) {
	shape = shape.Clone()
	return b.op1(backends.OpTypeIota, nil, func(d bb, _ ops) (backends.Op, error) {
		return d.Iota(shape, iotaAxis)
	})
}

// Pad implements backends.Builder.
func (b *Builder) Pad(x, fillValue backends.Op, axesConfig ...backends.PadAxis) (backends.Op, error) {
	axesConfig = slices.Clone(axesConfig)
	return b.op1(backends.OpTypePad, ops{x, fillValue}, func(d bb, in ops) (backends.Op, error) {
		return d.Pad(in[0], in[1], axesConfig...)
	})
}

// ReduceWindow implements backends.Builder.
func (b *Builder) ReduceWindow(x backends.Op, reductionType backends.ReduceOpType,
	windowDimensions, strides, baseDilations, windowDilations []int, paddings [][2]int) (backends.Op, error) {
	windowDimensions, strides = slices.Clone(windowDimensions), slices.Clone(strides)
	baseDilations, windowDilations, paddings = slices.Clone(baseDilations), slices.Clone(windowDilations), slices.Clone(paddings)
	v, err := b.record1(backends.OpTypeReduceWindow, ops{x}, func(d bb, in ops) (backends.Op, error) {
		return d.ReduceWindow(in[0], reductionType, windowDimensions, strides, baseDilations, windowDilations, paddings)
	})
	if err != nil {
		return nil, err
	}
	if native := newReduceWindow(v.node, reductionType, windowDimensions, strides, baseDilations, windowDilations,
		paddings); native != nil {
		v.node.native = native
	}
	return v, nil
}

// Reshape implements backends.Builder.
func (b *Builder) Reshape(x backends.Op, dimensions ...int) (backends.Op, error) {
	dimensions = slices.Clone(dimensions)
	return b.op1(backends.OpTypeReshape, ops{x}, func(d bb, in ops) (backends.Op, error) {
		return d.Reshape(in[0], dimensions...)
	})
}

// Reverse implements backends.Builder.
func (b *Builder) Reverse(x backends.Op, axes ...int) (backends.Op, error) {
	axes = slices.Clone(axes)
	return b.op1(backends.OpTypeReverse, ops{x}, func(d bb, in ops) (backends.Op, error) {
		return d.Reverse(in[0], axes...)
	})
}

// RNGBitGenerator implements backends.Builder.
func (b *Builder) RNGBitGenerator(state backends.Op, shape shapes.Shape) (backends.Op, backends.Op, error) {
	shape = shape.Clone()
	outs, err := b.record(backends.OpTypeRNGBitGenerator, ops{state}, func(d bb, in ops) (ops, error) {
		s, v, err := d.RNGBitGenerator(in[0], shape)
		return ops{s, v}, err
	})
	if err != nil {
		return nil, nil, err
	}
	return outs[0], outs[1], nil
}

type scatterFn = func(d bb, operand, scatterIndices, updates backends.Op, indexVectorAxis int,
	updateWindowAxes, insertedWindowAxes, scatterAxesToOperandAxes []int, indicesAreSorted, uniqueIndices bool) (backends.Op, error)

func (b *Builder) scatter(op backends.OpType, f scatterFn, operand, scatterIndices, updates backends.Op,
	indexVectorAxis int, updateWindowAxes, insertedWindowAxes, scatterAxesToOperandAxes []int,
	indicesAreSorted, uniqueIndices bool) (backends.Op, error) {
	updateWindowAxes, insertedWindowAxes = slices.Clone(updateWindowAxes), slices.Clone(insertedWindowAxes)
	scatterAxesToOperandAxes = slices.Clone(scatterAxesToOperandAxes)
	return b.op1(op, ops{operand, scatterIndices, updates}, func(d bb, in ops) (backends.Op, error) {
		return f(d, in[0], in[1], in[2], indexVectorAxis, updateWindowAxes, insertedWindowAxes,
			scatterAxesToOperandAxes, indicesAreSorted, uniqueIndices)
	})
}

// ScatterMax implements backends.Builder.
func (b *Builder) ScatterMax(operand, scatterIndices, updates backends.Op, indexVectorAxis int,
	updateWindowAxes, insertedWindowAxes, scatterAxesToOperandAxes []int, indicesAreSorted, uniqueIndices bool) (backends.Op, error) {
	return b.scatter(backends.OpTypeScatterMax, bb.ScatterMax, operand, scatterIndices, updates, indexVectorAxis,
		updateWindowAxes, insertedWindowAxes, scatterAxesToOperandAxes, indicesAreSorted, uniqueIndices)
}

// ScatterMin implements backends.Builder.
func (b *Builder) ScatterMin(operand, scatterIndices, updates backends.Op, indexVectorAxis int,
	updateWindowAxes, insertedWindowAxes, scatterAxesToOperandAxes []int, indicesAreSorted, uniqueIndices bool) (backends.Op, error) {
	return b.scatter(backends.OpTypeScatterMin, bb.ScatterMin, operand, scatterIndices, updates, indexVectorAxis,
		updateWindowAxes, insertedWindowAxes, scatterAxesToOperandAxes, indicesAreSorted, uniqueIndices)
}

// ScatterSum implements backends.Builder.
func (b *Builder) ScatterSum(operand, scatterIndices, updates backends.Op, indexVectorAxis int,
	updateWindowAxes, insertedWindowAxes, scatterAxesToOperandAxes []int, indicesAreSorted, uniqueIndices bool) (backends.Op, error) {
	return b.scatter(backends.OpTypeScatterSum, bb.ScatterSum, operand, scatterIndices, updates, indexVectorAxis,
		updateWindowAxes, insertedWindowAxes, scatterAxesToOperandAxes, indicesAreSorted, uniqueIndices)
}

// SelectAndScatterMax implements backends.Builder.
func (b *Builder) SelectAndScatterMax(operand, source backends.Op, windowDimensions, windowStrides []int,
	paddings [][2]int) (backends.Op, error) {
	windowDimensions, windowStrides, paddings = slices.Clone(windowDimensions), slices.Clone(windowStrides), slices.Clone(paddings)
	v, err := b.record1(backends.OpTypeSelectAndScatterMax, ops{operand, source}, func(d bb, in ops) (backends.Op, error) {
		return d.SelectAndScatterMax(in[0], in[1], windowDimensions, windowStrides, paddings)
	})
	if err != nil {
		return nil, err
	}
	if native := newSelectScatter(v.node, true, windowDimensions, windowStrides, paddings); native != nil {
		v.node.native = native
	}
	return v, nil
}

// SelectAndScatterMin implements backends.Builder.
func (b *Builder) SelectAndScatterMin(operand, source backends.Op, windowDimensions, windowStrides []int,
	paddings [][2]int) (backends.Op, error) {
	windowDimensions, windowStrides, paddings = slices.Clone(windowDimensions), slices.Clone(windowStrides), slices.Clone(paddings)
	v, err := b.record1(backends.OpTypeSelectAndScatterMin, ops{operand, source}, func(d bb, in ops) (backends.Op, error) {
		return d.SelectAndScatterMin(in[0], in[1], windowDimensions, windowStrides, paddings)
	})
	if err != nil {
		return nil, err
	}
	if native := newSelectScatter(v.node, false, windowDimensions, windowStrides, paddings); native != nil {
		v.node.native = native
	}
	return v, nil
}

// Slice implements backends.Builder.
func (b *Builder) Slice(x backends.Op, starts, limits, strides []int) (backends.Op, error) {
	starts, limits, strides = slices.Clone(starts), slices.Clone(limits), slices.Clone(strides)
	v, err := b.record1(backends.OpTypeSlice, ops{x}, func(d bb, in ops) (backends.Op, error) {
		return d.Slice(in[0], starts, limits, strides)
	})
	if err != nil {
		return nil, err
	}
	p := sliceParams{starts: starts, limits: limits, strides: strides}
	v.node.params = p
	if native := newSlice(v.node, p); native != nil {
		v.node.native = native
	}
	in := v.node.inputs[0]
	if inner, pads := peelZeroPad(in, identityAxes(in.shape.Rank())); inner != in {
		// The padding's concatenations go unused, and Compile drops them,
		// when every reader of theirs reads through them like this.
		w, err := b.record1(backends.OpTypeSlice, ops{inner}, func(d bb, in ops) (backends.Op, error) {
			zero, err := d.Constant([]float32{0})
			if err != nil {
				return nil, err
			}
			axes := make([]backends.PadAxis, len(pads))
			for a, p := range pads {
				axes[a] = backends.PadAxis{Start: p[0], End: p[1]}
			}
			padded, err := d.Pad(in[0], zero, axes...)
			if err != nil {
				return nil, err
			}
			return d.Slice(padded, starts, limits, strides)
		})
		if err == nil && w.shape.Equal(v.shape) {
			if native := newPaddedSlice(w.node, inner, pads, p); native != nil {
				w.node.params, w.node.native = p, native
				return w, nil
			}
		}
	}
	if conv, ok := in.node.params.(*convCall); ok {
		if c := foldCrop(conv, in.shape.Dimensions, p); c != nil {
			// The Slice recorded above goes unused, and Compile drops it.
			if cropped, err := b.convGeneral(c); err == nil && cropped.shape.Equal(v.shape) {
				return cropped, nil
			}
		}
	}
	return v, nil
}

// Transpose implements backends.Builder.
func (b *Builder) Transpose(x backends.Op, permutation ...int) (backends.Op, error) {
	permutation = slices.Clone(permutation)
	v, err := b.record1(backends.OpTypeTranspose, ops{x}, func(d bb, in ops) (backends.Op, error) {
		return d.Transpose(in[0], permutation...)
	})
	if err != nil {
		return nil, err
	}
	if native := newTranspose(v.node, permutation); native != nil {
		v.node.native = native
	}
	return v, nil
}

// Where implements backends.Builder.
func (b *Builder) Where(condition, onTrue, onFalse backends.Op) (backends.Op, error) {
	return b.op1(backends.OpTypeWhere, ops{condition, onTrue, onFalse}, func(d bb, in ops) (backends.Op, error) {
		return d.Where(in[0], in[1], in[2])
	})
}
