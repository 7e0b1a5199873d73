package train

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/datasets"
	"github.com/tfrun/tfrun/examples/mlp-from-scratch/scratch"
	"github.com/tfrun/tfrun/models"
	"github.com/tfrun/tfrun/tfgraph/adapter"
	"github.com/tfrun/tfrun/tfgraph/nn"
)

// TestEngineMatchesScratchMLP puts the weights of the course's from-scratch
// MLP (plain Go, float64) into the engine's MLP and checks that loss and
// every gradient agree on real digits.
func TestEngineMatchesScratchMLP(t *testing.T) {
	digits := mnistOrSkip(t, "test", 32)
	oracle := scratch.New([]int{784, 64, 32, 10}, 5)
	x64 := make([]float64, len(digits.X))
	for i, v := range digits.X {
		x64[i] = float64(v)
	}
	y := make([]int, digits.N)
	for i, v := range digits.Y {
		y[i] = int(v)
	}
	wantLoss, wantW, wantB := oracle.Gradients(x64, y, digits.N)

	m, err := models.FromZoo("mlp", []int{28, 28, 1}, 10)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	dense := []string{"dense", "dense_1", "dense_2"}
	for l, name := range dense {
		ctx.In(name).VariableWithValue("kernel", tensors.FromFlatDataAndDimensions(to32(oracle.W[l]), oracle.Sizes[l], oracle.Sizes[l+1]))
		ctx.In(name).VariableWithValue("bias", tensors.FromFlatDataAndDimensions(to32(oracle.B[l]), oracle.Sizes[l+1]))
	}
	backend, err := adapter.New("")
	if err != nil {
		t.Fatal(err)
	}
	exec, err := context.NewExec(backend, ctx, func(ctx *context.Context, x, labels *graph.Node) []*graph.Node {
		loss := nn.SparseCrossEntropy(m.Forward(ctx, x, true), labels)
		var wrt []*graph.Node
		for _, name := range dense {
			wrt = append(wrt, ctx.In(name).GetVariable("kernel").ValueGraph(x.Graph()), ctx.In(name).GetVariable("bias").ValueGraph(x.Graph()))
		}
		return append([]*graph.Node{loss}, graph.Gradient(loss, wrt...)...)
	})
	if err != nil {
		t.Fatal(err)
	}
	var batch *datasets.Batch
	for b, err := range digits.Batches(0, nil, digits.N) {
		if err != nil {
			t.Fatal(err)
		}
		batch = b
	}
	xt, yt := Tensors(batch, digits.Shape, nil)
	out, err := exec.Exec(xt, yt)
	if err != nil {
		t.Fatal(err)
	}
	if got := float64(out[0].Value().(float32)); math.Abs(got-wantLoss) > 1e-5*math.Max(1, wantLoss) {
		t.Errorf("loss %g, oracle %g", got, wantLoss)
	}
	for l := range dense {
		compare(t, dense[l]+"/kernel", tensors.MustCopyFlatData[float32](out[1+2*l]), wantW[l])
		compare(t, dense[l]+"/bias", tensors.MustCopyFlatData[float32](out[2+2*l]), wantB[l])
	}
}

// compare allows float32 rounding: errors are measured against the largest
// gradient of the tensor, as the small entries are sums of cancelling terms.
func compare(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	scale := 0.0
	for _, w := range want {
		scale = math.Max(scale, math.Abs(w))
	}
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); d > 1e-4*scale {
			t.Fatalf("%s[%d]: engine %g, oracle %g (scale %g)", what, i, got[i], want[i], scale)
		}
	}
}

func to32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}
