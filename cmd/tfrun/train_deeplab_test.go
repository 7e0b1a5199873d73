package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tfrun/tfrun/modeldir"
	"github.com/tfrun/tfrun/models"
)

// runAtRoot runs tfrun from the repository root, where the configs' data
// paths (../shared/data/...) and `train deeplab`'s default config resolve.
func runAtRoot(t *testing.T, args ...string) result {
	t.Helper()
	return runIn(t, "../..", nil, args...)
}

// TestTrainDeepLab trains the default config (configs/spacenet_deeplab.yaml)
// briefly, on a corner of the scene with a narrow network, with the
// backbone and decoder from the flags.
func TestTrainDeepLab(t *testing.T) {
	if _, err := os.Stat("../../../shared/data/spacenet_buildings/image.tif"); err != nil {
		t.Skipf("the SpaceNet data is absent (%v)", err)
	}
	out := t.TempDir()
	r := runAtRoot(t, "train", "deeplab", "--backbone", "vgg16", "--decoder", "v3", "--out", out, "--quiet",
		"--set", "model.options.width=0.125", "--set", "model.input=[64,64,1]", "--set", "data.scene.window=64",
		"--set", "data.scene.stride=32", "--set", "data.scene.region.rows=[0,128]", "--set", "data.scene.region.cols=[0,128]",
		"--set", "data.scene.split.block=64", "--set", "train.epochs=1")
	if r.code != 0 {
		t.Fatalf("train deeplab failed: %s", r.stderr)
	}
	for _, f := range []string{"model.yaml", "weights.npz", "history.csv"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	// The saved model is the flags' DeepLabV3 on VGG16, and records the
	// scene's fitted preprocessing.
	ld, err := modeldir.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := models.FromZooWith("deeplab", []int{64, 64, 1}, 2, map[string]any{"backbone": "vgg16", "decoder": "v3", "width": 0.125})
	if err != nil {
		t.Fatal(err)
	}
	if got := ld.Model.ParamCount(); got != want.ParamCount() {
		t.Errorf("saved model has %d parameters, deeplab v3 on vgg16 %d", got, want.ParamCount())
	}
	if p := ld.Meta.Raster; p == nil || p.InBands() != 1 {
		t.Errorf("the saved model records raster preprocessing %+v, want one for the 1-band scene", p)
	}
}

func TestTrainDeepLabErrors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "never")
	wantFailure(t, runAtRoot(t, "train", "deeplab", "--backbone", "resnet18", "--out", out),
		"configs/spacenet_deeplab.yaml", "backbone", "mobilenetv2 resnet50 vgg16 vgg16_bn xception", "resnet18")
	wantFailure(t, runAtRoot(t, "train", "deeplab", "--config", "configs/seaice_unet.yaml", "--out", out),
		"configs/seaice_unet.yaml", "model.zoo: deeplab")
	wantFailure(t, runAtRoot(t, "train", "deeplab", "--output-stride", "32", "--out", out), "output_stride must be 8 or 16")
	wantFailure(t, runAtRoot(t, "train", "--out", out), "--config")
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed run created its output folder")
	}
}
