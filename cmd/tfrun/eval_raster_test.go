package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfrun/tfrun/raster"
	rpt "github.com/tfrun/tfrun/report"
)

const eolearn = "../../../shared/data/eolearn_s2/"

// eoScene writes into dir a config that trains a tiny U-Net on the west
// 60 columns of the eo-learn scene, and skips the test without the data.
func eoScene(t *testing.T, dir string) (cfg, scene, lulc string) {
	t.Helper()
	scene, lulc = eolearn+"s2_l1c_scene0.tif", eolearn+"lulc.tif"
	if _, err := os.Stat(lulc); err != nil {
		t.Skipf("the eo-learn data is absent (%v)", err)
	}
	cfg = filepath.Join(dir, "eo.yaml")
	err := os.WriteFile(cfg, []byte(`
model: {name: eo, zoo: unet, input: [32, 32, 13], classes: 10, options: {base: 4, depth: 2}}
data:
  scene:
    image: `+scene+`
    labels: `+lulc+`
    classes: {1: cultivated, 2: forest, 3: grassland, 4: shrubland, 5: water, 6: wetlands, 7: tundra, 8: artificial, 9: bare, 10: snow}
    window: 32
    stride: 16
    region: {cols: [0, 60]}
train: {optimizer: adam, learning_rate: 0.01, batch_size: 8, epochs: 1, seed: 1}
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, scene, lulc
}

// TestEvalRaster trains a tiny U-Net on the west 60 columns of the
// eo-learn scene, then assesses its map of the east 40 against the LULC
// raster: the error matrix must hold exactly the labelled (non-nodata)
// reference pixels of the region.
func TestEvalRaster(t *testing.T) {
	dir := t.TempDir()
	cfg, scene, lulc := eoScene(t, dir)
	model := filepath.Join(dir, "model")
	if r := run(t, nil, "train", "--config", cfg, "--out", model, "--quiet"); r.code != 0 {
		t.Fatalf("train failed: %s", r.stderr)
	}

	// The labelled pixels of columns 60..99, counted here from the file.
	info, labels, err := raster.ReadAll(lulc)
	if err != nil {
		t.Fatal(err)
	}
	var labelled int64
	for y := range info.Height {
		for x := 60; x < 100; x++ {
			if labels[y*info.Width+x] != 0 {
				labelled++
			}
		}
	}

	reportDir := filepath.Join(dir, "report")
	var ev rasterEval
	r := runJSON(t, &ev, "eval", "--model", model, "--raster", scene, "--reference", lulc, "--columns", "60:100", "--json", "--report", reportDir)
	var sum int64
	for _, row := range ev.ConfusionMatrix {
		for _, v := range row {
			sum += v
		}
	}
	if sum != labelled || ev.N != labelled || ev.Labelled != labelled || ev.NoInput != 0 {
		t.Errorf("matrix sums to %d (n %d, reference_pixels %d, input_nodata %d), want the %d labelled pixels of the region",
			sum, ev.N, ev.Labelled, ev.NoInput, labelled)
	}
	if ev.Labelled+ev.Unlabelled != int64(40*info.Height) {
		t.Errorf("reference_pixels %d + unlabelled %d, want the region's %d pixels", ev.Labelled, ev.Unlabelled, 40*info.Height)
	}
	if len(ev.Classes) != 10 || ev.Classes[1].Name != "forest" || ev.Region != "columns 60:100, rows 0:101" {
		t.Errorf("classes %+v, region %q", ev.Classes, ev.Region)
	}
	var support int64
	for _, c := range ev.Classes {
		support += c.Support
	}
	if support != labelled || ev.OverallAccuracy < 0 || ev.OverallAccuracy > 1 {
		t.Errorf("supports sum to %d, OA %v", support, ev.OverallAccuracy)
	}
	for _, f := range []string{rpt.CSVFile, rpt.MarkdownFile, rpt.JSONFile, rpt.HeatmapFile} {
		if st, err := os.Stat(filepath.Join(reportDir, f)); err != nil || st.Size() == 0 {
			t.Errorf("report file %s: %v", f, err)
		}
	}
	saved, _ := os.ReadFile(filepath.Join(reportDir, rpt.JSONFile))
	if string(saved) != r.stdout {
		t.Errorf("report.json differs from the printed JSON")
	}
	md, _ := os.ReadFile(filepath.Join(reportDir, rpt.MarkdownFile))
	if !strings.Contains(string(md), "- reference: "+lulc) || !strings.Contains(string(md), "| forest |") {
		t.Errorf("report.md lacks the reference or the class names:\n%s", md)
	}

	// The same assessment against the GeoPackage the raster was made from:
	// rasterized onto the scene's grid, it must give the same matrix.
	gpkg := eolearn + "lulc.gpkg"
	var vev rasterEval
	runJSON(t, &vev, "eval", "--model", model, "--raster", scene, "--reference", gpkg, "--attr", "LULC_ID", "--columns", "60:100", "--json")
	if vm, _ := json.Marshal(vev.ConfusionMatrix); string(vm) != mustJSON(t, ev.ConfusionMatrix) || vev.Reference != gpkg {
		t.Errorf("vector reference %s gives matrix %s, want the raster's %s", vev.Reference, vm, mustJSON(t, ev.ConfusionMatrix))
	}
	wantFailure(t, run(t, nil, "eval", "--model", model, "--raster", scene, "--reference", gpkg, "--attr", "LULC"), gpkg, `no attribute "LULC"`, "LULC_ID")
	wantFailure(t, run(t, nil, "eval", "--model", model, "--raster", scene, "--reference", lulc, "--attr", "LULC_ID"), "vector references", lulc)

	// Bad inputs, each one line naming the files at fault.
	spacenet := "../../../shared/data/spacenet_buildings/"
	if _, err := os.Stat(spacenet + "image.tif"); err == nil {
		// A one-band raster in another CRS (UTM 16N against the scene's
		// 33N) as the reference.
		wantFailure(t, run(t, nil, "eval", "--model", model, "--raster", scene, "--reference", spacenet+"image.tif"),
			spacenet+"image.tif", scene, "UTM zone 16N", "UTM zone 33N")
		// A one-band raster for a model fitted on 13 bands.
		wantFailure(t, run(t, nil, "eval", "--model", model, "--raster", spacenet+"image.tif", "--reference", lulc),
			spacenet+"image.tif", "1 bands", "13-band")
	}
	shifted := filepath.Join(dir, "shifted.tif")
	g := info.Grid()
	g.GeoTransform[0] += 1000
	w, err := raster.Create(shifted, g, 1, "Byte", raster.NoData(0))
	if err != nil {
		t.Fatal(err)
	}
	w.WriteWindow(0, 0, g.Width, g.Height, labels)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wantFailure(t, run(t, nil, "eval", "--model", model, "--raster", scene, "--reference", shifted), shifted, scene, "covers x")
	wantFailure(t, run(t, nil, "eval", "--model", model, "--raster", scene), "--raster and --reference go together")
	wantFailure(t, run(t, nil, "eval", "--model", model, "--raster", scene, "--reference", lulc, "--columns", "90:120"), "not inside", scene)
	wantFailure(t, run(t, nil, "eval", "--model", model, "--raster", scene, "--reference", lulc, "--columns", "60"), "--columns")
	wantFailure(t, run(t, nil, "eval", "--model", model, "--data", "mnist:test", "--report", dir), "--report goes with --raster")
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
