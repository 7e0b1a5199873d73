package adapter

import (
	"fmt"
	"runtime"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/shapeinference"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// ConvGeneral implements backends.Builder with an im2col formulation, replacing
// simplego's naive single-threaded loop: the (dilated, padded) input is cut
// into one strided slice per kernel offset, the slices are concatenated along
// the channel axis into a patch matrix, and a single DotGeneral (which simplego
// runs blocked and multi-threaded) against the flattened kernel produces the
// output.
//
// Strides and dilations of 0 (or missing) mean 1. Grouping follows the
// StableHLO definition: with feature (channel) groups the input channels and
// kernel output channels are split into contiguous groups; with batch groups
// the input batch and kernel output channels are; in both cases each group is
// convolved separately and the results concatenated along the output channels.
// Groups become the batch axis of the DotGeneral.
func (b *Builder) ConvGeneral(input, kernel backends.Op, axes backends.ConvolveAxesConfig,
	strides []int, paddings [][2]int, inputDilations, kernelDilations []int,
	channelGroupCount, batchGroupCount int) (backends.Op, error) {
	c := b.compose()
	out := convOps(c, input, kernel, axes, strides, paddings, inputDilations, kernelDilations,
		channelGroupCount, batchGroupCount)
	return c.result("ConvGeneral", out)
}

// onesIfUnset returns one value per spatial axis, mapping missing or
// non-positive values to 1.
func onesIfUnset(name string, values []int, n int) ([]int, error) {
	if len(values) != 0 && len(values) != n {
		return nil, fmt.Errorf("%s %v must be empty or have one value per spatial axis (%d)", name, values, n)
	}
	out := make([]int, n)
	for i := range out {
		out[i] = 1
		if len(values) > 0 && values[i] > 0 {
			out[i] = values[i]
		}
	}
	return out, nil
}

func convOps(c *composer, input, kernel backends.Op, axes backends.ConvolveAxesConfig,
	stridesIn []int, paddingsIn [][2]int, inputDilationsIn, kernelDilationsIn []int,
	featureGroups, batchGroups int) backends.Op {
	inShape := c.shape(input)
	kShape := c.shape(kernel)
	if c.err != nil {
		return nil
	}
	rank := inShape.Rank()
	n := rank - 2
	if n < 1 {
		c.failf("input must have rank >= 3, got %s", inShape)
		return nil
	}
	strides, err := onesIfUnset("strides", stridesIn, n)
	if err != nil {
		c.err = err
		return nil
	}
	inDil, err := onesIfUnset("input dilations", inputDilationsIn, n)
	if err != nil {
		c.err = err
		return nil
	}
	kDil, err := onesIfUnset("kernel dilations", kernelDilationsIn, n)
	if err != nil {
		c.err = err
		return nil
	}
	if len(paddingsIn) != 0 && len(paddingsIn) != n {
		c.failf("paddings %v must be empty or have one value per spatial axis (%d)", paddingsIn, n)
		return nil
	}
	paddings := make([][2]int, n)
	copy(paddings, paddingsIn)
	featureGroups = max(featureGroups, 1)
	batchGroups = max(batchGroups, 1)

	// Validation and the expected output shape come from GoMLX's own shape
	// inference, fed with the normalized parameters.
	outShape, err := shapeinference.ConvGeneralOp(inShape, kShape, axes, strides, paddings, inDil, kDil,
		featureGroups, batchGroups)
	if err != nil {
		c.err = err
		return nil
	}
	dtype := inShape.DType
	if !dtype.IsFloat() {
		// simplego's DotGeneral crashes on integer operands beyond a handful of
		// outputs (its blocked path has no block size for them), so integer
		// convolutions stay on simplego's own loop, which is correct given
		// explicit strides and dilations, except for batch groups.
		if batchGroups > 1 {
			c.failf("batch-grouped convolution of %s is not supported", dtype)
			return nil
		}
		return c.call(func() (backends.Op, error) {
			return c.b.Builder.ConvGeneral(input, kernel, axes, strides, paddings, inDil, kDil, featureGroups, batchGroups)
		})
	}

	// Input to [batch, spatial..., channels], then dilate and pad in one Pad.
	perm := make([]int, 0, rank)
	perm = append(perm, axes.InputBatch)
	perm = append(perm, axes.InputSpatial...)
	perm = append(perm, axes.InputChannels)
	x := c.transpose(input, perm...)
	padCfg := make([]backends.PadAxis, rank)
	for i := range n {
		padCfg[1+i] = backends.PadAxis{Start: paddings[i][0], End: paddings[i][1], Interior: inDil[i] - 1}
	}
	x = c.pad(x, c.scalar(dtype, 0), padCfg...)
	xDims := c.dims(x)
	if c.err != nil {
		return nil
	}
	batch, channels := xDims[0], xDims[rank-1]
	spatial := xDims[1 : rank-1]

	// Layout [groups, batchPerGroup, spatial..., channelsPerGroup].
	groups := featureGroups * batchGroups
	groupBatch, groupChannels := batch, channels
	switch {
	case featureGroups > 1:
		groupChannels = channels / featureGroups
		x = c.reshape(x, append(slices.Clone(xDims[:rank-1]), featureGroups, groupChannels)...)
		gPerm := make([]int, 0, rank+1)
		gPerm = append(gPerm, rank-1)
		for i := range rank - 1 {
			gPerm = append(gPerm, i)
		}
		gPerm = append(gPerm, rank)
		x = c.transpose(x, gPerm...)
	case batchGroups > 1:
		groupBatch = batch / batchGroups
	}
	layout := make([]int, 0, rank+1)
	layout = append(layout, groups, groupBatch)
	layout = append(layout, spatial...)
	layout = append(layout, groupChannels)
	x = c.reshape(x, layout...)

	kSpatial := make([]int, n)
	effKernel := make([]int, n)
	outSpatial := make([]int, n)
	for i := range n {
		kSpatial[i] = kShape.Dimensions[axes.KernelSpatial[i]]
		effKernel[i] = (kSpatial[i]-1)*kDil[i] + 1
		outSpatial[i] = (spatial[i]-effKernel[i])/strides[i] + 1
		if outSpatial[i] != outShape.Dimensions[axes.OutputSpatial[i]] {
			c.failf("internal error: spatial axis %d has %d outputs, shape inference expects %s",
				i, outSpatial[i], outShape)
			return nil
		}
	}
	numKernel, numOut := product(kSpatial), product(outSpatial)
	patchWidth := numKernel * groupChannels

	// Build patches [groups, groupBatch*numOut, numKernel*groupChannels] with
	// the contracting index ordered (kernel offset, channel). Loop over
	// whichever of kernel offsets or output positions is smaller: the kernel
	// gradient convolves with "kernels" as large as the output, where one slice
	// per output position is far fewer ops.
	var patches backends.Op
	if numKernel <= numOut {
		parts := make([]backends.Op, 0, numKernel)
		iterIndices(kSpatial, func(k []int) {
			starts := make([]int, rank+1)
			limits := slices.Clone(layout)
			sliceStrides := slices.Repeat([]int{1}, rank+1)
			for i := range n {
				starts[2+i] = k[i] * kDil[i]
				limits[2+i] = starts[2+i] + (outSpatial[i]-1)*strides[i] + 1
				sliceStrides[2+i] = strides[i]
			}
			parts = append(parts, sliceUnlessFull(c, x, layout, starts, limits, sliceStrides))
		})
		patches = c.concat(rank, parts...)
		patches = c.reshape(patches, groups, groupBatch*numOut, patchWidth)
	} else {
		parts := make([]backends.Op, 0, numOut)
		iterIndices(outSpatial, func(o []int) {
			starts := make([]int, rank+1)
			limits := slices.Clone(layout)
			sliceStrides := slices.Repeat([]int{1}, rank+1)
			for i := range n {
				starts[2+i] = o[i] * strides[i]
				limits[2+i] = starts[2+i] + effKernel[i]
				sliceStrides[2+i] = kDil[i]
			}
			window := sliceUnlessFull(c, x, layout, starts, limits, sliceStrides)
			parts = append(parts, c.reshape(window, groups, groupBatch, 1, patchWidth))
		})
		patches = c.concat(2, parts...)
		patches = c.reshape(patches, groups, groupBatch*numOut, patchWidth)
	}

	// Kernel to [groups, numKernel*groupChannels, outChannelsPerGroup].
	outChannels := kShape.Dimensions[axes.KernelOutputChannels]
	kPerm := make([]int, 0, rank)
	kPerm = append(kPerm, axes.KernelSpatial...)
	kPerm = append(kPerm, axes.KernelInputChannels, axes.KernelOutputChannels)
	k := c.transpose(kernel, kPerm...)
	var y backends.Op
	if groups == 1 {
		// A plain matrix product: no size-1 batch axis, no transposes.
		rows := groupBatch * numOut
		patches = c.reshape(patches, rows, patchWidth)
		k = c.reshape(k, patchWidth, outChannels)
		if split := contractionSplit(dtype, rows, outChannels, patchWidth); split > 1 {
			// Each chunk of the contraction becomes a batch entry that simplego
			// can run on its own worker; the partial products are then summed.
			patches = c.reshape(patches, rows, split, patchWidth/split)
			k = c.reshape(k, split, patchWidth/split, outChannels)
			y = c.call(func() (backends.Op, error) {
				return c.b.DotGeneral(patches, []int{2}, []int{1}, k, []int{1}, []int{0})
			})
			y = c.reduceSum(y, 0)
		} else {
			y = c.call(func() (backends.Op, error) {
				return c.b.DotGeneral(patches, []int{1}, nil, k, []int{0}, nil)
			})
		}
	} else {
		k = c.reshape(k, patchWidth, groups, outChannels/groups)
		k = c.transpose(k, 1, 0, 2)
		y = c.call(func() (backends.Op, error) {
			return c.b.DotGeneral(patches, []int{2}, []int{0}, k, []int{1}, []int{0})
		})
		// [groups, groupBatch*numOut, outPerGroup] -> [groupBatch*numOut, groups, outPerGroup]
		y = c.transpose(y, 1, 0, 2)
	}
	flatOut := make([]int, 0, rank)
	flatOut = append(flatOut, groupBatch)
	flatOut = append(flatOut, outSpatial...)
	flatOut = append(flatOut, outChannels)
	y = c.reshape(y, flatOut...)

	outPerm := make([]int, rank)
	outPerm[axes.OutputBatch] = 0
	for i, axis := range axes.OutputSpatial {
		outPerm[axis] = 1 + i
	}
	outPerm[axes.OutputChannels] = rank - 1
	y = c.transpose(y, outPerm...)
	if c.err == nil {
		if got := c.shape(y); !got.Equal(outShape) {
			c.failf("internal error: composed output shape %s, expected %s", got, outShape)
		}
	}
	return y
}

func sliceUnlessFull(c *composer, x backends.Op, dims, starts, limits, strides []int) backends.Op {
	full := true
	for i := range dims {
		full = full && starts[i] == 0 && limits[i] == dims[i] && strides[i] == 1
	}
	if full {
		return x
	}
	return c.slice(x, starts, limits, strides)
}

// splitWorkers is the number of chunks worth creating; a variable so tests can
// exercise the split on any machine.
var splitWorkers = runtime.NumCPU

// contractionSplit decides how many chunks to cut the contraction of a
// [rows, width] x [width, cols] product into. simplego runs products with a
// small output (rows*cols up to 16 of its blocks) on a simple loop that only
// parallelizes over batch entries; the kernel gradient of a convolution is
// exactly that shape (few outputs, contraction over batch*spatial), so it
// would run on one core. Splitting the contraction into batch entries spreads
// it over the workers. Returns 1 when not worth it.
func contractionSplit(dtype dtypes.DType, rows, cols, width int) int {
	const minChunk = 512
	log2Block := simplego.DotGeneralTargetBlockLog2Dim[dtype]
	if log2Block == 0 || rows*cols > 16<<(2*log2Block) || width < 2*minChunk {
		return 1
	}
	limit := min(splitWorkers(), width/minChunk)
	for p := limit; p >= 2; p-- {
		if width%p == 0 {
			return p
		}
	}
	return 1
}
