package nn

import (
	"github.com/gomlx/gomlx/pkg/core/graph"
)

// SparseCrossEntropy is the mean cross-entropy of integer labels [B] against
// logits [B, C], computed through log-softmax so that confident wrong
// predictions give large finite losses instead of log(0).
func SparseCrossEntropy(logits, labels *graph.Node) *graph.Node {
	classes := logits.Shape().Dimensions[logits.Rank()-1]
	logp := graph.LogSoftmax(logits, -1)
	onehot := graph.OneHot(labels, classes, logits.DType())
	perExample := graph.Neg(graph.ReduceSum(graph.Mul(logp, onehot), -1))
	return graph.ReduceAllMean(perExample)
}

// CorrectCount counts the examples whose arg-max class equals the label.
func CorrectCount(scores, labels *graph.Node) *graph.Node {
	pred := graph.ArgMax(scores, -1, labels.DType())
	eq := graph.ConvertDType(graph.Equal(pred, labels), scores.DType())
	return graph.ReduceAllSum(eq)
}
