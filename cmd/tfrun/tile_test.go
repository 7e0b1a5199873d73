package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfrun/tfrun/modeldir"
)

const spacenet = "../../../shared/data/spacenet_buildings/"

func needSpacenet(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(spacenet + "image.tif"); err != nil {
		t.Skipf("the SpaceNet data is absent (%v)", err)
	}
}

func TestTileCommand(t *testing.T) {
	needSpacenet(t)
	out := filepath.Join(t.TempDir(), "tiles")
	args := []string{"tile", "-q", "--image", spacenet + "image.tif", "--labels", spacenet + "mask.tif", "--classes", "0:background,255:building",
		"--size", "256", "--stride", "128", "--cols", "0,450", "--clip", "0.01,99.99", "--val-fraction", "0.25", "--block", "256", "--out", out}
	r := run(t, nil, args...)
	if r.code != 0 {
		t.Fatalf("tile failed: %s", r.stderr)
	}
	if !strings.Contains(r.stdout, "9 training and 6 validation chips of 256×256×1") || !strings.Contains(r.stdout, "1 building (value 255): 43522 px") {
		t.Errorf("summary %q", r.stdout)
	}
	for _, p := range []string{"index.csv", "prep.yaml", "train/images/r00000_c00000.tif", "train/labels/r00000_c00194.tif", "val/images/r00644_c00194.tif"} {
		if _, err := os.Stat(filepath.Join(out, p)); err != nil {
			t.Error(err)
		}
	}
	wantFailure(t, run(t, nil, args...), out, "already holds tiles")

	bad := filepath.Join(t.TempDir(), "bad")
	wantFailure(t, run(t, nil, "tile", "--image", spacenet+"image.tif", "--labels", spacenet+"mask.tif", "--size", "64", "--stride", "100", "--out", bad),
		"image.tif", "stride 100 is larger than the window 64")
	wantFailure(t, run(t, nil, "tile", "--image", spacenet+"image.tif", "--labels", spacenet+"mask.tif", "--clip", "1", "--out", bad), "--clip", "2 comma-separated")
	if _, err := os.Stat(bad); err == nil {
		t.Error("a failed tile run left its output folder")
	}
}

// A scene config trains from chips read on the fly, and the saved model
// records what was fitted, so predict and eval can repeat it.
func TestTrainOnScene(t *testing.T) {
	needSpacenet(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sn.yaml")
	os.WriteFile(cfg, []byte(`
model: {name: sn, zoo: unet, input: [64, 64, 1], classes: 2, options: {base: 4, depth: 2}}
data:
  scene:
    image: `+spacenet+`image.tif
    labels: `+spacenet+`mask.tif
    classes: {0: background, 255: building}
    window: 64
    stride: 64
    region: {cols: [0, 450], rows: [0, 300]}
    split: {validation: 0.3, block: 128}
    clip: [0.01, 99.99]
    scale: 3500
    copies: [rot90]
train: {optimizer: adam, learning_rate: 0.01, batch_size: 8, epochs: 1, seed: 1}
`), 0o644)
	model := filepath.Join(dir, "model")
	r := run(t, nil, "train", "--config", cfg, "--out", model)
	if r.code != 0 {
		t.Fatalf("train failed: %s", r.stderr)
	}
	if !strings.Contains(r.stderr, "validation chips") && !strings.Contains(r.stderr, "validation, ") {
		t.Errorf("no scene summary in %q", r.stderr)
	}
	ld, err := modeldir.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	p := ld.Meta.Raster
	if p == nil || p.InBands() != 1 || p.Clip == nil || p.Scale != 3500 || p.Labels.Names[1] != "building" || p.Labels.Values[1] != 255 {
		t.Fatalf("saved raster preprocessing %+v", p)
	}
	wantFailure(t, run(t, nil, "train", "--config", cfg, "--out", model, "--set", "data.scene.window=500"), "image.tif", "window 500 is larger than the region")
}
