package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tfrun/tfrun/raster"
)

// landsat is the 6-band Landsat 7 scene of Debian's r-cran-stars, kept in
// testdata (see testdata/landsat/SOURCE.md).
const landsat = "../../testdata/landsat/L7_ETMs.tif"

// landCover codes each pixel of the Landsat scene by spectral rules, a
// reference any 6-band model can learn: 1 water (near infrared, band 4,
// below 20), 2 vegetation (NDVI of bands 4 and 3 above 0.2), 3 the rest
// (built-up and bare ground). It writes them on the scene's grid.
func landCover(t *testing.T, dir string) string {
	t.Helper()
	info, px, err := raster.ReadAll(landsat)
	if err != nil {
		t.Fatal(err)
	}
	if info.Bands != 6 {
		t.Fatalf("%s has %d bands, want 6", landsat, info.Bands)
	}
	labels := make([]float32, info.Width*info.Height)
	for i := range labels {
		red, nir := px[i*6+2], px[i*6+3]
		switch {
		case nir < 20:
			labels[i] = 1
		case (nir-red)/(nir+red) > 0.2:
			labels[i] = 2
		default:
			labels[i] = 3
		}
	}
	path := filepath.Join(dir, "landcover.tif")
	w, err := raster.Create(path, info.Grid(), 1, "Byte")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteWindow(0, 0, info.Width, info.Height, labels); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDeepLabSixBands trains a narrow DeepLabV3+ on the north 240 rows of
// the 6-band Landsat scene, whose first convolution takes the 6 bands, and
// maps the 112 rows south of them: the map must beat the majority class by
// a wide margin on pixels the model never saw. (A west/east split fails for
// want of data, not of a model: the sea lies east, 1.8% of the west's
// pixels are water against 43% of the east's.)
func TestDeepLabSixBands(t *testing.T) {
	dir := t.TempDir()
	labels := landCover(t, dir)
	cfg := filepath.Join(dir, "landsat.yaml")
	err := os.WriteFile(cfg, []byte(`
model: {name: landsat, zoo: deeplab, input: [64, 64, 6], classes: 3, options: {backbone: vgg16_bn, width: 0.25}}
data:
  scene:
    image: `+landsat+`
    labels: `+labels+`
    classes: {1: water, 2: vegetation, 3: other}
    scale: 255
    window: 64
    stride: 16
    region: {rows: [0, 240]}
    split: {validation: 0.2, block: 64}
train: {optimizer: adam, learning_rate: 0.005, loss: ce, batch_size: 8, epochs: 5, seed: 1, bn_recalibration: 8}
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "model")
	if r := run(t, nil, "train", "--config", cfg, "--out", model, "--quiet"); r.code != 0 {
		t.Fatalf("train failed: %s", r.stderr)
	}
	var ev rasterEval
	runJSON(t, &ev, "eval", "--model", model, "--raster", landsat, "--reference", labels, "--rows", "240:352", "--json")
	var majority int64
	for _, c := range ev.Classes {
		majority = max(majority, c.Support)
	}
	share := float64(majority) / float64(ev.N)
	t.Logf("south rows: OA %.3f, kappa %.3f, mIoU %.3f (majority class %.3f)", ev.OverallAccuracy, ev.Kappa, ev.MIoU, share)
	if ev.OverallAccuracy < share+0.15 || ev.Kappa < 0.5 {
		t.Errorf("OA %.3f, kappa %.3f on the south rows; want OA ≥ the majority share %.3f + 0.15 and kappa ≥ 0.5", ev.OverallAccuracy, ev.Kappa, share)
	}
	// A 3-band raster for the 6-band model.
	rgb := "../../../shared/data/rasterio/RGB.byte.tif"
	if _, err := os.Stat(rgb); err == nil {
		wantFailure(t, run(t, nil, "eval", "--model", model, "--raster", rgb, "--reference", labels), rgb, "3 bands", "6-band")
	}
}
