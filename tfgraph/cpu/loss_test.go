package cpu

import (
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/tfrun/tfrun/tfgraph/nn"
)

// TestUnitAxisBroadcastFused covers a BroadcastInDim that only adds size-1
// axes ([] to [1], [n] to [n,1]): it keeps the element count, so it fuses
// into the program that computes its operand and must read that register,
// not a leaf. The gradient of ReduceAllMean makes one; reading the
// program's first leaf instead scaled softmax cross-entropy gradients by
// the loss sum.
func TestUnitAxisBroadcastFused(t *testing.T) {
	t.Run("scalar to [1]", func(t *testing.T) {
		compare(t, withGrads(func(xs []*Node) *Node {
			return Sub(BroadcastPrefix(Mul(xs[0], xs[1]), 1), xs[2])
		}), []string{"fused"}, nil, nil, []int{1})
	})
	t.Run("[n] to [n,1]", func(t *testing.T) {
		compare(t, withGrads(func(xs []*Node) *Node {
			return Neg(Add(ExpandAndBroadcast(Mul(xs[0], xs[1]), []int{7, 1}, []int{1}), xs[2]))
		}), []string{"fused"}, []int{7}, []int{7}, []int{7, 1})
	})
}

// labels returns n class labels in [0, classes).
func labels(rng *rand.Rand, n, classes int) *tensors.Tensor {
	flat := make([]int32, n)
	for i := range flat {
		flat[i] = int32(rng.IntN(classes))
	}
	return tensors.FromFlatDataAndDimensions(flat, n)
}

// TestMatMulCrossEntropyGradient checks loss and weight gradient of a
// product followed by a softmax cross-entropy, where the gradient of the
// mean reaches the products through fused elementwise programs.
func TestMatMulCrossEntropyGradient(t *testing.T) {
	const batch, in, classes = 32, 20, 10
	for _, tc := range []struct {
		name string
		loss func(x, w, y *Node) *Node
	}{
		{"matmul squared", func(x, w, _ *Node) *Node { return ReduceAllSum(Square(nn.MatMul(x, w))) }},
		{"matmul cross-entropy", func(x, w, y *Node) *Node { return nn.SparseCrossEntropy(nn.MatMul(x, w), y) }},
		{"matmul bias cross-entropy", func(x, w, y *Node) *Node {
			return nn.SparseCrossEntropy(nn.AddBias(nn.MatMul(x, w), ReduceSum(w, 0)), y)
		}},
		{"dot general cross-entropy", func(x, w, y *Node) *Node {
			return nn.SparseCrossEntropy(DotGeneral(x, []int{1}, nil, w, []int{0}, nil), y)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			compareInputs(t, func(xs []*Node) []*Node {
				loss := tc.loss(xs[0], xs[1], xs[2])
				return append([]*Node{loss}, Gradient(loss, xs[1])...)
			}, []string{"DotGeneral"}, randTensor(rng, batch, in), randTensor(rng, in, classes), labels(rng, batch, classes))
		})
	}
}
