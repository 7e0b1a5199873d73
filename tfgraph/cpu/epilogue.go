package cpu

import (
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/tfrun/tfrun/tfgraph/cpu/kernels"
)

// A convolution layer records its bias and activation as ops of their own:
// Add(conv, BroadcastInDim(bias)), then ReLU as Where(x > 0, x, 0). Run as
// they are, they are one more pass over the activation after the
// convolution has written it; foldEpilogues hands them to the convolution
// instead, which applies them to each block of its output while it is
// still in cache.

// foldEpilogues makes forward convolutions that only a bias add and/or a
// ReLU read compute them, and write the ReLU's (or the add's) value. The
// comparison x > 0 of a ReLU that the backward pass also reads stays, made
// to read the ReLU's output instead (the same for every x but NaN), so that
// x itself need not be kept, and moves to the backward pass.
func (c *compiler) foldEpilogues(readers map[*value]int) {
	// ReLUs first: a bias add folded alone would hide the ReLU after it.
	for _, n := range c.b.nodes {
		if c.live[n.id] && n.op == backends.OpTypeWhere {
			c.foldReLU(n, readers)
		}
	}
	for _, n := range c.b.nodes {
		if _, done := c.folded[n]; c.live[n.id] && n.op == backends.OpTypeAdd && !done {
			if conv, bias := c.convPlusBias(n.outs[0], readers); conv != nil {
				c.fold(conv, bias, false, n.outs[0], []*node{n}, readers)
			}
		}
	}
	// Then inference batch norms, and the ReLUs that now follow a
	// convolution.
	for _, n := range c.b.nodes {
		if _, done := c.folded[n]; c.live[n.id] && n.op == backends.OpTypeAdd && !done {
			c.foldAffine(n, readers)
		}
	}
	for _, n := range c.b.nodes {
		if _, done := c.folded[n]; c.live[n.id] && n.op == backends.OpTypeWhere && !done {
			c.foldReLU(n, readers)
		}
	}
}

// foldAffine folds sum = Add(Mul(y, scale), shift), y being what a forward
// convolution without a ReLU writes (with its bias, if any) and scale and
// shift vectors along its output channels, into the convolution: that is
// how a batch norm in inference applies its moving statistics. The
// convolution then scales its weights and bias by scale and adds shift to
// the bias, and sum costs no pass of its own. In training the statistics
// are the batch's own, computed from y, so nothing folds.
func (c *compiler) foldAffine(sum *node, readers map[*value]int) {
	for i, mv := range sum.inputs {
		shiftOp, mul := sum.inputs[1-i], mv.node
		if _, done := c.folded[mul]; done || mul.op != backends.OpTypeMul || readers[mv] != 1 {
			continue
		}
		for j, y := range mul.inputs {
			scaleOp := mul.inputs[1-j]
			conv := c.writer(y)
			if conv == nil || readers[y] != 1 {
				continue
			}
			op := conv.native.(*convOp)
			if op.relu || op.scale {
				continue
			}
			channels := conv.params.(*convCall).axes.OutputChannels
			dims := sum.outs[0].shape.Dimensions
			scale, shift := c.channelVector(scaleOp, channels, dims), c.channelVector(shiftOp, channels, dims)
			if scale == nil || shift == nil || !c.hoist(scale.node, conv) || !c.hoist(shift.node, conv) {
				continue
			}
			folded := *op
			folded.scale = true
			conv.native = &folded
			conv.inputs = append(conv.inputs, scale, shift)
			for _, b := range []*value{scaleOp, shiftOp} {
				if b.node.op == backends.OpTypeBroadcastInDim && readers[b] == 1 {
					c.folded[b.node] = nil
				}
			}
			c.writes[conv.outs[0]] = sum.outs[0]
			c.folded[mul], c.folded[sum] = conv, conv
			if y.node != conv {
				// The bias add folded before.
				c.folded[y.node] = conv
			}
			return
		}
	}
}

// writer returns the forward convolution whose step writes v, or nil.
func (c *compiler) writer(v *value) *node {
	conv := v.node
	if p, ok := c.folded[conv]; ok {
		conv = p
	}
	if conv == nil {
		return nil
	}
	if op, ok := conv.native.(*convOp); !ok || op.kind != kernels.KindForward {
		return nil
	}
	if w, ok := c.writes[conv.outs[0]]; ok && w != v || !ok && conv.outs[0] != v {
		return nil
	}
	return conv
}

// channelVector returns the vector of values the operand b of an
// elementwise op with output dims holds along axis channels, or nil when
// b varies along other axes too.
func (c *compiler) channelVector(b *value, channels int, dims []int) *value {
	vec, axes := b, identityAxes(b.shape.Rank())
	if b.node.op == backends.OpTypeBroadcastInDim {
		vec, axes = b.node.inputs[0], b.node.params.([]int)
	}
	if vec.shape.DType != dtypes.Float32 || !alongAxis(vec.shape.Dimensions, axes, channels, dims) {
		return nil
	}
	return vec
}

// hoist reports whether n can be computed before the step of conv, and if
// it can only by moving it, marks it to be computed just before its first
// reader: n must depend on parameters, constants and nodes recorded
// before conv only, through ops on vectors no longer than conv's output
// channels (a batch norm's scale and shift, from its variables).
func (c *compiler) hoist(n, conv *node) bool {
	if n.op == backends.OpTypeParameter || n.op == backends.OpTypeConstant || n.id < conv.id || c.deferred[n] {
		return true
	}
	channels := conv.outs[0].shape.Dimensions[conv.params.(*convCall).axes.OutputChannels]
	if _, done := c.folded[n]; done || n.native != nil || len(n.outs) != 1 || n.outs[0].shape.Size() > channels {
		return false
	}
	for _, in := range n.inputs {
		if !c.hoist(in.node, conv) {
			return false
		}
	}
	c.deferred[n] = true
	return true
}

// foldReLU folds where = Where(x > 0, x, 0) into the convolution computing
// x, with the bias added to it if any.
func (c *compiler) foldReLU(where *node, readers map[*value]int) {
	mask, x, zero := where.inputs[0], where.inputs[1], where.inputs[2]
	gt := mask.node
	if gt.op != backends.OpTypeGreaterThan || gt.inputs[0] != x || !isZero(gt.inputs[1]) || !isZero(zero) ||
		readers[x] != 2 {
		return
	}
	removed := []*node{where}
	conv, bias := c.convPlusBias(x, readers)
	switch {
	case conv != nil:
		removed = append(removed, x.node)
	case plainConv(x) != nil:
		conv = x.node
	default:
		// A convolution whose folded epilogue writes x.
		if conv = c.writer(x); conv == nil || x.node == conv || conv.native.(*convOp).relu {
			return
		}
		op := *conv.native.(*convOp)
		op.relu = true
		c.retire(gt, where, readers)
		conv.native = &op
		c.writes[conv.outs[0]] = where.outs[0]
		c.folded[where] = conv
		return
	}
	c.retire(gt, where, readers)
	c.fold(conv, bias, true, where.outs[0], removed, readers)
}

// retire drops the comparison gt of a ReLU folded into a convolution, or
// when the backward pass reads it too, makes it compare where's output.
func (c *compiler) retire(gt, where *node, readers map[*value]int) {
	if readers[gt.outs[0]] == 1 {
		c.folded[gt] = nil
		return
	}
	// Computed where the backward pass reads it, it joins that pass's
	// program rather than being a pass of its own, and no mask is kept
	// from the forward pass to the backward one.
	gt.inputs = []*value{where.outs[0], gt.inputs[1]}
	c.deferred[gt] = true
	if z := gt.inputs[1].node; z.elt != nil {
		// The zeros it compares with come along, rather than being
		// written out in the forward pass and kept until then.
		c.deferred[z] = true
	}
}

// plainConv returns the node of v when it is a forward convolution without
// an epilogue.
func plainConv(v *value) *node {
	if op, ok := v.node.native.(*convOp); !ok || op.kind != kernels.KindForward || op.bias || op.relu {
		return nil
	}
	return v.node
}

// convPlusBias matches sum = Add(conv, bias) (either order), bias being
// a vector along the output channels of a forward convolution that only
// the add reads, as a tensor of the same rank with unit axes ([1, 1, 1, C],
// the add broadcasting it) or broadcast explicitly; it returns the
// convolution and the bias operand of the add.
func (c *compiler) convPlusBias(sum *value, readers map[*value]int) (*node, *value) {
	add := sum.node
	if add.op != backends.OpTypeAdd {
		return nil, nil
	}
	for i, v := range add.inputs {
		b := add.inputs[1-i]
		if plainConv(v) == nil || readers[v] != 1 || b.shape.DType != sum.shape.DType {
			continue
		}
		channels := v.node.params.(*convCall).axes.OutputChannels
		bias, axes := b, identityAxes(b.shape.Rank())
		if b.node.op == backends.OpTypeBroadcastInDim {
			bias, axes = b.node.inputs[0], b.node.params.([]int)
		}
		if !alongAxis(bias.shape.Dimensions, axes, channels, sum.shape.Dimensions) {
			continue
		}
		// The convolution reads the bias, so it must be ready by then: a
		// layer reshapes its bias variable after the convolution.
		switch vec := biasOf(b).node; {
		case vec.op == backends.OpTypeParameter, vec.op == backends.OpTypeConstant, vec.id < v.node.id:
			return v.node, b
		}
	}
	return nil, nil
}

// biasOf is the vector a bias operand found by convPlusBias holds: the
// operand of its broadcast, through reshapes.
func biasOf(b *value) *value {
	if b.node.op == backends.OpTypeBroadcastInDim {
		b = b.node.inputs[0]
	}
	for b.node.op == backends.OpTypeReshape {
		b = b.node.inputs[0]
	}
	return b
}

func identityAxes(rank int) []int {
	axes := make([]int, rank)
	for i := range axes {
		axes[i] = i
	}
	return axes
}

// fold makes conv compute its bias (the operand b, or none) and ReLU,
// writing out; removed are the nodes whose work it takes over.
func (c *compiler) fold(conv *node, b *value, relu bool, out *value, removed []*node, readers map[*value]int) {
	op := *conv.native.(*convOp)
	op.relu, op.bias = relu, b != nil
	if b != nil {
		conv.inputs = append(conv.inputs, biasOf(b))
		if b.node.op == backends.OpTypeBroadcastInDim && readers[b] == 1 {
			c.folded[b.node] = nil
		}
	}
	conv.native = &op
	c.writes[conv.outs[0]] = out
	for _, n := range removed {
		c.folded[n] = conv
	}
}

// alongAxis reports whether broadcasting an operand of dims in along axes
// spreads it along axis of out only: its values are then a vector of
// out[axis] values.
func alongAxis(in, axes []int, axis int, out []int) bool {
	if len(axes) != len(in) {
		return false
	}
	for i, a := range axes {
		if d := in[i]; d != 1 && (a != axis || d != out[axis]) {
			return false
		}
	}
	size := 1
	for _, d := range in {
		size *= d
	}
	return size == out[axis]
}
