package cpu

import (
	"errors"
	"fmt"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// nativeOp computes its outputs from its inputs, given as the flat slices
// of their buffers; it writes every element of every output.
type nativeOp interface {
	run(in, out []any) error
	String() string // for profiles
}

// step is either a native op or a segment of delegated ops compiled into
// one adapter executable.
type step struct {
	name    string
	inputs  []int // slots read
	outputs []int // slots written
	native  nativeOp
	exec    backends.Executable
}

type constSlot struct {
	slot int
	buf  backends.Buffer
}

// Executable runs the steps of a compiled computation in order, passing
// buffers between them by slot. Buffers are the adapter's, so a delegated
// step takes them without copying, and a native kernel reads and writes
// their storage directly.
type Executable struct {
	backend     *Backend
	name        string
	paramNames  []string
	paramShapes []shapes.Shape
	paramSlots  []int
	outputs     []int
	outShapes   []shapes.Shape
	steps       []*step
	consts      []constSlot
	slotShapes  []shapes.Shape
	// slotClass numbers each slot's shape among the executable's distinct
	// cacheable shapes (classes of them), -1 for the others.
	slotClass []int
	classes   int
	uses      []int // readers of each slot: steps, plus one per appearance among the outputs
	finalized bool
}

var _ backends.Executable = (*Executable)(nil)

// Finalize implements backends.Executable.
func (e *Executable) Finalize() {
	for _, st := range e.steps {
		if st.exec != nil {
			st.exec.Finalize()
		}
	}
	for _, k := range e.consts {
		_ = e.backend.BufferFinalize(k.buf)
	}
	e.steps, e.consts, e.finalized = nil, nil, true
}

// Inputs implements backends.Executable.
func (e *Executable) Inputs() ([]string, []shapes.Shape) { return e.paramNames, e.paramShapes }

// Outputs implements backends.Executable.
func (e *Executable) Outputs() []shapes.Shape { return e.outShapes }

// run is the state of one execution.
type run struct {
	e     *Executable
	bufs  []backends.Buffer
	owned []bool // whether this execution may free or donate the buffer
	left  []int  // readers still to come
	// held counts the bytes of the owned buffers, peak its maximum; heldBy
	// and peakBy the same for each shape class.
	held, peak     int64
	heldBy, peakBy []int64
}

// classifySlots sets slotClass and classes from slotShapes.
func (e *Executable) classifySlots() {
	class := make(map[shapeKey]int)
	e.slotClass = make([]int, len(e.slotShapes))
	for s, shape := range e.slotShapes {
		k, ok := keyOfShape(shape)
		if !ok {
			e.slotClass[s] = -1
			continue
		}
		if _, seen := class[k]; !seen {
			class[k] = len(class)
		}
		e.slotClass[s] = class[k]
	}
	e.classes = len(class)
}

// own makes buf, which this execution may free, slot s's buffer.
func (r *run) own(s int, buf backends.Buffer) {
	r.bufs[s], r.owned[s] = buf, true
	size := int64(r.e.slotShapes[s].Memory())
	r.held += size
	r.peak = max(r.peak, r.held)
	if k := r.e.slotClass[s]; k >= 0 {
		r.heldBy[k] += size
		r.peakBy[k] = max(r.peakBy[k], r.heldBy[k])
	}
}

// disown forgets slot s's buffer, which has been handed on.
func (r *run) disown(s int) {
	if r.owned[s] {
		size := int64(r.e.slotShapes[s].Memory())
		r.held -= size
		if k := r.e.slotClass[s]; k >= 0 {
			r.heldBy[k] -= size
		}
	}
	r.bufs[s], r.owned[s] = nil, false
}

// cacheNeed is what the buffer cache must hold for the next run like this
// one to find every buffer it needs: as many buffers of each shape as this
// one held at once, and room for its inputs, which callers finalize into
// the cache too. Buffers wait under their shape, so that is more than the
// peak when shapes come and go (an inference passes through each of its
// shapes in turn); twice the peak is kept as the floor.
func (r *run) cacheNeed() int64 {
	var need int64
	for _, b := range r.peakBy {
		need += b
	}
	for _, s := range r.e.paramShapes {
		need += int64(s.Memory())
	}
	return max(2*r.peak, need)
}

// release drops one reader of slot s; after the last, an owned buffer goes
// to the cache.
func (r *run) release(s int) {
	r.left[s]--
	if r.left[s] == 0 {
		if buf := r.bufs[s]; r.owned[s] && buf != nil && !r.e.backend.cache.put(buf, r.e.slotShapes[s]) {
			_ = r.e.backend.BufferFinalize(buf)
		}
		r.disown(s)
	}
}

// abort frees every buffer this execution owns.
func (r *run) abort() {
	for s, buf := range r.bufs {
		if buf != nil && r.owned[s] {
			_ = r.e.backend.BufferFinalize(buf)
		}
		r.bufs[s] = nil
	}
}

// Execute implements backends.Executable.
func (e *Executable) Execute(inputs []backends.Buffer, donate []bool, _ backends.DeviceNum) ([]backends.Buffer, error) {
	if e.finalized {
		return nil, fmt.Errorf("cpu executable %q: already finalized", e.name)
	}
	if len(inputs) != len(e.paramSlots) {
		return nil, fmt.Errorf("cpu executable %q: %d inputs given, %d expected", e.name, len(inputs), len(e.paramSlots))
	}
	r := &run{e: e, bufs: make([]backends.Buffer, len(e.slotShapes)), owned: make([]bool, len(e.slotShapes)),
		left: append([]int(nil), e.uses...), heldBy: make([]int64, e.classes), peakBy: make([]int64, e.classes)}
	for i, buf := range inputs {
		shape, err := e.backend.BufferShape(buf)
		if err != nil {
			return nil, fmt.Errorf("cpu executable %q: input #%d: %w", e.name, i, err)
		}
		if !shape.Equal(e.paramShapes[i]) {
			return nil, fmt.Errorf("cpu executable %q: input #%d has shape %s, expected %s", e.name, i, shape, e.paramShapes[i])
		}
		s := e.paramSlots[i]
		r.bufs[s] = buf
		if i < len(donate) && donate[i] {
			r.own(s, buf)
		}
		if r.left[s] == 0 {
			r.left[s] = 1
			r.release(s)
		}
	}
	for _, k := range e.consts {
		r.bufs[k.slot] = k.buf
	}
	prof := e.backend.prof
	for _, st := range e.steps {
		var start time.Time
		var faults int64
		if prof != nil {
			start, faults = time.Now(), pageFaults()
		}
		var err error
		if st.native != nil {
			err = r.native(st)
		} else {
			err = r.segment(st)
		}
		if prof != nil {
			prof.add(st.name, time.Since(start), pageFaults()-faults)
		}
		if err != nil {
			r.abort()
			return nil, fmt.Errorf("cpu executable %q, step %s: %w", e.name, st.name, err)
		}
	}
	outs := make([]backends.Buffer, len(e.outputs))
	for i, s := range e.outputs {
		if r.owned[s] && r.left[s] == 1 {
			outs[i] = r.bufs[s]
			r.disown(s)
			r.left[s] = 0
			continue
		}
		// Not ours to hand over (a caller's input, a constant) or read again
		// by a later output: return a copy.
		flat, err := e.backend.BufferData(r.bufs[s])
		if err == nil {
			outs[i], err = e.backend.BufferFromFlatData(0, flat, e.outShapes[i])
		}
		if err != nil {
			r.abort()
			return nil, errors.Join(err, finalizeAll(e.backend, outs[:i]))
		}
		r.release(s)
	}
	e.backend.cache.raise(r.cacheNeed())
	return outs, nil
}

func finalizeAll(be backends.DataInterface, bufs []backends.Buffer) error {
	var errs []error
	for _, b := range bufs {
		if b != nil {
			errs = append(errs, be.BufferFinalize(b))
		}
	}
	return errors.Join(errs...)
}

func (r *run) segment(st *step) error {
	ins := make([]backends.Buffer, len(st.inputs))
	donate := make([]bool, len(st.inputs))
	for i, s := range st.inputs {
		ins[i] = r.bufs[s]
		donate[i] = r.owned[s] && r.left[s] == 1
	}
	outs, err := st.exec.Execute(ins, donate, 0)
	if err != nil {
		return err
	}
	for i, s := range st.inputs {
		if donate[i] {
			// The segment took the buffer over.
			r.disown(s)
			r.left[s] = 0
			continue
		}
		r.release(s)
	}
	for i, s := range st.outputs {
		r.own(s, outs[i])
	}
	return nil
}

// newBuffer returns a buffer of the shape, from the cache if it has one,
// with its flat data.
func (b *Backend) newBuffer(s shapes.Shape) (backends.Buffer, any, error) {
	if buf := b.cache.take(s); buf != nil {
		flat, err := b.BufferData(buf)
		return buf, flat, err
	}
	return b.NewSharedBuffer(0, s)
}

func (r *run) native(st *step) error {
	be := r.e.backend
	ins := make([]any, len(st.inputs))
	for i, s := range st.inputs {
		flat, err := be.BufferData(r.bufs[s])
		if err != nil {
			return err
		}
		ins[i] = flat
	}
	outs := make([]any, len(st.outputs))
	bufs := make([]backends.Buffer, len(st.outputs))
	for i, s := range st.outputs {
		buf, flat, err := be.newBuffer(r.e.slotShapes[s])
		if err != nil {
			return errors.Join(err, finalizeAll(be, bufs))
		}
		bufs[i], outs[i] = buf, flat
	}
	if err := st.native.run(ins, outs); err != nil {
		return errors.Join(err, finalizeAll(be, bufs))
	}
	for i, s := range st.outputs {
		r.own(s, bufs[i])
	}
	for _, s := range st.inputs {
		r.release(s)
	}
	return nil
}
