package mapping

import (
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/tfrun/tfrun/config"
	"github.com/tfrun/tfrun/train"

	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/infer"
	"github.com/tfrun/tfrun/models"
	"github.com/tfrun/tfrun/tfgraph/engine"
)

// trainedUNet trains a small U-Net (depth 2, so windows align with its
// pooling every 4 pixels) for a few dozen steps to map brightness terciles
// of real image chips, and returns runners of its weights for each input
// size asked. A trained net, unlike a random one, gives a map with
// structure and classes that do not tie.
func trainedUNet(t *testing.T, src *memSource, sizes ...int) []*infer.Runner {
	t.Helper()
	const chip, chips, steps = 64, 8, 40
	m, err := models.FromZooWith("unet", []int{chip, chip, 3}, 3, map[string]any{"base": 4, "depth": 2, "dropout": 0.0})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	m.Init(ctx, 5)
	backend, err := engine.New(engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(backend.Finalize)
	x := make([]float32, 0, chips*chip*chip*3)
	for i := range chips {
		part, err := src.ReadWindow(i*chip, (i*37)%(src.info.Height-chip), chip, chip)
		if err != nil {
			t.Fatal(err)
		}
		x = append(x, part...)
	}
	bright := make([]float32, len(x)/3)
	for i := range bright {
		bright[i] = x[3*i] + x[3*i+1] + x[3*i+2]
	}
	sorted := slices.Sorted(slices.Values(bright))
	lo, hi := sorted[len(sorted)/3], sorted[2*len(sorted)/3]
	y := make([]int32, len(bright))
	for i, b := range bright {
		y[i] = int32(min(b/lo, 1)) + int32(min(b/hi, 1))
	}
	for i := range x {
		x[i] /= 255
	}
	f := &train.Fitter{Backend: backend, Model: m, Ctx: ctx, Opts: config.Train{Optimizer: "adam", LearningRate: 0.01}}
	xt := tensors.FromFlatDataAndDimensions(x, chips, chip, chip, 3)
	yt := tensors.FromFlatDataAndDimensions(y, chips, chip, chip)
	for range steps {
		if _, _, err := f.Step(xt, yt); err != nil {
			t.Fatal(err)
		}
	}
	spec, err := models.SpecOf(m)
	if err != nil {
		t.Fatal(err)
	}
	var runners []*infer.Runner
	for _, n := range sizes {
		spec.Input = []int{n, n, 3}
		sized, err := spec.Build()
		if err != nil {
			t.Fatal(err)
		}
		r, err := infer.NewRunner(backend, sized, ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		runners = append(runners, r)
	}
	return runners
}

func labelsOf(t *testing.T, src Source, p Predictor, m ModelInfo, opt Options) []int32 {
	t.Helper()
	_, strips := collect(t, src, p, m, opt)
	var out []int32
	for _, s := range strips {
		out = append(out, s.Labels()...)
	}
	return out
}

// TestSeams predicts a 256×256 part of a real image whole (one 320-pixel
// window, reflected 32 pixels out at the sheet's edges as every window is)
// and in 128-pixel windows overlapping by 64: the classes must agree on
// ≥ 99.9% of pixels with gaussian blending, and on every pixel away from
// the sheet's edges with center blending, whose 32-pixel margins cover the
// U-Net's receptive field.
func TestSeams(t *testing.T) {
	cog := readShared(t, "rasterio/cogeo.tif")
	src := crop(t, cog, 384, 320, 256, 256)
	const size, win, overlap = 256, 128, 64
	r := trainedUNet(t, cog, size+overlap, win)
	whole, windowed := r[0], r[1]
	info := func(n int) ModelInfo {
		return ModelInfo{Input: []int{n, n, 3}, Output: []int{n, n, 3}, Activation: "softmax", Scale: 255}
	}
	ref := labelsOf(t, src, whole, info(size+overlap), Options{Overlap: overlap, Blend: Center, Batch: 1})
	var counts [3]int
	for _, c := range ref {
		counts[c]++
	}
	// Seams can only show where the map varies: two classes must each
	// cover a good part of it.
	if slices.Sorted(slices.Values(counts[:]))[1] < len(ref)/20 {
		t.Fatalf("class counts %v: the map is too uniform for the test to mean anything", counts)
	}
	for _, blend := range Blends {
		got := labelsOf(t, src, windowed, info(win), Options{Overlap: overlap, Blend: blend, Batch: 4})
		same, inner, innerSame := 0, 0, 0
		for i := range ref {
			x, y := i%size, i/size
			away := x >= overlap && y >= overlap && x < size-overlap && y < size-overlap
			if away {
				inner++
			}
			if got[i] == ref[i] {
				same++
				if away {
					innerSame++
				}
			}
		}
		frac := float64(same) / float64(len(ref))
		t.Logf("%s: %.4f%% of pixels agree, %d of %d away from the edges", blend, 100*frac, innerSame, inner)
		switch blend {
		case Gaussian:
			if frac < 0.999 {
				t.Errorf("gaussian: %.4f%% of pixels agree with the whole prediction, want ≥ 99.9%%", 100*frac)
			}
		case Center:
			if innerSame != inner {
				t.Errorf("center: %d of %d pixels away from the edges differ from the whole prediction", inner-innerSame, inner)
			}
		}
	}
}
