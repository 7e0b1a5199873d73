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

// zooGradients returns a weighted sum of the model's outputs and its
// gradient with respect to every variable, in a fixed order.
func zooGradients(t *testing.T, be backends.Backend, m *models.Model, x *tensors.Tensor) map[string][]float32 {
	t.Helper()
	ctx := context.New()
	m.Init(ctx, 1)
	var names []string
	exec, err := context.NewExec(be, ctx, func(ctx *context.Context, x *graph.Node) []*graph.Node {
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
	res := map[string][]float32{"loss": tensors.MustCopyFlatData[float32](outs[0])}
	for i, name := range names {
		res[name] = tensors.MustCopyFlatData[float32](outs[1+i])
	}
	return res
}

// TestZooGradients compares whole models, values and gradients of every
// variable, with the adapter.
func TestZooGradients(t *testing.T) {
	pure, err := adapter.New("")
	if err != nil {
		t.Fatal(err)
	}
	fast, err := cpu.New(0)
	if err != nil {
		t.Fatal(err)
	}
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
				var diff, scale float64
				for i := range w {
					diff = max(diff, math.Abs(float64(got[name][i]-w[i])))
					scale = max(scale, math.Abs(float64(w[i])))
				}
				if diff > 1e-4*max(scale, 1e-3) {
					t.Errorf("%s: max difference %.3g, scale %.3g", name, diff, scale)
				}
			}
		})
	}
}

// TestZooInference compares inference outputs, where batch norms fold into
// convolutions and activations stay in oneDNN's blocked layout between
// them, with the adapter's.
func TestZooInference(t *testing.T) {
	pure, err := adapter.New("")
	if err != nil {
		t.Fatal(err)
	}
	fast, err := cpu.New(0)
	if err != nil {
		t.Fatal(err)
	}
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
		// Variables live on one backend: each gets its own, seeded alike.
		ctx := context.New()
		m.Init(ctx, 1)
		exec, err := context.NewExec(be, ctx, func(ctx *context.Context, x *graph.Node) *graph.Node {
			return m.Forward(ctx, x, false)
		})
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
		return tensors.MustCopyFlatData[float32](outs[0])
	}
	want, got := predict(pure), predict(fast)
	var diff, scale float64
	for i := range want {
		diff = max(diff, math.Abs(float64(got[i]-want[i])))
		scale = max(scale, math.Abs(float64(want[i])))
	}
	if len(got) != len(want) || diff > 1e-4*max(scale, 1e-3) {
		t.Errorf("%d values (want %d), max difference %.3g, scale %.3g", len(got), len(want), diff, scale)
	}
}
