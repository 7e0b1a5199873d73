package cpu_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/config"
	"github.com/tfrun/tfrun/models"
	"github.com/tfrun/tfrun/tfgraph/adapter"
	"github.com/tfrun/tfrun/tfgraph/cpu"
	"github.com/tfrun/tfrun/train"
)

// sgdSteps trains the zoo MLP for a few SGD steps on fixed batches and
// returns the losses and the final weights by variable.
func sgdSteps(t *testing.T, be backends.Backend, xs, ys []*tensors.Tensor) ([]float64, map[string][]float32) {
	t.Helper()
	m, err := models.FromZoo("mlp", []int{28, 28, 1}, 10)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	m.Init(ctx, 3)
	f := &train.Fitter{Backend: be, Model: m, Ctx: ctx,
		Opts: config.Train{Optimizer: "sgd", LearningRate: 0.1, BatchSize: xs[0].Shape().Dimensions[0], Epochs: 1, Seed: 1}}
	var losses []float64
	for i := range xs {
		x, err := xs[i].LocalClone()
		if err != nil {
			t.Fatal(err)
		}
		y, err := ys[i].LocalClone()
		if err != nil {
			t.Fatal(err)
		}
		loss, _, err := f.Step(x, y)
		if err != nil {
			t.Fatalf("%s: step %d: %v", be.Name(), i, err)
		}
		losses = append(losses, loss)
	}
	weights := make(map[string][]float32)
	for v := range ctx.IterVariables() {
		if v.Trainable {
			weights[v.ScopeAndName()] = tensors.MustCopyFlatData[float32](v.MustValue())
		}
	}
	return losses, weights
}

// TestMLPTrainStepsMatchAdapter runs the same three SGD steps of the zoo
// MLP on the adapter and on this backend: losses and weights must agree.
func TestMLPTrainStepsMatchAdapter(t *testing.T) {
	const batch, steps = 32, 3
	rng := rand.New(rand.NewPCG(7, 11))
	var xs, ys []*tensors.Tensor
	for range steps {
		x := make([]float32, batch*28*28)
		for i := range x {
			x[i] = rng.Float32()
		}
		y := make([]int32, batch)
		for i := range y {
			y[i] = int32(rng.IntN(10))
		}
		xs = append(xs, tensors.FromFlatDataAndDimensions(x, batch, 28, 28, 1))
		ys = append(ys, tensors.FromFlatDataAndDimensions(y, batch))
	}
	ref, err := adapter.New("")
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Finalize()
	be, err := cpu.New(0)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Finalize()
	wantLoss, want := sgdSteps(t, ref, xs, ys)
	gotLoss, got := sgdSteps(t, be, xs, ys)
	for i := range wantLoss {
		if e := math.Abs(gotLoss[i]-wantLoss[i]) / max(math.Abs(wantLoss[i]), 1e-3); e > 1e-4 {
			t.Errorf("step %d: loss %g, adapter %g", i, gotLoss[i], wantLoss[i])
		}
	}
	if len(got) != len(want) || len(want) == 0 {
		t.Fatalf("%d trained variables, adapter has %d", len(got), len(want))
	}
	for name, w := range want {
		g := got[name]
		if len(g) != len(w) {
			t.Fatalf("%s: %d values, adapter has %d", name, len(g), len(w))
		}
		var diff, scale float64
		for i := range w {
			diff = max(diff, math.Abs(float64(g[i])-float64(w[i])))
			scale = max(scale, math.Abs(float64(w[i])))
		}
		if e := diff / max(scale, 1e-3); e > 1e-4 {
			t.Errorf("%s after %d SGD steps: relative error %.3g", name, steps, e)
		}
	}
}
