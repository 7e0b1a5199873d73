package cpu

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// Compile implements backends.Builder. It lays the recorded ops out as a
// sequence of steps: each native op is one step, and the delegated ops
// between them are grouped into as few adapter executables ("segments") as
// the dependencies allow. Values that cross steps get a slot; the rest stay
// inside their segment.
func (b *Builder) Compile(outputs []backends.Op, shardings []*backends.ShardingSpec) (backends.Executable, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	if len(shardings) != 0 {
		return nil, fmt.Errorf("cpu builder %q: sharding is not supported", b.name)
	}
	outs, err := b.values(outputs)
	if err != nil {
		return nil, err
	}
	b.done = true
	c := &compiler{b: b, stepOf: make(map[*node]int), slots: make(map[*value]int), writes: make(map[*value]*value),
		folded: make(map[*node]*node), deferred: make(map[*node]bool)}
	c.markLive(outs)
	readers := c.readers(outs)
	c.foldEpilogues(readers)
	c.foldReshapes(readers)
	c.schedule()
	c.fuseSums()
	outs = c.blockLayouts(outs)
	e := &Executable{backend: b.backend, name: b.name}
	for _, p := range b.params {
		v := p.outs[0]
		e.paramNames = append(e.paramNames, p.params.(string))
		e.paramShapes = append(e.paramShapes, v.shape)
		e.paramSlots = append(e.paramSlots, c.slot(v))
	}
	for _, v := range outs {
		s := c.slot(v)
		if v.node.op == backends.OpTypeConstant {
			if s, err = c.constantBuffer(e, v); err != nil {
				e.Finalize()
				return nil, err
			}
		}
		e.outputs = append(e.outputs, s)
		e.outShapes = append(e.outShapes, v.shape)
	}
	if err := c.build(e); err != nil {
		e.Finalize()
		return nil, err
	}
	enableWeightCaches(e.steps)
	e.slotShapes = c.slotShapes
	e.classifySlots()
	e.uses = make([]int, len(c.slotShapes))
	for _, st := range e.steps {
		for _, s := range st.inputs {
			e.uses[s]++
		}
	}
	for _, s := range e.outputs {
		e.uses[s]++
	}
	return e, nil
}

type compiler struct {
	b          *Builder
	live       []bool
	stepOf     map[*node]int // step index of each scheduled node
	steps      []*plannedStep
	slots      map[*value]int
	slotShapes []shapes.Shape
	// writes maps the output of a native op to the value its step writes
	// instead (see foldReshapes and foldEpilogues).
	writes map[*value]*value
	// folded holds the nodes a fold removed, each with the node whose step
	// computes its value, or nil when nothing reads the value any more.
	folded map[*node]*node
	// deferred holds nodes to compute just before their first reader,
	// rather than where they were recorded (see foldReLU).
	deferred map[*node]bool
}

// readers counts the live nodes that read each value, plus one for each
// appearance among the outputs.
func (c *compiler) readers(outs []*value) map[*value]int {
	readers := make(map[*value]int)
	for _, n := range c.b.nodes {
		if c.live[n.id] {
			for _, in := range n.inputs {
				readers[in]++
			}
		}
	}
	for _, v := range outs {
		readers[v]++
	}
	return readers
}

// stepOfNode is the step computing n's outputs, looking through folds.
func (c *compiler) stepOfNode(n *node) (int, bool) {
	if p, ok := c.folded[n]; ok && p != nil {
		n = p
	}
	s, ok := c.stepOf[n]
	return s, ok
}

// plannedStep is a step before it is built.
type plannedStep struct {
	kind  stepKind
	nodes []*node // one for a native step
	sums  []*node // a fused step's ReduceSums (see fuseSums)
}

type stepKind int

const (
	delegated stepKind = iota
	nativeKind
	fusedKind
)

func kindOf(n *node) stepKind {
	switch {
	case n.native != nil:
		return nativeKind
	case n.elt != nil:
		return fusedKind
	}
	return delegated
}

func (c *compiler) markLive(outs []*value) {
	c.live = make([]bool, len(c.b.nodes))
	stack := make([]*node, 0, len(outs))
	for _, v := range outs {
		stack = append(stack, v.node)
	}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if c.live[n.id] {
			continue
		}
		c.live[n.id] = true
		for _, in := range n.inputs {
			stack = append(stack, in.node)
		}
	}
}

// foldReshapes removes the reshapes whose operand is the output of a
// native op that nothing else reads: the op writes the reshaped value
// directly, as a reshape leaves the flat data as it is. Otherwise the
// reshape is a copy of its own (nearest up-sampling, for one, broadcasts
// into a rank-6 tensor and reshapes it back to rank 4).
func (c *compiler) foldReshapes(readers map[*value]int) {
	for _, n := range c.b.nodes {
		if !c.live[n.id] || n.op != backends.OpTypeReshape {
			continue
		}
		in := n.inputs[0]
		if in.node.native == nil || len(in.node.outs) != 1 || readers[in] != 1 || c.writes[in] != nil {
			continue
		}
		c.writes[in] = n.outs[0]
		c.folded[n] = in.node
	}
}

// schedule places live nodes in recording order (a topological order). A
// delegated node joins the last segment, and a fusible one the last fused
// program of its element count (even with programs of other counts
// after it: a batch norm's per-channel vectors), when all its inputs are
// ready by then: ops that do not depend on the steps in between share a
// step across them. A deferred node is placed just before its first
// reader instead.
func (c *compiler) schedule() {
	lastSegment := -1
	lastFused := make(map[int]int) // by element count
	place := func(n *node) {
		kind := kindOf(n)
		if kind == nativeKind {
			c.stepOf[n] = len(c.steps)
			c.steps = append(c.steps, &plannedStep{kind: kind, nodes: []*node{n}})
			return
		}
		at, size := lastSegment, n.outs[0].shape.Size()
		if kind == fusedKind {
			var ok bool
			if at, ok = lastFused[size]; !ok {
				at = -1
			}
		}
		join := at >= 0
		for _, in := range n.inputs {
			if s, ok := c.stepOfNode(in.node); ok && s > at {
				join = false
			}
		}
		if !join {
			at = len(c.steps)
			if kind == fusedKind {
				lastFused[size] = at
			} else {
				lastSegment = at
			}
			c.steps = append(c.steps, &plannedStep{kind: kind})
		}
		c.stepOf[n] = at
		c.steps[at].nodes = append(c.steps[at].nodes, n)
	}
	var placeAfterDeferred func(n *node)
	placeAfterDeferred = func(n *node) {
		for _, in := range n.inputs {
			if _, placed := c.stepOf[in.node]; c.deferred[in.node] && !placed {
				placeAfterDeferred(in.node)
			}
		}
		place(n)
	}
	for _, n := range c.b.nodes {
		if !c.live[n.id] || n.op == backends.OpTypeParameter || n.op == backends.OpTypeConstant || c.deferred[n] {
			continue
		}
		if _, ok := c.folded[n]; ok {
			continue
		}
		placeAfterDeferred(n)
	}
}

func (c *compiler) slot(v *value) int {
	if s, ok := c.slots[v]; ok {
		return s
	}
	s := len(c.slotShapes)
	c.slots[v] = s
	c.slotShapes = append(c.slotShapes, v.shape)
	return s
}

// build turns each planned step into an executable step.
func (c *compiler) build(e *Executable) error {
	// A value needs a slot when a step other than its producer reads it or
	// it is an output; outputs already have theirs.
	for i, ps := range c.steps {
		for _, n := range ps.nodes {
			for _, in := range n.inputs {
				if s, ok := c.stepOfNode(in.node); (!ok || s != i) && (ps.kind != delegated || in.node.op != backends.OpTypeConstant) {
					c.slot(in)
				}
			}
		}
	}
	for _, ps := range c.steps {
		var st *step
		var err error
		switch ps.kind {
		case nativeKind:
			st, err = c.nativeStep(e, ps.nodes[0])
		case fusedKind:
			st, err = c.fusedStep(e, ps)
		default:
			st, err = c.segment(ps.nodes)
		}
		if err != nil {
			return err
		}
		e.steps = append(e.steps, st)
	}
	return nil
}

// constantBuffer materializes a constant for native consumers; it lives as
// long as the executable.
func (c *compiler) constantBuffer(e *Executable, v *value) (int, error) {
	s := c.slot(v)
	for _, k := range e.consts {
		if k.slot == s {
			return s, nil
		}
	}
	buf, err := c.b.backend.BufferFromFlatData(0, v.node.constant, v.shape)
	if err != nil {
		return 0, err
	}
	e.consts = append(e.consts, constSlot{slot: s, buf: buf})
	return s, nil
}

// written is the value a native step's node writes.
func (c *compiler) written(n *node) *value {
	if w, ok := c.writes[n.outs[0]]; ok {
		return w
	}
	return n.outs[0]
}

func (c *compiler) nativeStep(e *Executable, n *node) (*step, error) {
	st := &step{native: n.native, name: n.native.String(), outputs: []int{c.slot(c.written(n))}}
	return st, c.nativeInputs(e, st, n.inputs)
}

// nativeInputs sets the input slots of a native or fused step.
func (c *compiler) nativeInputs(e *Executable, st *step, inputs []*value) error {
	for _, in := range inputs {
		s := c.slot(in)
		if in.node.op == backends.OpTypeConstant {
			var err error
			if s, err = c.constantBuffer(e, in); err != nil {
				return err
			}
		}
		st.inputs = append(st.inputs, s)
	}
	return nil
}

// fusedStep compiles an elementwise program writing the values of nodes
// that have slots, then its sums.
func (c *compiler) fusedStep(e *Executable, ps *plannedStep) (*step, error) {
	var outs []*value
	st := &step{}
	for _, n := range ps.nodes {
		if s, ok := c.slots[n.outs[0]]; ok {
			outs = append(outs, n.outs[0])
			st.outputs = append(st.outputs, s)
		}
	}
	for _, n := range ps.sums {
		st.outputs = append(st.outputs, c.slot(c.written(n)))
	}
	prog, leaves := newEltProgram(ps.nodes, outs, ps.sums)
	st.native, st.name = prog, prog.String()
	return st, c.nativeInputs(e, st, leaves)
}

// segment builds one adapter executable for nodes. Its parameters are the
// slotted values it reads, its outputs the slotted values it produces;
// constants it reads are rebuilt inside it.
func (c *compiler) segment(nodes []*node) (*step, error) {
	sb := c.b.backend.adapter.Builder(c.b.name)
	st := &step{name: segmentName(nodes)}
	mapped := make(map[*value]backends.Op)
	inSeg := make(map[*node]bool, len(nodes))
	for _, n := range nodes {
		inSeg[n] = true
	}
	opOf := func(v *value) (backends.Op, error) {
		if op, ok := mapped[v]; ok {
			return op, nil
		}
		var op backends.Op
		var err error
		switch {
		case v.node.op == backends.OpTypeConstant:
			var outs []backends.Op
			if outs, err = v.node.replay(sb, nil); err == nil {
				op = outs[0]
			}
		case inSeg[v.node]:
			return nil, fmt.Errorf("cpu: internal error: %s used before it is built", v.node.op)
		default:
			s := c.slots[v]
			st.inputs = append(st.inputs, s)
			op, err = sb.Parameter(fmt.Sprint(len(st.inputs)-1), v.shape, nil)
		}
		if err != nil {
			return nil, err
		}
		mapped[v] = op
		return op, nil
	}
	for _, n := range nodes {
		in := make([]backends.Op, len(n.inputs))
		for i, v := range n.inputs {
			op, err := opOf(v)
			if err != nil {
				return nil, err
			}
			in[i] = op
		}
		outs, err := n.replay(sb, in)
		if err != nil {
			return nil, err
		}
		for i, o := range outs {
			mapped[n.outs[i]] = o
		}
	}
	var outOps []backends.Op
	seen := make(map[backends.Op]bool)
	for _, n := range nodes {
		for _, v := range n.outs {
			s, ok := c.slots[v]
			if !ok {
				continue
			}
			op := mapped[v]
			if seen[op] {
				// The adapter may hand back an operand for a no-op; an
				// executable cannot return one op twice.
				var err error
				if op, err = sb.Identity(op); err != nil {
					return nil, err
				}
			}
			seen[op] = true
			outOps = append(outOps, op)
			st.outputs = append(st.outputs, s)
		}
	}
	exec, err := sb.Compile(outOps, nil)
	if err != nil {
		return nil, err
	}
	st.exec = exec
	return st, nil
}

// segmentName lists the distinct op types of a segment, for profiles.
func segmentName(nodes []*node) string {
	var names []string
	for _, n := range nodes {
		if name := n.op.String(); !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	const shown = 6
	if len(names) > shown {
		names = append(names[:shown], fmt.Sprintf("+%d", len(names)-shown))
	}
	return fmt.Sprintf("adapter %d ops: %s", len(nodes), strings.Join(names, " "))
}

// fuseSums moves each float32 ReduceSum over leading axes of a value that a
// fused step computes into that step, which then sums the value as it
// computes it: the value is not written out and read back for the sum, and
// is not written at all when nothing else reads it.
func (c *compiler) fuseSums() {
	moved := false
	for i, ps := range c.steps {
		if ps.kind != nativeKind {
			continue
		}
		n := ps.nodes[0]
		r, ok := n.native.(*reduceOp)
		if !ok || r.mode != reduceLeading || r.typ != backends.ReduceOpSum {
			continue
		}
		s, ok := c.stepOfNode(n.inputs[0].node)
		if !ok || s >= i || c.steps[s].kind != fusedKind || !slices.Contains(c.steps[s].nodes, n.inputs[0].node) {
			continue
		}
		c.steps[s].sums = append(c.steps[s].sums, n)
		c.steps[i] = nil
		moved = true
	}
	if !moved {
		return
	}
	c.steps = slices.DeleteFunc(c.steps, func(ps *plannedStep) bool { return ps == nil })
	c.indexSteps()
}

// indexSteps records the step of every node after steps have moved.
func (c *compiler) indexSteps() {
	for i, ps := range c.steps {
		for _, n := range append(ps.nodes, ps.sums...) {
			c.stepOf[n] = i
		}
	}
}
