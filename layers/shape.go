package layers

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/tfgraph/nn"
)

// Flatten folds all per-example axes into one, in row-major (NHWC) order as
// Keras does.
type Flatten struct{}

// Dropout drops a fraction Rate of activations during training only.
type Dropout struct {
	Rate float64 `yaml:"rate"`
}

// Merge joins several inputs: "add" sums them, "concatenate" stacks them
// along the last axis.
type Merge struct {
	kind string
}

func init() {
	Register("flatten", func() Layer { return &Flatten{} })
	Register("dropout", func() Layer { return &Dropout{} })
	Register("add", func() Layer { return &Merge{kind: "add"} })
	Register("concatenate", func() Layer { return &Merge{kind: "concatenate"} })
}

// Add makes a layer that sums its inputs.
func Add() *Merge { return &Merge{kind: "add"} }

// Concatenate makes a layer that joins its inputs along the channel axis.
func Concatenate() *Merge { return &Merge{kind: "concatenate"} }

func (f *Flatten) Kind() string { return "flatten" }
func (f *Flatten) OutputShape(in [][]int) ([]int, error) {
	x, err := one(f.Kind(), in)
	if err != nil {
		return nil, err
	}
	return []int{int(prod(x))}, nil
}
func (f *Flatten) Weights([][]int) []Weight { return nil }
func (f *Flatten) MACs([][]int) int64       { return 0 }
func (f *Flatten) Apply(_ *context.Context, in []*graph.Node) *graph.Node {
	return graph.Reshape(in[0], in[0].Shape().Dimensions[0], -1)
}

func (d *Dropout) Kind() string { return "dropout" }
func (d *Dropout) validate() error {
	if d.Rate < 0 || d.Rate >= 1 {
		return fmt.Errorf("rate must be in [0, 1), got %g", d.Rate)
	}
	return nil
}
func (d *Dropout) OutputShape(in [][]int) ([]int, error) { return one(d.Kind(), in) }
func (d *Dropout) Weights([][]int) []Weight              { return nil }
func (d *Dropout) MACs([][]int) int64                    { return 0 }
func (d *Dropout) Apply(ctx *context.Context, in []*graph.Node) *graph.Node {
	return nn.Dropout(ctx, in[0], d.Rate)
}

func (m *Merge) Kind() string { return m.kind }
func (m *Merge) OutputShape(in [][]int) ([]int, error) {
	if len(in) < 2 {
		return nil, fmt.Errorf("%s needs at least two inputs, got %d", m.kind, len(in))
	}
	out := append([]int{}, in[0]...)
	for _, s := range in[1:] {
		if len(s) != len(out) {
			return nil, fmt.Errorf("%s: inputs %v and %v differ in rank", m.kind, in[0], s)
		}
		for i := range s {
			last := i == len(s)-1
			switch {
			case m.kind == "concatenate" && last:
				out[i] += s[i]
			case s[i] != out[i]:
				return nil, fmt.Errorf("%s: input shapes %v and %v do not match", m.kind, in[0], s)
			}
		}
	}
	return out, nil
}
func (m *Merge) Weights([][]int) []Weight { return nil }
func (m *Merge) MACs(in [][]int) int64 {
	if m.kind == "add" {
		return prod(in[0]) * int64(len(in)-1)
	}
	return 0
}
func (m *Merge) Apply(_ *context.Context, in []*graph.Node) *graph.Node {
	if m.kind == "concatenate" {
		return graph.Concatenate(in, -1)
	}
	y := in[0]
	for _, x := range in[1:] {
		y = graph.Add(y, x)
	}
	return y
}
