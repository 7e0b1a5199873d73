package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/tfrun/tfrun/tfgraph/adapter"
)

// TestDepthwiseConv2DGradient checks both gradients of DepthwiseConv2D
// against float64 central differences, over strides, dilation, channel
// multipliers, even kernels and uneven padding; and its values against the
// plain grouped convolution it wraps.
func TestDepthwiseConv2DGradient(t *testing.T) {
	backend, err := adapter.New("")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		n, h, w, c, m, kh, kw int
		strides, dilations    [2]int
		pads                  [2][2]int
	}{
		{2, 5, 6, 3, 1, 3, 3, [2]int{1, 1}, [2]int{1, 1}, [2][2]int{{1, 1}, {1, 1}}},
		{1, 7, 6, 2, 2, 3, 3, [2]int{2, 2}, [2]int{1, 1}, [2][2]int{{0, 1}, {1, 1}}},
		{1, 9, 8, 2, 1, 3, 3, [2]int{1, 1}, [2]int{2, 3}, [2][2]int{{2, 2}, {3, 3}}},
		{2, 4, 5, 3, 1, 2, 2, [2]int{1, 2}, [2]int{1, 1}, [2][2]int{{0, 1}, {0, 0}}},
	} {
		xd := []int{tc.n, tc.h, tc.w, tc.c}
		kd := []int{tc.kh, tc.kw, 1, tc.c * tc.m}
		xv := randData(rng, tc.n*tc.h*tc.w*tc.c)
		kv := randData(rng, tc.kh*tc.kw*tc.c*tc.m)
		conv := func(x, k *graph.Node) *graph.Node { return DepthwiseConv2D(x, k, tc.strides, tc.dilations, tc.pads) }
		plain := func(x, k *graph.Node) *graph.Node {
			return graph.ConvGeneral(x, k, nhwc, tc.strides[:], tc.pads[:], nil, tc.dilations[:], tc.c, 1)
		}
		args := func() []any {
			return []any{tensors.FromFlatDataAndDimensions(xv, xd...), tensors.FromFlatDataAndDimensions(kv, kd...)}
		}
		got := tensors.MustCopyFlatData[float64](graph.MustNewExec(backend, conv).MustExec(args()...)[0])
		want := tensors.MustCopyFlatData[float64](graph.MustNewExec(backend, plain).MustExec(args()...)[0])
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-12 {
				t.Fatalf("%+v: value %d = %g, grouped convolution gives %g", tc, i, got[i], want[i])
			}
		}
		cv := randData(rng, len(want))
		objective := func(x, k *graph.Node) *graph.Node {
			y := conv(x, k)
			c := graph.Const(x.Graph(), tensors.FromFlatDataAndDimensions(cv, y.Shape().Dimensions...))
			return graph.ReduceAllSum(graph.Mul(y, c))
		}
		grads := graph.MustNewExec(backend, func(x, k *graph.Node) []*graph.Node { return graph.Gradient(objective(x, k), x, k) }).MustExec(args()...)
		value := graph.MustNewExec(backend, objective)
		for which, vals := range [][]float64{xv, kv} {
			g := tensors.MustCopyFlatData[float64](grads[which])
			for i := range vals {
				const eps = 1e-6
				orig := vals[i]
				vals[i] = orig + eps
				hi := value.MustExec(args()...)[0].Value().(float64)
				vals[i] = orig - eps
				lo := value.MustExec(args()...)[0].Value().(float64)
				vals[i] = orig
				if fd := (hi - lo) / (2 * eps); math.Abs(g[i]-fd) > 1e-6*math.Max(1, math.Abs(fd)) {
					t.Fatalf("%+v: gradient of input %d element %d = %g, finite difference %g", tc, which, i, g[i], fd)
				}
			}
		}
	}
}
