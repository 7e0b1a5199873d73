package layers

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/tfgraph/nn"
)

// ReLU is Keras' ReLU layer with its options, which also covers LeakyReLU
// (negative_slope) and ReLU6 (max_value: 6):
//
//	f(x) = max_value                      for x ≥ max_value
//	     = x                              for threshold < x < max_value
//	     = negative_slope·(x − threshold) otherwise
type ReLU struct {
	// MaxValue caps the output; unset means no cap.
	MaxValue      *float64 `yaml:"max_value,omitempty"`
	NegativeSlope float64  `yaml:"negative_slope,omitempty"`
	Threshold     float64  `yaml:"threshold,omitempty"`
}

func init() { Register("relu", func() Layer { return &ReLU{} }) }

func (r *ReLU) Kind() string { return "relu" }

func (r *ReLU) validate() error {
	if r.MaxValue != nil && *r.MaxValue < 0 {
		return fmt.Errorf("max_value must be ≥ 0, got %g", *r.MaxValue)
	}
	if r.NegativeSlope < 0 {
		return fmt.Errorf("negative_slope must be ≥ 0, got %g", r.NegativeSlope)
	}
	if r.Threshold < 0 {
		return fmt.Errorf("threshold must be ≥ 0, got %g", r.Threshold)
	}
	return nil
}

func (r *ReLU) OutputShape(in [][]int) ([]int, error) { return one(r.Kind(), in) }
func (r *ReLU) Weights([][]int) []Weight              { return nil }
func (r *ReLU) MACs(in [][]int) int64                 { return prod(in[0]) }

func (r *ReLU) Apply(_ *context.Context, in []*graph.Node) *graph.Node {
	x := in[0]
	var y *graph.Node
	if r.NegativeSlope == 0 && r.Threshold == 0 {
		y = nn.Relu(x)
	} else {
		shifted := graph.AddScalar(x, -r.Threshold)
		below := graph.MulScalar(shifted, r.NegativeSlope)
		y = graph.Where(graph.GreaterThan(x, graph.Scalar(x.Graph(), x.DType(), r.Threshold)), x, below)
	}
	if r.MaxValue != nil {
		y = graph.MinScalar(y, *r.MaxValue)
	}
	return y
}
