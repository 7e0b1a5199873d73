// Package nn holds the graph-level building blocks tfrun's layers are made
// of: matrix products with cheap gradients, dropout and losses.
package nn

import (
	"runtime"
	"sync"
	"weak"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// GoMLX's generic DotGeneral gradient multiplies the adjoint by a broadcast
// copy of the other operand before reducing it: for a Dense layer of 3136→1024
// at batch 128 that is a 1.6 GB temporary. The matrix products tfrun builds
// itself are marked here, and their gradient is two plain products instead.
var plainMatMuls sync.Map // weak.Pointer[graph.Node] → struct{}

func init() {
	generic := graph.VJPRegistration[graph.NodeTypeDotGeneral]
	graph.VJPRegistration[graph.NodeTypeDotGeneral] = func(node *graph.Node, vjps []*graph.Node, out shapes.Shape) []*graph.Node {
		if _, ok := plainMatMuls.Load(weak.Make(node)); !ok {
			return generic(node, vjps, out)
		}
		x, w, v := node.Inputs()[0], node.Inputs()[1], vjps[0]
		dx := graph.DotGeneral(v, []int{1}, nil, w, []int{1}, nil)
		dw := graph.DotGeneral(x, []int{0}, nil, v, []int{0}, nil)
		return []*graph.Node{dx, dw}
	}
}

// MatMul multiplies x [..., K] by w [K, N] into [..., N].
func MatMul(x, w *graph.Node) *graph.Node {
	dims := x.Shape().Dimensions
	k := dims[len(dims)-1]
	x2 := x
	if x.Rank() != 2 {
		x2 = graph.Reshape(x, -1, k)
	}
	y := graph.DotGeneral(x2, []int{1}, nil, w, []int{0}, nil)
	key := weak.Make(y)
	plainMatMuls.Store(key, struct{}{})
	runtime.AddCleanup(y, func(k weak.Pointer[graph.Node]) { plainMatMuls.Delete(k) }, key)
	if x.Rank() == 2 {
		return y
	}
	outDims := append(append([]int{}, dims[:len(dims)-1]...), w.Shape().Dimensions[1])
	return graph.Reshape(y, outDims...)
}

// AddBias adds a per-channel bias [C] to x [..., C].
func AddBias(x, bias *graph.Node) *graph.Node {
	return graph.Add(x, graph.ExpandLeftToRank(bias, x.Rank()))
}
