package models_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/config"
	"github.com/tfrun/tfrun/models"
	"github.com/tfrun/tfrun/tfgraph/engine"
	"github.com/tfrun/tfrun/train"
)

// TestZooModelsLearn takes a few Adam steps of each new zoo model, at a
// small width, on one batch whose labels follow the first band, and
// checks that the loss falls.
func TestZooModelsLearn(t *testing.T) {
	backend, err := engine.New(engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Finalize()
	// At output stride 16, DeepLab's maps are 2×2 here: the bilinear
	// up-sampling from 2 pixels is differentiated too.
	const batch, size, bands, classes = 2, 32, 4, 3
	rng := rand.New(rand.NewPCG(3, 5))
	xs := make([]float32, batch*size*size*bands)
	ys := make([]int32, batch*size*size)
	for i := range ys {
		for b := range bands {
			xs[i*bands+b] = rng.Float32()
		}
		ys[i] = int32(xs[i*bands] * classes)
	}
	x := tensors.FromFlatDataAndDimensions(xs, batch, size, size, bands)
	y := tensors.FromFlatDataAndDimensions(ys, batch, size, size)
	for _, tc := range []struct {
		zoo  string
		opts map[string]any
	}{
		{"fcn8", map[string]any{"width": 0.125, "batchnorm": true}},
		{"unet-vgg", map[string]any{"width": 0.125, "batchnorm": true}},
		{"unet-mini", map[string]any{"base": 8}},
		{"cbrrnet", map[string]any{"base": 8}},
		{"deeplabv3plus", map[string]any{"backbone": "resnet50", "width": 0.125}},
		{"deeplabv3", map[string]any{"backbone": "vgg16", "width": 0.125}},
		{"deeplabv3plus", map[string]any{"backbone": "vgg16_bn", "width": 0.125}},
		{"deeplabv3plus", map[string]any{"backbone": "mobilenetv2", "width": 0.125}},
		{"deeplabv3plus", map[string]any{"backbone": "xception", "width": 0.125}},
		{"deeplab", map[string]any{"backbone": "xception", "decoder": "v3", "output_stride": 8, "width": 0.125}},
	} {
		m, err := models.FromZooWith(tc.zoo, []int{size, size, bands}, classes, tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.New()
		m.Init(ctx, 1)
		opts := config.Defaults().Train
		// Plain VGG (no batch norm) overshoots at 0.01 in a few steps.
		opts.LearningRate = 0.003
		f := &train.Fitter{Backend: backend, Model: m, Ctx: ctx, Opts: opts}
		var losses []float64
		for range 8 {
			loss, _, err := f.Step(x, y)
			if err != nil {
				t.Fatalf("%s %v: %v", tc.zoo, tc.opts, err)
			}
			losses = append(losses, loss)
		}
		// A few steps are noisy (dropout, small batches): the best of the
		// last three must be below the start.
		if slices.Min(losses[len(losses)-3:]) >= losses[0] {
			t.Errorf("%s %v: the loss did not fall: %.4f", tc.zoo, tc.opts, losses)
		}
	}
}
