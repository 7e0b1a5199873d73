package cpu

import (
	"fmt"
	"reflect"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// Builder records a computation. Every op is also built at once on a shadow
// builder of the adapter, which gives its shape and validates it exactly as
// the adapter would; Compile then decides, op by op, whether it runs on a
// native kernel or is delegated back to the adapter.
type Builder struct {
	backend *Backend
	name    string
	shadow  backends.Builder
	nodes   []*node
	params  []*node
	done    bool
}

var _ backends.Builder = (*Builder)(nil)

// value is one output of a recorded op; it is the backends.Op this builder
// hands out.
type value struct {
	node   *node
	shape  shapes.Shape
	shadow backends.Op
}

// replayFn builds the op on another builder, given that builder's ops for
// the inputs. It is called once on the shadow builder and again for every
// delegated segment the op lands in.
type replayFn func(b backends.Builder, in []backends.Op) ([]backends.Op, error)

type node struct {
	id     int
	op     backends.OpType
	inputs []*value
	outs   []*value
	replay replayFn

	// native, when set, computes the op without the adapter.
	native nativeOp

	// elt, when set, says how the op runs inside a fused elementwise
	// program.
	elt *eltInfo

	// constant holds the flat values of a Constant, so native consumers can
	// read it without a delegated step.
	constant any

	// params keeps the parameters later steps look at: a Parameter's name,
	// and for folding the axis of a Concatenate, a *convCall, a
	// sliceParams, the axes of a BroadcastInDim.
	params any
}

func (b *Builder) values(ops []backends.Op) ([]*value, error) {
	vs := make([]*value, len(ops))
	for i, op := range ops {
		v, ok := op.(*value)
		if !ok || v == nil {
			return nil, fmt.Errorf("cpu builder %q: operand #%d (%T) was not created by this backend", b.name, i, op)
		}
		if v.node.id >= len(b.nodes) || b.nodes[v.node.id] != v.node {
			return nil, fmt.Errorf("cpu builder %q: operand #%d belongs to another computation", b.name, i)
		}
		vs[i] = v
	}
	return vs, nil
}

func (b *Builder) check() error {
	if b.done {
		return fmt.Errorf("cpu builder %q: already compiled", b.name)
	}
	return nil
}

// record builds the op on the shadow builder and records it.
func (b *Builder) record(op backends.OpType, inputs []backends.Op, replay replayFn) ([]*value, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	ins, err := b.values(inputs)
	if err != nil {
		return nil, err
	}
	shadowIns := make([]backends.Op, len(ins))
	for i, v := range ins {
		shadowIns[i] = v.shadow
	}
	outs, err := replay(b.shadow, shadowIns)
	if err != nil {
		return nil, err
	}
	n := &node{id: len(b.nodes), op: op, inputs: ins, replay: replay}
	for _, o := range outs {
		shape, err := b.shadow.OpShape(o)
		if err != nil {
			return nil, err
		}
		n.outs = append(n.outs, &value{node: n, shape: shape, shadow: o})
	}
	n.elt = classifyElt(n)
	b.nodes = append(b.nodes, n)
	return n.outs, nil
}

// record1 records a single-output op.
func (b *Builder) record1(op backends.OpType, inputs []backends.Op,
	build func(b backends.Builder, in []backends.Op) (backends.Op, error)) (*value, error) {
	outs, err := b.record(op, inputs, func(bb backends.Builder, in []backends.Op) ([]backends.Op, error) {
		o, err := build(bb, in)
		if err != nil {
			return nil, err
		}
		return []backends.Op{o}, nil
	})
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

// op1 is record1 returning a backends.Op; a nil *value must not leak out
// as a non-nil interface.
func (b *Builder) op1(op backends.OpType, inputs []backends.Op,
	build func(b backends.Builder, in []backends.Op) (backends.Op, error)) (backends.Op, error) {
	v, err := b.record1(op, inputs, build)
	if err != nil {
		return nil, err
	}
	return v, nil
}

func asOps(vs []*value) []backends.Op {
	ops := make([]backends.Op, len(vs))
	for i, v := range vs {
		ops[i] = v
	}
	return ops
}

// Name implements backends.Builder.
func (b *Builder) Name() string { return b.name }

// OpShape implements backends.Builder.
func (b *Builder) OpShape(op backends.Op) (shapes.Shape, error) {
	vs, err := b.values([]backends.Op{op})
	if err != nil {
		return shapes.Invalid(), err
	}
	return vs[0].shape, nil
}

// Parameter implements backends.Builder.
func (b *Builder) Parameter(name string, shape shapes.Shape, sharding *backends.ShardingSpec) (backends.Op, error) {
	v, err := b.record1(backends.OpTypeParameter, nil, func(bb backends.Builder, _ []backends.Op) (backends.Op, error) {
		return bb.Parameter(name, shape, sharding)
	})
	if err != nil {
		return nil, err
	}
	v.node.params = name
	b.params = append(b.params, v.node)
	return v, nil
}

// Constant implements backends.Builder. The values are copied, as the
// interface promises.
func (b *Builder) Constant(flat any, dims ...int) (backends.Op, error) {
	rv := reflect.ValueOf(flat)
	if rv.Kind() != reflect.Slice {
		return nil, fmt.Errorf("cpu builder %q: Constant needs a slice, got %T", b.name, flat)
	}
	own := reflect.MakeSlice(rv.Type(), rv.Len(), rv.Len())
	reflect.Copy(own, rv)
	values, dims := own.Interface(), slices.Clone(dims)
	v, err := b.record1(backends.OpTypeConstant, nil, func(bb backends.Builder, _ []backends.Op) (backends.Op, error) {
		return bb.Constant(values, dims...)
	})
	if err != nil {
		return nil, err
	}
	v.node.constant = values
	return v, nil
}

// DistributedSPMD implements backends.Builder; like the adapter, this
// backend has one device.
func (b *Builder) DistributedSPMD(numDevices int) error { return b.shadow.DistributedSPMD(numDevices) }

// DistributedAutoSharding implements backends.Builder.
func (b *Builder) DistributedAutoSharding(meshes ...backends.Mesh) error {
	return b.shadow.DistributedAutoSharding(meshes...)
}

// DeviceAssignment implements backends.Builder.
func (b *Builder) DeviceAssignment(devices ...backends.DeviceNum) error {
	return b.shadow.DeviceAssignment(devices...)
}

// AllReduce implements backends.Builder.
func (b *Builder) AllReduce(operands []backends.Op, reductionType backends.ReduceOpType, replicaGroups [][]int) ([]backends.Op, error) {
	outs, err := b.record(backends.OpTypeAllReduce, operands, func(bb backends.Builder, in []backends.Op) ([]backends.Op, error) {
		return bb.AllReduce(in, reductionType, replicaGroups)
	})
	if err != nil {
		return nil, err
	}
	return asOps(outs), nil
}
