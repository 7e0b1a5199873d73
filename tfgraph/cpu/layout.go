package cpu

import (
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/tfrun/tfrun/tfgraph/cpu/kernels"
)

// oneDNN's direct convolution kernels on AVX2 work in a layout with 8
// channels blocked innermost, and each call would reorder its channels-last
// source into it and its destination back out: in a ResNet50 inference a
// sixth of the time. Between consecutive convolutions, and through the
// elementwise steps between them (a residual add and its ReLU), a value
// can stay blocked instead; blockLayouts decides which values do, and gives
// every other reader a channels-last copy made once, right after the
// value is computed (no more reorders than before, and usually far fewer).

// blockedValue is how a value in the blocked layout maps onto a
// convolution's activation axes.
type blockedValue struct {
	batch, channel int
	spatial        []int
}

func (a blockedValue) equal(b blockedValue) bool {
	return a.batch == b.batch && a.channel == b.channel && slices.Equal(a.spatial, b.spatial)
}

// unblockOp copies a blocked value into its channels-last tensor.
type unblockOp struct{ layout kernels.Layout }

func (u *unblockOp) run(ins, outs []any) error {
	return kernels.Unblock(u.layout.Dims, u.layout.Strides, ins[0], outs[0])
}

func (u *unblockOp) String() string { return fmt.Sprintf("Unblock %v", u.layout.Dims) }

// layoutPlan is blockLayouts' working state.
type layoutPlan struct {
	c       *compiler
	readers map[*value][]int // steps reading each value from outside
	isOut   map[*value]bool
	// For each forward convolution step: whether its primitive takes a
	// blocked source.
	srcOK map[int]bool
}

// convStep returns the forward convolution of native step i, or nil.
func (lp *layoutPlan) convStep(i int) (*node, *convOp) {
	ps := lp.c.steps[i]
	if ps.kind != nativeKind {
		return nil, nil
	}
	op, ok := ps.nodes[0].native.(*convOp)
	if !ok || op.kind != kernels.KindForward || op.srcOff != 0 {
		return nil, nil
	}
	return ps.nodes[0], op
}

// blockLayouts decides which values stay blocked and rewrites the steps to
// match; it returns outs, blocked ones replaced by their copies.
func (c *compiler) blockLayouts(outs []*value) []*value {
	lp := &layoutPlan{c: c, readers: make(map[*value][]int), isOut: make(map[*value]bool),
		srcOK: make(map[int]bool)}
	for i, ps := range c.steps {
		for _, n := range ps.nodes {
			for _, in := range n.inputs {
				if s, ok := c.stepOfNode(in.node); !ok || s != i {
					lp.readers[in] = append(lp.readers[in], i)
				}
			}
		}
	}
	for _, v := range outs {
		lp.isOut[v] = true
	}
	candidates := make(map[int]bool) // convolution steps writing blocked
	for i := range c.steps {
		n, op := lp.convStep(i)
		if n == nil {
			continue
		}
		w := c.written(n)
		if !slices.Equal(w.shape.Dimensions, n.outs[0].shape.Dimensions) {
			continue // a folded reshape
		}
		var dstOK bool
		lp.srcOK[i], dstOK = kernels.BlockedLayouts(&op.spec, op.bias || op.scale, op.relu)
		if dstOK {
			candidates[i] = true
		}
	}
	if len(candidates) == 0 {
		return outs
	}
	// A convolution writes blocked only if some reader takes the value as
	// it is; dropping one may leave another without such a reader.
	var layouts map[*value]*blockedValue
	var direct map[int]bool
	for {
		layouts, direct = lp.propagate(candidates)
		dropped := false
		for i := range candidates {
			w := c.written(c.steps[i].nodes[0])
			if !slices.ContainsFunc(lp.readers[w], func(r int) bool { return lp.readsBlocked(r, w, direct) }) {
				delete(candidates, i)
				dropped = true
			}
		}
		if !dropped {
			break
		}
	}
	return lp.rewrite(candidates, layouts, direct, outs)
}

// readsBlocked reports whether step r reads v as it is, blocked.
func (lp *layoutPlan) readsBlocked(r int, v *value, direct map[int]bool) bool {
	if !direct[r] {
		return false
	}
	n, _ := lp.convStep(r)
	return n == nil || n.inputs[0] == v
}

// propagate gives the layouts that follow from the convolutions in
// candidates writing blocked: their values, and the outputs of fused
// steps whose every full-size leaf is blocked. direct holds the steps that
// read blocked values as they are.
func (lp *layoutPlan) propagate(candidates map[int]bool) (map[*value]*blockedValue, map[int]bool) {
	c := lp.c
	layouts := make(map[*value]*blockedValue)
	direct := make(map[int]bool)
	for i, ps := range c.steps {
		switch ps.kind {
		case nativeKind:
			n, _ := lp.convStep(i)
			if n == nil {
				continue
			}
			if b := layouts[n.inputs[0]]; b != nil && lp.srcOK[i] && b.equal(inputAxes(n)) {
				direct[i] = true
			}
			if candidates[i] {
				a := outputAxes(n)
				layouts[c.written(n)] = &a
			}
		case fusedKind:
			if b := lp.fusedLayout(i, layouts); b != nil {
				direct[i] = true
				for _, n := range ps.nodes {
					layouts[n.outs[0]] = b
				}
			}
		}
	}
	return layouts, direct
}

// fusedLayout returns the layout of fused step i's values when they can
// all be blocked: every node elementwise over equal dims (scalars aside),
// every full-size leaf blocked the same way, and at least one leaf.
func (lp *layoutPlan) fusedLayout(i int, layouts map[*value]*blockedValue) *blockedValue {
	c := lp.c
	if len(c.steps[i].sums) > 0 {
		// Sums over leading axes take channels innermost.
		return nil
	}
	var b *blockedValue
	var dims []int
	for _, n := range c.steps[i].nodes {
		out := n.outs[0]
		for _, in := range n.inputs {
			if in.shape.Size() == 1 {
				continue
			}
			if !slices.Equal(in.shape.Dimensions, out.shape.Dimensions) {
				return nil
			}
			if s, ok := c.stepOfNode(in.node); ok && s == i {
				continue
			}
			l := layouts[in]
			if l == nil || b != nil && !b.equal(*l) {
				return nil
			}
			b, dims = l, in.shape.Dimensions
		}
	}
	if b == nil {
		return nil
	}
	for _, n := range c.steps[i].nodes {
		out := n.outs[0]
		if (len(lp.readers[out]) > 0 || lp.isOut[out]) && !slices.Equal(out.shape.Dimensions, dims) {
			return nil
		}
	}
	return b
}

// inputAxes is how a forward convolution reads its source's axes.
func inputAxes(n *node) blockedValue {
	a := n.params.(*convCall).axes
	return blockedValue{batch: a.InputBatch, channel: a.InputChannels, spatial: a.InputSpatial}
}

// outputAxes is how a forward convolution writes its output's axes.
func outputAxes(n *node) blockedValue {
	a := n.params.(*convCall).axes
	return blockedValue{batch: a.OutputBatch, channel: a.OutputChannels, spatial: a.OutputSpatial}
}

// rewrite makes the chosen convolutions write, and the direct readers read,
// blocked values, and every other reader a channels-last copy.
func (lp *layoutPlan) rewrite(candidates map[int]bool, layouts map[*value]*blockedValue, direct map[int]bool,
	outs []*value) []*value {
	c := lp.c
	producer := make(map[*value]int)
	copies := make(map[*value]*value)
	after := make(map[int][]*node) // copy steps to insert after each step
	plain := func(v *value) *value {
		b := layouts[v]
		if b == nil {
			return v
		}
		if p := copies[v]; p != nil {
			return p
		}
		n := &node{id: -1, op: backends.OpTypeTranspose,
			native: &unblockOp{layout: layout(v.shape.Dimensions, b.batch, b.channel, b.spatial)}}
		n.inputs = []*value{v}
		p := &value{node: n, shape: v.shape}
		n.outs = []*value{p}
		copies[v] = p
		after[producer[v]] = append(after[producer[v]], n)
		return p
	}
	for i, ps := range c.steps {
		n, op := lp.convStep(i)
		switch {
		case n != nil && (candidates[i] || direct[i]):
			o := *op
			o.spec.SrcBlocked, o.spec.DstBlocked = direct[i], candidates[i]
			n.native = &o
			if candidates[i] {
				producer[c.written(n)] = i
			}
			for j := range n.inputs {
				if j > 0 || !direct[i] {
					n.inputs[j] = plain(n.inputs[j])
				}
			}
		case ps.kind == fusedKind && direct[i]:
			for _, n := range ps.nodes {
				producer[n.outs[0]] = i
			}
		default:
			for _, n := range ps.nodes {
				for j, in := range n.inputs {
					if s, ok := c.stepOfNode(in.node); !ok || s != i {
						n.inputs[j] = plain(in)
					}
				}
			}
		}
	}
	outs = slices.Clone(outs)
	for i, v := range outs {
		outs[i] = plain(v)
	}
	var steps []*plannedStep
	for i, ps := range c.steps {
		steps = append(steps, ps)
		for _, n := range after[i] {
			steps = append(steps, &plannedStep{kind: nativeKind, nodes: []*node{n}})
		}
	}
	c.steps = steps
	c.indexSteps()
	return outs
}
