package train

import (
	"os"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/config"
	"github.com/tfrun/tfrun/datasets"
	"github.com/tfrun/tfrun/datasets/mnist"
	"github.com/tfrun/tfrun/history"
	"github.com/tfrun/tfrun/models"
	"github.com/tfrun/tfrun/tfgraph/adapter"
)

func mnistOrSkip(t *testing.T, split string, n int) *datasets.Arrays {
	t.Helper()
	if _, err := mnist.Dir(); err != nil {
		t.Skipf("MNIST is not in the module cache: %v", err)
	}
	a, err := datasets.Load("mnist:"+split, datasets.Preprocess{Scale: 255})
	if err != nil {
		t.Fatal(err)
	}
	return a.Range(0, n)
}

func fitMLP(t *testing.T, opts config.Train, trainSet, val *datasets.Arrays) (*context.Context, *history.History) {
	t.Helper()
	backend, err := adapter.New("")
	if err != nil {
		t.Fatal(err)
	}
	m, err := models.FromZoo("mlp", []int{28, 28, 1}, 10)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	m.Init(ctx, opts.Seed)
	f := &Fitter{Backend: backend, Model: m, Ctx: ctx, Opts: opts}
	if testing.Verbose() {
		f.Progress = os.Stderr
	}
	h, err := f.Fit(trainSet, val)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, h
}

// TestFitLearnsAndRepeats trains the course MLP briefly with each optimiser:
// each must learn, and the same seed must give bit-identical weights.
func TestFitLearnsAndRepeats(t *testing.T) {
	trainSet := mnistOrSkip(t, "train", 3000)
	val := mnistOrSkip(t, "test", 1000)
	for _, opt := range []config.Train{
		{Optimizer: "adam", LearningRate: 0.002, BatchSize: 64, Epochs: 2, Seed: 7},
		{Optimizer: "rmsprop", LearningRate: 0.002, BatchSize: 64, Epochs: 2, Seed: 7},
		{Optimizer: "sgd", LearningRate: 0.05, Momentum: 0.9, BatchSize: 64, Epochs: 2, Seed: 7},
	} {
		t.Run(opt.Optimizer, func(t *testing.T) {
			ctx1, h := fitMLP(t, opt, trainSet, val)
			last := h.Records[len(h.Records)-1].Values
			if last["val_accuracy"] < 0.85 {
				t.Errorf("val_accuracy %.3f after 2 epochs on 3000 digits, want ≥ 0.85", last["val_accuracy"])
			}
			if h.Records[0].Values["loss"] <= last["loss"] {
				t.Errorf("loss did not fall: %v", h.Records)
			}
			if opt.Optimizer != "adam" {
				return
			}
			ctx2, _ := fitMLP(t, opt, trainSet, val)
			for v := range ctx1.IterVariables() {
				if !v.Trainable {
					continue
				}
				w := ctx2.InAbsPath(v.Scope()).GetVariable(v.Name())
				a := tensors.MustCopyFlatData[float32](v.MustValue())
				b := tensors.MustCopyFlatData[float32](w.MustValue())
				for i := range a {
					if a[i] != b[i] {
						t.Fatalf("seed 7 twice: %s differs at %d (%g vs %g)", v.ScopeAndName(), i, a[i], b[i])
					}
				}
			}
		})
	}
}

func TestCallbacks(t *testing.T) {
	trainSet := mnistOrSkip(t, "train", 500)
	val := mnistOrSkip(t, "test", 200)
	saves := 0
	backend, err := adapter.New("")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := models.FromZoo("mlp", []int{28, 28, 1}, 10)
	ctx := context.New()
	m.Init(ctx, 1)
	// A learning rate this high makes val_loss worsen at once, so early
	// stopping and the plateau schedule must both fire.
	f := &Fitter{Backend: backend, Model: m, Ctx: ctx,
		Opts: config.Train{Optimizer: "sgd", LearningRate: 3, BatchSize: 50, Epochs: 20, Seed: 1,
			Checkpoint:    &config.Checkpoint{Monitor: "val_loss"},
			EarlyStopping: &config.EarlyStopping{Monitor: "val_loss", Patience: 3},
			ReduceLR:      &config.ReduceLR{Monitor: "val_loss", Factor: 0.5, Patience: 1, MinLR: 0.1}},
		Save: func(*history.History) error { saves++; return nil }}
	h, err := f.Fit(trainSet, val)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Records) == 20 {
		t.Errorf("early stopping never fired in 20 epochs: %v", h.Records)
	}
	if saves == 0 || saves > len(h.Records) {
		t.Errorf("%d saves over %d epochs", saves, len(h.Records))
	}
	if h.Records[len(h.Records)-1].Values["lr"] >= 3 {
		t.Errorf("learning rate never reduced: %v", h.Records)
	}
}
