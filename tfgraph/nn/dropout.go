package nn

import (
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// Dropout zeroes a fraction rate of x during training and scales the rest by
// 1/(1-rate), so inference needs no rescaling (Keras' inverted dropout).
func Dropout(ctx *context.Context, x *graph.Node, rate float64) *graph.Node {
	if rate <= 0 || !ctx.IsTraining(x.Graph()) {
		return x
	}
	u := ctx.RandomUniform(x.Graph(), x.Shape())
	keep := graph.GreaterOrEqual(u, graph.Scalar(x.Graph(), x.DType(), rate))
	scaled := graph.MulScalar(x, 1/(1-rate))
	return graph.Where(keep, scaled, graph.ZerosLike(x))
}

// Relu is max(x, 0), with a zero gradient at 0 as in TensorFlow.
func Relu(x *graph.Node) *graph.Node {
	zero := graph.ZerosLike(x)
	return graph.Where(graph.GreaterThan(x, zero), x, zero)
}
