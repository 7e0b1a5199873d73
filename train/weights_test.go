package train

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/config"
	"github.com/tfrun/tfrun/datasets"
	"github.com/tfrun/tfrun/infer"
	"github.com/tfrun/tfrun/models"
	"github.com/tfrun/tfrun/tfgraph/adapter"
)

func TestFrequencyWeights(t *testing.T) {
	for _, tc := range []struct {
		counts []int64
		method string
		want   []float64
	}{
		// Present counts 10, 40, 100: median 40; the absent class weighs 1.
		{[]int64{10, 100, 40, 0}, "auto", []float64{4, 0.4, 1, 1}},
		{[]int64{10, 30}, "median", []float64{2, 20.0 / 30}},
		// N/(C·n): 150/(4·n).
		{[]int64{10, 100, 40, 0}, "inverse", []float64{3.75, 0.375, 0.9375, 1}},
	} {
		got, err := FrequencyWeights(tc.counts, tc.method)
		if err != nil {
			t.Fatal(err)
		}
		for c := range tc.want {
			if math.Abs(got[c]-tc.want[c]) > 1e-12 {
				t.Errorf("%s of %v = %v, want %v", tc.method, tc.counts, got, tc.want)
				break
			}
		}
	}
	if _, err := FrequencyWeights([]int64{0, 0}, "auto"); err == nil || !strings.Contains(err.Error(), "no labelled pixel") {
		t.Errorf("no labels: %v", err)
	}
}

func TestClassHistogram(t *testing.T) {
	src := &datasets.Arrays{X: make([]float32, 7), Y: []int32{0, 2, -1, 2, 1, 2, -1}, Shape: []int{1}, N: 7}
	got, err := ClassHistogram(src, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != 1 || got[1] != 1 || got[2] != 3 {
		t.Errorf("histogram %v, want [1 1 3] (ignored labels skipped)", got)
	}
	if _, err := ClassHistogram(src, 2, 4); err == nil || !strings.Contains(err.Error(), "hold class 2, the model has 2 classes") {
		t.Errorf("label beyond the classes: %v", err)
	}
}

// imbalanced is two overlapping Gaussian classes, the second 5% of the
// examples: plain cross-entropy learns to favour the first.
func imbalanced(seed uint64, n int) *datasets.Arrays {
	rng := rand.New(rand.NewPCG(seed, 3))
	a := &datasets.Arrays{Shape: []int{2}, N: n}
	for i := range n {
		y := int32(0)
		if i%20 == 0 {
			y = 1
		}
		a.X = append(a.X, float32(rng.NormFloat64()+1.6*float64(y)), float32(rng.NormFloat64()))
		a.Y = append(a.Y, y)
	}
	return a
}

// TestWeightedLossesRaiseRareRecall trains the same small network with
// each loss: the class-weighted ones must find more of the rare class.
func TestWeightedLossesRaiseRareRecall(t *testing.T) {
	backend, err := adapter.New("")
	if err != nil {
		t.Fatal(err)
	}
	trainSet, test := imbalanced(1, 2000), imbalanced(2, 2000)
	recall := map[string]float64{}
	for _, loss := range []string{"ce", "wce", "focal+dice"} {
		m, err := models.FromZoo("mlp", []int{2}, 2)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.New()
		m.Init(ctx, 3)
		var log strings.Builder
		opts := config.Train{Optimizer: "adam", LearningRate: 0.01, BatchSize: 100, Epochs: 8, Seed: 3, Loss: loss}
		if loss == "focal+dice" {
			opts.ClassWeights = &config.ClassWeights{Method: "inverse"}
		}
		f := &Fitter{Backend: backend, Model: m, Ctx: ctx, Opts: opts, Progress: &log}
		if _, err := f.Fit(trainSet, nil); err != nil {
			t.Fatal(err)
		}
		if loss != "ce" && !strings.Contains(log.String(), "class weights (") {
			t.Errorf("%s: no class weights reported:\n%s", loss, log.String())
		}
		r, err := infer.NewRunner(backend, m, ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		ev, err := r.Evaluate(test, 500)
		if err != nil {
			t.Fatal(err)
		}
		recall[loss] = ev.Confusion.PerClass()[1].Recall
		t.Logf("%-10s rare-class recall %.3f, accuracy %.3f", loss, recall[loss], ev.Confusion.Accuracy())
	}
	for _, loss := range []string{"wce", "focal+dice"} {
		if recall[loss] < recall["ce"]+0.2 {
			t.Errorf("rare-class recall %.3f with %s, %.3f with ce: weighting should raise it", recall[loss], loss, recall["ce"])
		}
	}
}

// TestIgnoredLabelsLeaveAccuracy: with half the labels ignored, training
// accuracy is over the labelled half (it would be at most 0.5 counted
// over all), like the validation accuracy.
func TestIgnoredLabelsLeaveAccuracy(t *testing.T) {
	backend, err := adapter.New("")
	if err != nil {
		t.Fatal(err)
	}
	data := imbalanced(5, 1000)
	for i := range data.Y {
		if i%2 == 1 {
			data.Y[i] = -1
		}
	}
	m, err := models.FromZoo("mlp", []int{2}, 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	m.Init(ctx, 3)
	f := &Fitter{Backend: backend, Model: m, Ctx: ctx, Opts: config.Train{Optimizer: "adam", LearningRate: 0.01, BatchSize: 100, Epochs: 3, Seed: 3}}
	h, err := f.Fit(data, data)
	if err != nil {
		t.Fatal(err)
	}
	last := h.Records[len(h.Records)-1].Values
	if last["accuracy"] < 0.9 || math.Abs(last["accuracy"]-last["val_accuracy"]) > 0.05 {
		t.Errorf("accuracy %.3f, val_accuracy %.3f on the same data: want both ≥ 0.9 and close", last["accuracy"], last["val_accuracy"])
	}
}
