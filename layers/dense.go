package layers

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/tfgraph/nn"
)

// Dense is Keras' fully connected layer: it acts on the last axis.
type Dense struct {
	Units      int    `yaml:"units"`
	Activation string `yaml:"activation,omitempty"`
	NoBias     bool   `yaml:"no_bias,omitempty"`
}

func init() { Register("dense", func() Layer { return &Dense{} }) }

func (d *Dense) Kind() string { return "dense" }

func (d *Dense) validate() error {
	if d.Units <= 0 {
		return fmt.Errorf("units must be > 0, got %d", d.Units)
	}
	return checkActivation(d.Activation)
}

func (d *Dense) OutputShape(in [][]int) ([]int, error) {
	x, err := one(d.Kind(), in)
	if err != nil {
		return nil, err
	}
	if len(x) == 0 {
		return nil, fmt.Errorf("dense needs an input with at least one axis")
	}
	return withLast(x, d.Units), nil
}

func (d *Dense) Weights(in [][]int) []Weight {
	k := in[0][len(in[0])-1]
	ws := []Weight{{Name: "kernel", Shape: []int{k, d.Units}, Init: "glorot_uniform", FanIn: k, FanOut: d.Units}}
	if !d.NoBias {
		ws = append(ws, Weight{Name: "bias", Shape: []int{d.Units}, Init: "zeros"})
	}
	return ws
}

func (d *Dense) MACs(in [][]int) int64 { return prod(in[0]) * int64(d.Units) }

func (d *Dense) FinalActivation() string { return d.Activation }

func (d *Dense) ApplyLinear(ctx *context.Context, in []*graph.Node) *graph.Node {
	x := in[0]
	y := nn.MatMul(x, weight(ctx, x.Graph(), "kernel"))
	if !d.NoBias {
		y = nn.AddBias(y, weight(ctx, x.Graph(), "bias"))
	}
	return y
}

func (d *Dense) Apply(ctx *context.Context, in []*graph.Node) *graph.Node {
	return activate(d.Activation, d.ApplyLinear(ctx, in))
}

// weight reads a variable the model created before building the graph; a
// missing one is a programming error in the layer, not a user error.
func weight(ctx *context.Context, g *graph.Graph, name string) *graph.Node {
	v := ctx.GetVariable(name)
	if v == nil {
		panic(fmt.Sprintf("layers: variable %s/%s was not created by the model", ctx.Scope(), name))
	}
	return v.ValueGraph(g)
}
