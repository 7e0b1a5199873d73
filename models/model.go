// Package models assembles layers into models, in the two styles the course
// teaches with Keras: Sequential, a list of layers, and functional, layers
// called on the outputs of other layers.
package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/internal/dims"
	"github.com/tfrun/tfrun/layers"
)

// Tensor is a symbolic output: the result of a layer called on other
// tensors, or a model input. Shapes are per example.
type Tensor struct {
	Name   string
	Layer  layers.Layer // nil for an input
	Inputs []*Tensor
	Shape  []int
}

// Model is a directed acyclic graph of layers with one input and one output.
type Model struct {
	Name   string
	Input  *Tensor
	Output *Tensor
	// Nodes are in topological order, input first.
	Nodes []*Tensor
}

// Functional builds a model Keras-style: call layers on tensors, then Build.
// The first error sticks, so model code reads without error checks between
// lines.
type Functional struct {
	name  string
	err   error
	nodes []*Tensor
	used  map[string]int
}

// NewFunctional starts a functional model.
func NewFunctional(name string) *Functional {
	return &Functional{name: name, used: map[string]int{}}
}

func (f *Functional) uniqueName(base string) string {
	n := f.used[base]
	f.used[base]++
	if n == 0 {
		return base
	}
	return fmt.Sprintf("%s_%d", base, n)
}

// Input declares the model's input with its per-example shape.
func (f *Functional) Input(shape ...int) *Tensor {
	t := &Tensor{Name: f.uniqueName("input"), Shape: slices.Clone(shape)}
	for _, d := range shape {
		if d <= 0 && f.err == nil {
			f.err = fmt.Errorf("model %s: input shape %v has a non-positive axis", f.name, shape)
		}
	}
	f.nodes = append(f.nodes, t)
	return t
}

// Apply calls layer l on the inputs and names it after its kind (dense,
// dense_1, ...) as Keras does.
func (f *Functional) Apply(l layers.Layer, inputs ...*Tensor) *Tensor {
	return f.ApplyNamed("", l, inputs...)
}

// ApplyNamed is Apply with an explicit layer name.
func (f *Functional) ApplyNamed(name string, l layers.Layer, inputs ...*Tensor) *Tensor {
	if name == "" {
		name = f.uniqueName(l.Kind())
	} else if f.used[name] > 0 && f.err == nil {
		f.err = fmt.Errorf("model %s: layer name %q used twice", f.name, name)
	} else {
		f.used[name]++
	}
	t := &Tensor{Name: name, Layer: l, Inputs: inputs}
	if f.err != nil {
		f.nodes = append(f.nodes, t)
		return t
	}
	in := make([][]int, len(inputs))
	for i, x := range inputs {
		if x == nil || x.Shape == nil {
			f.err = fmt.Errorf("model %s: layer %s: input %d is undefined", f.name, name, i)
			return t
		}
		in[i] = x.Shape
	}
	shape, err := l.OutputShape(in)
	if err != nil {
		f.err = fmt.Errorf("model %s: layer %s: %v", f.name, name, err)
	}
	t.Shape = shape
	f.nodes = append(f.nodes, t)
	return t
}

// Build finishes the model with the given output.
func (f *Functional) Build(output *Tensor) (*Model, error) {
	if f.err != nil {
		return nil, f.err
	}
	var inputs []*Tensor
	for _, n := range f.nodes {
		if n.Layer == nil {
			inputs = append(inputs, n)
		}
	}
	if len(inputs) != 1 {
		return nil, fmt.Errorf("model %s: want exactly one input, got %d", f.name, len(inputs))
	}
	// Keep only what the output depends on, in the order it was written.
	needed := map[*Tensor]bool{}
	var mark func(t *Tensor)
	mark = func(t *Tensor) {
		if needed[t] {
			return
		}
		needed[t] = true
		for _, in := range t.Inputs {
			mark(in)
		}
	}
	mark(output)
	m := &Model{Name: f.name, Input: inputs[0], Output: output}
	for _, n := range f.nodes {
		if needed[n] {
			m.Nodes = append(m.Nodes, n)
		}
	}
	if !needed[inputs[0]] {
		return nil, fmt.Errorf("model %s: the output does not depend on the input", f.name)
	}
	return m, nil
}

// Sequential chains layers, as keras.Sequential does.
func Sequential(name string, input []int, ls ...layers.Layer) (*Model, error) {
	f := NewFunctional(name)
	x := f.Input(input...)
	for _, l := range ls {
		x = f.Apply(l, x)
	}
	return f.Build(x)
}

func inputShapes(t *Tensor) [][]int {
	in := make([][]int, len(t.Inputs))
	for i, x := range t.Inputs {
		in[i] = x.Shape
	}
	return in
}

// Variable is one weight of the model, addressed as "layer/weight".
type Variable struct {
	Layer string
	layers.Weight
}

// Path is the variable's name in saved models.
func (v Variable) Path() string { return v.Layer + "/" + v.Name }

// Variables lists every weight of the model in a stable order.
func (m *Model) Variables() []Variable {
	var vs []Variable
	for _, n := range m.Nodes {
		if n.Layer == nil {
			continue
		}
		for _, w := range n.Layer.Weights(inputShapes(n)) {
			vs = append(vs, Variable{Layer: n.Name, Weight: w})
		}
	}
	return vs
}

// ParamCount is the number of stored scalars, trainable or not, as Keras'
// "Total params".
func (m *Model) ParamCount() int64 {
	var p int64
	for _, v := range m.Variables() {
		p += int64(dims.Product(v.Shape))
	}
	return p
}

// MACs counts the multiply-accumulates of one example's forward pass.
func (m *Model) MACs() int64 {
	var s int64
	for _, n := range m.Nodes {
		if n.Layer != nil {
			s += n.Layer.MACs(inputShapes(n))
		}
	}
	return s
}

// Init creates the model's variables in ctx, drawn from one generator seeded
// with seed, so the same seed gives the same starting weights whatever the
// engine.
func (m *Model) Init(ctx *context.Context, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x7466_7275_6e))
	for _, v := range m.Variables() {
		vals := make([]float32, dims.Product(v.Shape))
		switch v.Init {
		case "glorot_uniform":
			limit := math.Sqrt(6 / float64(v.FanIn+v.FanOut))
			for i := range vals {
				vals[i] = float32((rng.Float64()*2 - 1) * limit)
			}
		case "ones":
			for i := range vals {
				vals[i] = 1
			}
		}
		v.create(ctx, tensors.FromFlatDataAndDimensions(vals, v.Shape...))
	}
}

// create puts a variable into ctx with its value and trainability.
func (v Variable) create(ctx *context.Context, value *tensors.Tensor) {
	cv := ctx.In(v.Layer).VariableWithValue(v.Name, value)
	cv.Trainable = !v.Frozen
}

// SetVariables creates the model's variables in ctx from stored values, as
// a loader does; each value must have the variable's shape.
func (m *Model) SetVariables(ctx *context.Context, values map[string]*tensors.Tensor) error {
	for _, v := range m.Variables() {
		t, ok := values[v.Path()]
		if !ok {
			return fmt.Errorf("model %s: no value for variable %s", m.Name, v.Path())
		}
		if !slices.Equal(t.Shape().Dimensions, v.Shape) {
			return fmt.Errorf("model %s: variable %s has shape %v, the model needs %v", m.Name, v.Path(), t.Shape().Dimensions, v.Shape)
		}
		v.create(ctx, t)
	}
	return nil
}

// Forward runs the model on a batch x [B, input...]. With logits set, the
// output layer's final softmax or sigmoid is left out, so losses can work on
// logits.
func (m *Model) Forward(ctx *context.Context, x *graph.Node, logits bool) *graph.Node {
	vals := map[*Tensor]*graph.Node{m.Input: x}
	for _, n := range m.Nodes {
		if n.Layer == nil {
			continue
		}
		in := make([]*graph.Node, len(n.Inputs))
		for i, t := range n.Inputs {
			in[i] = vals[t]
		}
		lctx := ctx.In(n.Name)
		if a, ok := n.Layer.(layers.Activated); ok && logits && n == m.Output && FusableActivation(a.FinalActivation()) {
			vals[n] = a.ApplyLinear(lctx, in)
		} else {
			vals[n] = n.Layer.Apply(lctx, in)
		}
	}
	return vals[m.Output]
}

// OutputActivation names the activation of the output layer ("" if none).
func (m *Model) OutputActivation() string {
	if a, ok := m.Output.Layer.(layers.Activated); ok {
		return a.FinalActivation()
	}
	return ""
}

// FusableActivation tells whether losses take the pre-activation values of
// an output with this activation.
func FusableActivation(name string) bool { return name == "softmax" || name == "sigmoid" }
