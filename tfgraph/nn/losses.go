package nn

import (
	"fmt"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
)

// Loss maps a model's logits and integer labels to a scalar. For a softmax
// output logits are [..., C] and labels [...]; for a one-channel sigmoid
// output logits are [..., 1] and labels [...] in {0, 1}.
type Loss func(logits, labels *graph.Node) *graph.Node

// Losses are the names train.loss accepts. "crossentropy" is categorical
// for a softmax (or linear) output and binary for a sigmoid one.
var Losses = []string{"crossentropy", "bce", "dice", "bce+dice"}

// LossByName returns the named loss for an output with the given final
// activation ("sigmoid" means one binary channel).
func LossByName(name, activation string) (Loss, error) {
	binary := activation == "sigmoid"
	switch strings.ToLower(name) {
	case "", "crossentropy":
		if binary {
			return BinaryCrossEntropy, nil
		}
		return SparseCrossEntropy, nil
	case "bce":
		if !binary {
			return nil, fmt.Errorf("loss bce needs a one-channel sigmoid output, the model ends in %q", activation)
		}
		return BinaryCrossEntropy, nil
	case "dice":
		if binary {
			return BinaryDice, nil
		}
		return SoftmaxDice, nil
	case "bce+dice":
		if !binary {
			return nil, fmt.Errorf("loss bce+dice needs a one-channel sigmoid output, the model ends in %q", activation)
		}
		return func(l, y *graph.Node) *graph.Node { return graph.Add(BinaryCrossEntropy(l, y), BinaryDice(l, y)) }, nil
	}
	return nil, fmt.Errorf("unknown loss %q (known: %s)", name, strings.Join(Losses, ", "))
}

// SparseCrossEntropy is the mean cross-entropy of integer labels against
// logits [..., C], computed through log-softmax so that confident wrong
// predictions give large finite losses instead of log(0).
func SparseCrossEntropy(logits, labels *graph.Node) *graph.Node {
	classes := logits.Shape().Dimensions[logits.Rank()-1]
	logp := graph.LogSoftmax(logits, -1)
	onehot := graph.OneHot(labels, classes, logits.DType())
	perExample := graph.Neg(graph.ReduceSum(graph.Mul(logp, onehot), -1))
	return graph.ReduceAllMean(perExample)
}

// binaryLogits drops the channel axis of a one-channel output.
func binaryLogits(logits, labels *graph.Node) (z, y *graph.Node) {
	z = graph.Reshape(logits, labels.Shape().Dimensions...)
	return z, graph.ConvertDType(labels, logits.DType())
}

// BinaryCrossEntropy is the mean of max(z,0) − z·y + log(1 + e^−|z|), the
// stable form of the sigmoid cross-entropy.
func BinaryCrossEntropy(logits, labels *graph.Node) *graph.Node {
	z, y := binaryLogits(logits, labels)
	loss := graph.Add(graph.Sub(graph.Max(z, graph.ZerosLike(z)), graph.Mul(z, y)),
		graph.Log1P(graph.Exp(graph.Neg(graph.Abs(z)))))
	return graph.ReduceAllMean(loss)
}

// dice is 1 − (2Σpy + 1)/(Σp + Σy + 1), over the whole batch; the 1s keep
// it defined when a batch has no positives.
func dice(p, y *graph.Node) *graph.Node {
	inter := graph.ReduceAllSum(graph.Mul(p, y))
	sum := graph.Add(graph.ReduceAllSum(p), graph.ReduceAllSum(y))
	return graph.OneMinus(graph.Div(graph.AddScalar(graph.MulScalar(inter, 2), 1), graph.AddScalar(sum, 1)))
}

// BinaryDice is the Dice loss of the sigmoid probabilities.
func BinaryDice(logits, labels *graph.Node) *graph.Node {
	z, y := binaryLogits(logits, labels)
	return dice(graph.Sigmoid(z), y)
}

// SoftmaxDice is the mean over classes of each class's Dice loss.
func SoftmaxDice(logits, labels *graph.Node) *graph.Node {
	classes := logits.Shape().Dimensions[logits.Rank()-1]
	p := graph.Softmax(logits, -1)
	onehot := graph.OneHot(labels, classes, logits.DType())
	var total *graph.Node
	for c := 0; c < classes; c++ {
		d := dice(graph.SliceAxis(p, -1, graph.AxisElem(c)), graph.SliceAxis(onehot, -1, graph.AxisElem(c)))
		if total == nil {
			total = d
		} else {
			total = graph.Add(total, d)
		}
	}
	return graph.DivScalar(total, float64(classes))
}

// Predictions turns logits into class ids of the labels' dtype: arg-max
// over several channels, z > 0 for one sigmoid channel.
func Predictions(logits *graph.Node, activation string, dtype dtypes.DType) *graph.Node {
	if activation == "sigmoid" {
		last := logits.Rank() - 1
		z := graph.Reshape(logits, logits.Shape().Dimensions[:last]...)
		return graph.ConvertDType(graph.GreaterThan(z, graph.ZerosLike(z)), dtype)
	}
	return graph.ArgMax(logits, -1, dtype)
}

// CorrectCount counts the labels (examples or pixels) predicted right.
func CorrectCount(logits, labels *graph.Node, activation string) *graph.Node {
	pred := Predictions(logits, activation, labels.DType())
	return graph.ReduceAllSum(graph.ConvertDType(graph.Equal(pred, labels), logits.DType()))
}
