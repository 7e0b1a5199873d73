package cpu

import (
	"github.com/gomlx/gomlx/backends"
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
	if conv != nil {
		removed = append(removed, x.node)
	} else if conv = plainConv(x); conv == nil {
		return
	}
	y := where.outs[0]
	if readers[mask] == 1 {
		c.folded[gt] = nil
	} else {
		// Computed where the backward pass reads it, it joins that pass's
		// program rather than being a pass of its own, and no mask is kept
		// from the forward pass to the backward one.
		gt.inputs = []*value{y, gt.inputs[1]}
		c.deferred[gt] = true
		if z := gt.inputs[1].node; z.elt != nil {
			// The zeros it compares with come along, rather than being
			// written out in the forward pass and kept until then.
			c.deferred[z] = true
		}
	}
	c.fold(conv, bias, true, y, removed, readers)
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
