package layers

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/tfgraph/nn"
)

var activations = map[string]func(*graph.Node) *graph.Node{
	"":        func(x *graph.Node) *graph.Node { return x },
	"linear":  func(x *graph.Node) *graph.Node { return x },
	"relu":    nn.Relu,
	"sigmoid": graph.Sigmoid,
	"tanh":    graph.Tanh,
	"softmax": func(x *graph.Node) *graph.Node { return graph.Softmax(x, -1) },
}

func checkActivation(name string) error {
	if _, ok := activations[name]; !ok {
		return fmt.Errorf("unknown activation %q (known: linear, relu, sigmoid, tanh, softmax)", name)
	}
	return nil
}

func activate(name string, x *graph.Node) *graph.Node { return activations[name](x) }

// Activation applies an activation function on its own, like Keras'
// Activation layer.
type Activation struct {
	Function string `yaml:"function"`
}

func init() { Register("activation", func() Layer { return &Activation{} }) }

func (a *Activation) Kind() string                          { return "activation" }
func (a *Activation) validate() error                       { return checkActivation(a.Function) }
func (a *Activation) OutputShape(in [][]int) ([]int, error) { return one(a.Kind(), in) }
func (a *Activation) Weights([][]int) []Weight              { return nil }
func (a *Activation) MACs([][]int) int64                    { return 0 }
func (a *Activation) FinalActivation() string               { return a.Function }
func (a *Activation) Apply(_ *context.Context, in []*graph.Node) *graph.Node {
	return activate(a.Function, in[0])
}
func (a *Activation) ApplyLinear(_ *context.Context, in []*graph.Node) *graph.Node { return in[0] }
