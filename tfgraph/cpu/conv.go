package cpu

import (
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/tfrun/tfrun/tfgraph/cpu/kernels"
)

// ConvGeneral implements backends.Builder. A float32 convolution runs on a
// kernels convolution pass chosen by its form, whatever its axes layout:
//
//   - without input dilation, as a forward convolution, unless its kernel
//     is spatially larger than its output: that is how a weights gradient
//     arrives (GoMLX convolves the input with the output gradient, batch and
//     channel axes swapped), and it runs as a backward-weights pass;
//   - with input dilation and unit strides (how a strided convolution's
//     input gradient arrives), as a backward-data pass with the kernel
//     reversed back.
//
// Anything else (batch groups, both dilation and strides) is delegated.
func (b *Builder) ConvGeneral(input, kernel backends.Op, axes backends.ConvolveAxesConfig, strides []int,
	paddings [][2]int, inputDilations, kernelDilations []int, channelGroupCount, batchGroupCount int) (backends.Op, error) {
	vs, err := b.values(ops{input, kernel})
	if err != nil {
		return nil, err
	}
	c := &convCall{input: vs[0], kernel: vs[1], axes: axes.Clone(), strides: slices.Clone(strides),
		paddings: slices.Clone(paddings), inDil: slices.Clone(inputDilations), kDil: slices.Clone(kernelDilations),
		groups: channelGroupCount, batchGroups: batchGroupCount}
	foldPadding(c)
	v, err := b.convGeneral(c)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// convGeneral records the convolution c.
func (b *Builder) convGeneral(c *convCall) (*value, error) {
	v, err := b.record1(backends.OpTypeConvGeneral, ops{c.input, c.kernel}, func(d bb, in ops) (backends.Op, error) {
		return d.ConvGeneral(in[0], in[1], c.axes, c.strides, c.paddings, c.inDil, c.kDil, c.groups, c.batchGroups)
	})
	if err != nil {
		return nil, err
	}
	v.node.params = c
	if op := c.plan(v.shape); op != nil {
		v.node.native = op
	}
	return v, nil
}

// orOnes returns one value per spatial axis, 1 where values has none.
func orOnes(values []int, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = 1
		if i < len(values) && values[i] > 0 {
			out[i] = values[i]
		}
	}
	return out
}

// layout describes tensor dims (row-major) as a kernels activation with the
// given batch and channel axes.
func layout(dims []int, batch, channel int, spatial []int) kernels.Layout {
	st := rowMajorStrides(dims)
	l := kernels.Layout{Dims: []int{dims[batch], dims[channel]}, Strides: []int{st[batch], st[channel]}}
	for _, a := range spatial {
		l.Dims = append(l.Dims, dims[a])
		l.Strides = append(l.Strides, st[a])
	}
	return l
}

// weightMap places the dense [G, O/G, I/G, k...] weights of kernels inside
// a tensor: each packed axis is a strided walk through the tensor, the
// spatial ones backwards when the weights are reversed. Packing and
// unpacking are strided copies, split over the kernel threads.
type weightMap struct {
	dims, strides []int // packed axes and the tensor stride of each
	base          int   // tensor offset of packed element 0
	size          int
	// When the first packed axis is contiguous in the tensor: the tensor
	// offset of each position along the others, in packed order.
	rest []int
	// For unpacking (groups 1, not reversed): the tensor's dims and the
	// packed stride of each of its axes.
	tDims, tStrides []int
}

func newWeightMap(dims []int, oAxis, iAxis int, spatial []int, groups int, reversed bool) *weightMap {
	st := rowMajorStrides(dims)
	og := dims[oAxis] / groups
	w := &weightMap{dims: []int{groups, og, dims[iAxis]}, strides: []int{og * st[oAxis], st[oAxis], st[iAxis]}}
	for _, a := range spatial {
		w.dims = append(w.dims, dims[a])
		if reversed {
			w.base += (dims[a] - 1) * st[a]
			w.strides = append(w.strides, -st[a])
		} else {
			w.strides = append(w.strides, st[a])
		}
	}
	w.size = 1
	for _, d := range w.dims {
		w.size *= d
	}
	if groups == 1 && !reversed {
		packed := rowMajorStrides(w.dims)
		w.tDims, w.tStrides = dims, make([]int, len(dims))
		w.tStrides[oAxis], w.tStrides[iAxis] = packed[1], packed[2]
		for i, a := range spatial {
			w.tStrides[a] = packed[3+i]
		}
		w.tDims, w.tStrides = compactAxes(w.tDims, w.tStrides)
	}
	w.dims, w.strides = compactAxes(w.dims, w.strides)
	if len(w.dims) > 1 && w.strides[0] == 1 {
		// Output channels innermost in the tensor (HWIO): packing is a
		// transposition, done in blocks of channels.
		rest := 1
		for _, d := range w.dims[1:] {
			rest *= d
		}
		w.rest = make([]int, 0, rest)
		idx := make([]int, len(w.dims)-1)
		for range rest {
			off := 0
			for a, i := range idx {
				off += i * w.strides[1+a]
			}
			w.rest = append(w.rest, off)
			for a := len(idx) - 1; a >= 0; a-- {
				if idx[a]++; idx[a] < w.dims[1+a] {
					break
				}
				idx[a] = 0
			}
		}
	}
	return w
}

// compactAxes drops the unit axes of a strided walk and merges the axes
// that run on contiguously, so that the copy's inner loop is as long as it
// can be (a 1x1 kernel's packed rows would otherwise be one value each).
func compactAxes(dims, strides []int) ([]int, []int) {
	var d, st []int
	for i, n := range dims {
		switch {
		case n == 1:
		case len(d) > 0 && st[len(st)-1] == strides[i]*n:
			d[len(d)-1] *= n
			st[len(st)-1] = strides[i]
		default:
			d, st = append(d, n), append(st, strides[i])
		}
	}
	if len(d) == 0 {
		return []int{1}, []int{1}
	}
	return d, st
}

// pack gathers the tensor t into dense kernels weights, in a slice from
// scratchFloats.
func (w *weightMap) pack(t []float32) []float32 {
	out := scratchFloats.get(w.size)
	if w.rest == nil {
		copyStridedFrom(out, t, w.base, w.dims, w.strides)
		return out
	}
	// Each block of channels reads whole cache lines of t and writes a
	// stretch of out that stays in cache.
	const block = 16
	n, r := w.dims[0], len(w.rest)
	blocks := (n + block - 1) / block
	run := parallel
	if w.size < eltMinParallel {
		// Small weights: a goroutine each would cost more than it saves.
		run = func(n int, f func(lo, hi int)) { f(0, n) }
	}
	run(blocks, func(lo, hi int) {
		for o0 := lo * block; o0 < min(n, hi*block); o0 += block {
			o1 := min(n, o0+block)
			for j, off := range w.rest {
				src := t[w.base+off+o0 : w.base+off+o1]
				for k, v := range src {
					out[(o0+k)*r+j] = v
				}
			}
		}
	})
	return out
}

// unpack scatters dense kernels weights into the tensor t, which they
// fill: it is the tensor's row-major walk that reads the packed weights.
func (w *weightMap) unpack(packed, t []float32) {
	copyStrided(t, packed, w.tDims, w.tStrides)
}

// convShapes is a convolution with its operand and output shapes.
type convShapes struct {
	*convCall
	in, kernel, out shapes.Shape
	groups          int // the call's feature groups, at least 1
}

type convOp struct {
	kind           kernels.ConvKind
	spec           kernels.ConvSpec
	srcOff, dstOff int // where the trimmed activations start
	weights        *weightMap
	clearOut       bool // the pass writes only part of the output
	// A forward pass may add a bias, its third input, then scale each
	// output channel and shift it by its next two inputs, and apply a
	// ReLU (see foldEpilogues).
	bias, scale, relu bool
	cache             *weightCache // nil unless enableWeightCaches gave one
}

// trimLow drops the leading positions of a spatial axis that negative low
// padding excludes, so padding stays non-negative as kernels require.
func trimLow(l *kernels.Layout, axis, n int) int {
	l.Dims[2+axis] -= n
	return n * l.Strides[2+axis]
}

// plan maps the convolution, whose output shape is out, onto a kernels
// pass, or returns nil.
func (c *convCall) plan(out shapes.Shape) *convOp {
	f32 := dtypes.Float32
	p := &convShapes{convCall: c, in: c.input.shape, kernel: c.kernel.shape, out: out, groups: max(c.groups, 1)}
	if p.in.DType != f32 || p.kernel.DType != f32 || out.DType != f32 || max(c.batchGroups, 1) != 1 || out.Size() == 0 {
		return nil
	}
	sp := len(p.axes.InputSpatial)
	if sp < 1 || sp > kernels.MaxSpatial {
		return nil
	}
	strides, inDil, kDil := orOnes(p.strides, sp), orOnes(p.inDil, sp), orOnes(p.kDil, sp)
	pads := make([][2]int, sp)
	copy(pads, p.paddings)
	a := p.axes
	kernelVol, outVol := 1, 1
	for i := range sp {
		kernelVol *= p.kernel.Dimensions[a.KernelSpatial[i]]
		outVol *= p.out.Dimensions[a.OutputSpatial[i]]
	}
	var op *convOp
	switch {
	case slices.ContainsFunc(inDil, func(d int) bool { return d > 1 }):
		if p.groups != 1 || slices.ContainsFunc(strides, func(s int) bool { return s > 1 }) {
			return nil
		}
		op = p.backwardData(inDil, kDil, pads)
	case kernelVol > outVol && p.groups == 1:
		op = p.backwardWeights(strides, kDil, pads)
	default:
		op = p.forward(strides, kDil, pads)
	}
	if op.spec.Validate() != nil {
		return nil
	}
	return op
}

func (p *convShapes) forward(strides, kDil []int, pads [][2]int) *convOp {
	a := p.axes
	op := &convOp{kind: kernels.KindForward}
	s := &op.spec
	s.Src = layout(p.in.Dimensions, a.InputBatch, a.InputChannels, a.InputSpatial)
	s.Dst = layout(p.out.Dimensions, a.OutputBatch, a.OutputChannels, a.OutputSpatial)
	s.Groups, s.Strides, s.Dilations = p.groups, strides, kDil
	for i, pad := range pads {
		s.Kernel = append(s.Kernel, p.kernel.Dimensions[a.KernelSpatial[i]])
		lo, hi := pad[0], pad[1]
		if lo < 0 {
			op.srcOff += trimLow(&s.Src, i, -lo)
			lo = 0
		}
		if hi < 0 {
			s.Src.Dims[2+i] += hi
			hi = 0
		}
		s.PadLo, s.PadHi = append(s.PadLo, lo), append(s.PadHi, hi)
	}
	op.weights = newWeightMap(p.kernel.Dimensions, a.KernelOutputChannels, a.KernelInputChannels, a.KernelSpatial,
		p.groups, false)
	return op
}

// backwardWeights reads the convolution as the weights gradient of a
// forward convolution whose source is the input (batch and channel axes
// swapped), whose output gradient is the kernel operand, and whose weights
// gradient is the output: the window strides become the forward dilation
// and the kernel dilation the forward stride.
func (p *convShapes) backwardWeights(strides, kDil []int, pads [][2]int) *convOp {
	a := p.axes
	op := &convOp{kind: kernels.KindBackwardWeights}
	s := &op.spec
	s.Src = layout(p.in.Dimensions, a.InputChannels, a.InputBatch, a.InputSpatial)
	s.Dst = layout(p.kernel.Dimensions, a.KernelInputChannels, a.KernelOutputChannels, a.KernelSpatial)
	s.Groups, s.Strides, s.Dilations = 1, kDil, strides
	for i, pad := range pads {
		q := p.out.Dimensions[a.OutputSpatial[i]]
		s.Kernel = append(s.Kernel, q)
		lo := pad[0]
		if lo < 0 {
			op.srcOff += trimLow(&s.Src, i, -lo)
			lo = 0
		}
		// The padding that makes the forward output exactly as long as the
		// gradient; positions past it are never read.
		hi := (s.Dst.Dims[2+i]-1)*kDil[i] + (q-1)*strides[i] + 1 - s.Src.Dims[2+i] - lo
		if hi < 0 {
			s.Src.Dims[2+i] += hi
			hi = 0
		}
		s.PadLo, s.PadHi = append(s.PadLo, lo), append(s.PadHi, hi)
	}
	op.weights = newWeightMap(p.out.Dimensions, a.OutputChannels, a.OutputBatch, a.OutputSpatial, 1, false)
	return op
}

// backwardData reads the convolution as the source gradient of a forward
// convolution with stride inDil, whose output gradient is the input and
// whose weights are the kernel reversed, with its channel axes swapped.
func (p *convShapes) backwardData(inDil, kDil []int, pads [][2]int) *convOp {
	a := p.axes
	op := &convOp{kind: kernels.KindBackwardData}
	s := &op.spec
	s.Dst = layout(p.in.Dimensions, a.InputBatch, a.InputChannels, a.InputSpatial)
	s.Src = layout(p.out.Dimensions, a.OutputBatch, a.OutputChannels, a.OutputSpatial)
	s.Groups, s.Strides, s.Dilations = 1, inDil, kDil
	for i, pad := range pads {
		k := p.kernel.Dimensions[a.KernelSpatial[i]]
		s.Kernel = append(s.Kernel, k)
		eff := (k-1)*kDil[i] + 1
		lo := eff - 1 - pad[0]
		if lo < 0 {
			// Output positions before the first window get nothing.
			op.dstOff += trimLow(&s.Src, i, -lo)
			op.clearOut = true
			lo = 0
		}
		hi := (s.Dst.Dims[2+i]-1)*inDil[i] + eff - s.Src.Dims[2+i] - lo
		if hi < 0 {
			s.Src.Dims[2+i] += hi
			op.clearOut = true
			hi = 0
		}
		s.PadLo, s.PadHi = append(s.PadLo, lo), append(s.PadHi, hi)
	}
	op.weights = newWeightMap(p.kernel.Dimensions, a.KernelInputChannels, a.KernelOutputChannels, a.KernelSpatial,
		1, true)
	return op
}

func (c *convOp) run(ins, outs []any) error {
	x, k, out := ins[0].([]float32), ins[1].([]float32), outs[0].([]float32)
	switch c.kind {
	case kernels.KindForward:
		if c.cache != nil {
			p, err := c.prepared(ins[1:])
			if err != nil {
				return err
			}
			return kernels.ConvForwardThen(&p.spec, x[c.srcOff:], p.wei, kernels.Epilogue{Bias: p.bias, ReLU: c.relu}, out)
		}
		w, bias := c.foldedWeights(ins[1:])
		defer scratchFloats.put(w)
		return kernels.ConvForwardThen(&c.spec, x[c.srcOff:], w, kernels.Epilogue{Bias: bias, ReLU: c.relu}, out)
	case kernels.KindBackwardData:
		if c.clearOut {
			clear(out)
		}
		w := c.weights.pack(k)
		defer scratchFloats.put(w)
		return kernels.ConvBackwardData(&c.spec, x, w, out[c.dstOff:])
	default:
		packed := scratchFloats.get(c.weights.size)
		defer scratchFloats.put(packed)
		if err := kernels.ConvBackwardWeights(&c.spec, x[c.srcOff:], k, packed); err != nil {
			return err
		}
		c.weights.unpack(packed, out)
		return nil
	}
}

// foldedWeights packs a forward pass's kernel, the first of its weight
// operands (kernel, then bias, scale and shift as the op has them), into a
// slice from scratchFloats and returns it with the bias to add: the bias
// operand, if any, and with a folded batch norm both scaled and the shift
// added.
func (c *convOp) foldedWeights(operands []any) (w, bias []float32) {
	w = c.weights.pack(operands[0].([]float32))
	if c.bias {
		bias = operands[1].([]float32)
	}
	if c.scale {
		n := len(operands)
		bias = scaleWeights(w, bias, operands[n-2].([]float32), operands[n-1].([]float32))
	}
	return w, bias
}

// scaleWeights multiplies each output channel's packed weights w, dense
// [O, ...], by scale, and returns the bias that then gives the same output
// as scaling and shifting the convolution's own: bias·scale + shift.
func scaleWeights(w, bias, scale, shift []float32) []float32 {
	per := len(w) / len(scale)
	out := make([]float32, len(scale))
	for o, s := range scale {
		ws := w[o*per : (o+1)*per]
		for i := range ws {
			ws[i] *= s
		}
		out[o] = shift[o]
		if bias != nil {
			out[o] += bias[o] * s
		}
	}
	return out
}

func (c *convOp) String() string {
	kind := [...]string{"forward", "backward-data", "backward-weights"}[c.kind]
	if c.bias {
		kind += "+bias"
	}
	if c.scale {
		kind += "+affine"
	}
	if c.relu {
		kind += "+relu"
	}
	switch {
	case c.spec.SrcBlocked && c.spec.DstBlocked:
		kind += " blocked"
	case c.spec.SrcBlocked:
		kind += " from blocked"
	case c.spec.DstBlocked:
		kind += " to blocked"
	}
	return fmt.Sprintf("ConvGeneral %s src %v dst %v kernel %v on %s", kind, c.spec.Src.Dims, c.spec.Dst.Dims,
		c.spec.Kernel, kernels.PlanImpl(c.kind, &c.spec))
}
