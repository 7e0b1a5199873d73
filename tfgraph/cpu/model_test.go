package cpu_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/models"
	"github.com/tfrun/tfrun/tfgraph/adapter"
	"github.com/tfrun/tfrun/tfgraph/cpu"
)

// runZoo runs fn on x with m's variables in a fresh context, initialised
// with the same seed on every backend (variables live on one backend).
func runZoo(t *testing.T, be backends.Backend, m *models.Model, x *tensors.Tensor,
	fn func(ctx *context.Context, x *graph.Node) []*graph.Node) []*tensors.Tensor {
	t.Helper()
	ctx := context.New()
	m.Init(ctx, 1)
	exec, err := context.NewExec(be, ctx, fn)
	if err != nil {
		t.Fatal(err)
	}
	local, err := x.LocalClone()
	if err != nil {
		t.Fatal(err)
	}
	outs, err := exec.Exec(local)
	if err != nil {
		t.Fatalf("%s: %v", be.Description(), err)
	}
	return outs
}

// zooGradients returns a weighted sum of the model's outputs and its
// gradient with respect to every variable, in a fixed order.
func zooGradients(t *testing.T, be backends.Backend, m *models.Model, x *tensors.Tensor) map[string][]float32 {
	t.Helper()
	var names []string
	outs := runZoo(t, be, m, x, func(ctx *context.Context, x *graph.Node) []*graph.Node {
		g := x.Graph()
		y := m.Forward(ctx, x, true)
		w := make([]float32, y.Shape().Size())
		rng := rand.New(rand.NewPCG(4, 2))
		for i := range w {
			w[i] = rng.Float32() - 0.5
		}
		loss := graph.ReduceAllSum(graph.Mul(y, graph.Const(g, tensors.FromFlatDataAndDimensions(w, y.Shape().Dimensions...))))
		outs := []*graph.Node{loss}
		var vars []*graph.Node
		names = names[:0]
		for v := range ctx.IterVariables() {
			if v.Trainable && v.InUseByGraph(g) {
				names = append(names, v.ScopeAndName())
				vars = append(vars, v.ValueGraph(g))
			}
		}
		return append(outs, graph.Gradient(loss, vars...)...)
	})
	res := map[string][]float32{"loss": tensors.MustCopyFlatData[float32](outs[0])}
	for i, name := range names {
		res[name] = tensors.MustCopyFlatData[float32](outs[1+i])
	}
	return res
}

// checkClose fails unless got is want to 1e-4 of want's largest magnitude.
func checkClose(t *testing.T, name string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", name, len(got), len(want))
		return
	}
	var diff, scale float64
	for i := range want {
		diff = max(diff, math.Abs(float64(got[i]-want[i])))
		scale = max(scale, math.Abs(float64(want[i])))
	}
	if diff > 1e-4*max(scale, 1e-3) {
		t.Errorf("%s: max difference %.3g, scale %.3g", name, diff, scale)
	}
}

// engines returns the adapter and this backend.
func engines(t *testing.T) (pure, fast backends.Backend) {
	t.Helper()
	pure, err := adapter.New("")
	if err != nil {
		t.Fatal(err)
	}
	fast, err = cpu.New(0)
	if err != nil {
		t.Fatal(err)
	}
	return pure, fast
}

// TestZooGradients compares whole models, values and gradients of every
// variable, with the adapter.
func TestZooGradients(t *testing.T) {
	pure, fast := engines(t)
	for _, tc := range []struct {
		zoo     string
		input   []int
		options map[string]any
	}{
		{"convnet", []int{28, 28, 1}, nil},
		{"unet", []int{32, 24, 3}, map[string]any{"base": 4, "depth": 2, "upsample": "transpose"}},
		{"unet", []int{16, 16, 2}, map[string]any{"base": 4, "depth": 2, "batchnorm": true}},
	} {
		t.Run(fmt.Sprintf("%s %v", tc.zoo, tc.options), func(t *testing.T) {
			m, err := models.FromZooWith(tc.zoo, tc.input, 3, tc.options)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 1))
			flat := make([]float32, 3*tc.input[0]*tc.input[1]*tc.input[2])
			for i := range flat {
				flat[i] = rng.Float32()
			}
			x := tensors.FromFlatDataAndDimensions(flat, append([]int{3}, tc.input...)...)
			want, got := zooGradients(t, pure, m, x), zooGradients(t, fast, m, x)
			if len(want) < 3 || len(got) != len(want) {
				t.Fatalf("%d values from the adapter, %d from the cpu backend", len(want), len(got))
			}
			for name, w := range want {
				checkClose(t, name, got[name], w)
			}
		})
	}
}

// TestZooInference compares inference outputs, where batch norms fold into
// convolutions and activations stay in oneDNN's blocked layout between
// them, with the adapter's.
func TestZooInference(t *testing.T) {
	pure, fast := engines(t)
	m, err := models.FromZooWith("deeplab", []int{32, 32, 3}, 3, map[string]any{"backbone": "resnet50", "width": 0.25})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	flat := make([]float32, 2*32*32*3)
	for i := range flat {
		flat[i] = rng.Float32()
	}
	x := tensors.FromFlatDataAndDimensions(flat, 2, 32, 32, 3)
	predict := func(be backends.Backend) []float32 {
		outs := runZoo(t, be, m, x, func(ctx *context.Context, x *graph.Node) []*graph.Node {
			return []*graph.Node{m.Forward(ctx, x, false)}
		})
		return tensors.MustCopyFlatData[float32](outs[0])
	}
	checkClose(t, "deeplab resnet50 inference", predict(fast), predict(pure))
}
