package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/tfrun/tfrun/raster"
	"github.com/tfrun/tfrun/scenes"
	"gopkg.in/yaml.v3"
)

const (
	jasperCube   = "../../../shared/data/jasper_ridge/jasper_ridge.img"
	jasperLabels = "../../../shared/data/jasper_ridge/labels.tif"
)

// numpyPCA is testdata/pca/jasper_ridge.json, made by
// scripts/pca_reference.py with numpy from the raw ENVI file.
type numpyPCA struct {
	Mean                   []float64   `json:"mean"`
	Components             [][]float64 `json:"components"`
	ExplainedVarianceRatio []float64   `json:"explained_variance_ratio"`
}

// TestPCAJasperMatchesNumpy runs `tfrun pca` on the whole Jasper Ridge cube
// and compares the saved transform and the written components with numpy's.
func TestPCAJasperMatchesNumpy(t *testing.T) {
	needSharedPath(t, jasperCube)
	var ref numpyPCA
	b, err := os.ReadFile("../../testdata/pca/jasper_ridge.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out, saved := filepath.Join(dir, "pc.tif"), filepath.Join(dir, "pca.yaml")
	r := run(t, nil, "pca", "--input", jasperCube, "--components", "6", "--out", out, "--save-transform", saved)
	if r.code != 0 {
		t.Fatalf("pca: exit %d: %s", r.code, r.stderr)
	}
	t.Logf("tfrun pca on Jasper Ridge:\n%s", r.stdout)
	text, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	var prep scenes.Prep
	if err := yaml.Unmarshal(text, &prep); err != nil {
		t.Fatal(err)
	}
	tr := prep.PCA
	if tr.Samples != 10000 {
		t.Errorf("fitted on %d pixels, want all 10000", tr.Samples)
	}
	signs := make([]float64, 6)
	var worstRatio, worstLoading float64
	for j := range 6 {
		worstRatio = math.Max(worstRatio, math.Abs(tr.ExplainedVarianceRatio[j]-ref.ExplainedVarianceRatio[j]))
		if d := math.Abs(tr.ExplainedVarianceRatio[j] - ref.ExplainedVarianceRatio[j]); d > 1e-4 {
			t.Errorf("component %d explains %.6f, numpy %.6f", j+1, tr.ExplainedVarianceRatio[j], ref.ExplainedVarianceRatio[j])
		}
		var dot float64
		for i, v := range tr.Components[j] {
			dot += v * ref.Components[j][i]
		}
		signs[j] = math.Copysign(1, dot)
		for i, v := range tr.Components[j] {
			d := math.Abs(v - signs[j]*ref.Components[j][i])
			worstLoading = math.Max(worstLoading, d)
			if d > 1e-6 {
				t.Fatalf("component %d loading %d = %g, numpy %g (up to sign)", j+1, i+1, v, ref.Components[j][i])
			}
		}
	}
	t.Logf("vs numpy: worst ratio difference %.3g, worst loading difference %.3g", worstRatio, worstLoading)
	// Sensible for a scene of four materials: the first two components
	// carry nearly all the variance, six more than 99.8%.
	var cum float64
	for _, v := range tr.ExplainedVarianceRatio {
		cum += v
	}
	if tr.ExplainedVarianceRatio[0] < 0.8 || tr.ExplainedVarianceRatio[0]+tr.ExplainedVarianceRatio[1] < 0.98 || cum < 0.998 {
		t.Errorf("explained variance ratios %v", tr.ExplainedVarianceRatio)
	}

	// The written components are numpy's projection of the cube, on its grid.
	_, cube, err := raster.ReadAll(jasperCube)
	if err != nil {
		t.Fatal(err)
	}
	info, pcs, err := raster.ReadAll(out)
	if err != nil {
		t.Fatal(err)
	}
	if info.Width != 100 || info.Height != 100 || info.Bands != 6 || info.DataType != "Float32" {
		t.Fatalf("output %d×%d×%d %s, want 100×100×6 Float32", info.Width, info.Height, info.Bands, info.DataType)
	}
	var worst float64
	for p := range 100 * 100 {
		for j := range 6 {
			var s float64
			for i, w := range ref.Components[j] {
				s += (float64(cube[p*198+i]) - ref.Mean[i]) * w
			}
			d := math.Abs(float64(pcs[p*6+j]) - signs[j]*s)
			worst = math.Max(worst, d)
		}
	}
	t.Logf("written components vs numpy's projection: worst difference %.3g", worst)
	// Scores reach 4·10⁴; float32 storage keeps about 7 digits.
	if worst > 0.05 {
		t.Errorf("written components differ from numpy's projection by up to %g", worst)
	}

	// Applying the saved transform writes the same file content.
	again := filepath.Join(dir, "again.tif")
	if r := run(t, nil, "pca", "--input", jasperCube, "--transform", saved, "--out", again); r.code != 0 {
		t.Fatalf("pca --transform: exit %d: %s", r.code, r.stderr)
	}
	_, pcs2, err := raster.ReadAll(again)
	if err != nil {
		t.Fatal(err)
	}
	for i := range pcs {
		if pcs[i] != pcs2[i] {
			t.Fatalf("value %d: %g with the saved transform, %g when fitted", i, pcs2[i], pcs[i])
		}
	}
}

func TestPCABadInputs(t *testing.T) {
	needSharedPath(t, jasperCube)
	dir := t.TempDir()
	saved := filepath.Join(dir, "pca.yaml")
	if r := run(t, nil, "pca", "--input", jasperCube, "--components", "3", "--out", filepath.Join(dir, "pc.tif"), "--save-transform", saved); r.code != 0 {
		t.Fatalf("pca: exit %d: %s", r.code, r.stderr)
	}
	// A 197-band cube given to a transform fitted on 198 bands.
	wrong := filepath.Join(dir, "cube197.tif")
	w, err := raster.Create(wrong, raster.Grid{Width: 4, Height: 3, GeoTransform: [6]float64{0, 1, 0, 0, 0, -1}}, 197, "UInt16")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteWindow(0, 0, 4, 3, make([]float32, 4*3*197)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.tif")
	wantFailure(t, run(t, nil, "pca", "--input", wrong, "--transform", saved, "--out", out),
		"cube197.tif has 197 bands", "pca.yaml was fitted on a 198-band raster")
	// An ENVI cube without its header.
	bare := filepath.Join(dir, "bare.img")
	b, err := os.ReadFile(jasperCube)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(bare, b, 0o644)
	wantFailure(t, run(t, nil, "pca", "--input", bare, "--out", out), "bare.img", "no ENVI header", "bare.hdr")
	wantFailure(t, run(t, nil, "pca", "--input", jasperCube, "--components", "199", "--out", out), "199 components asked of 198 bands")
	wantFailure(t, run(t, nil, "pca", "--input", jasperCube, "--bands", "1-10,250", "--out", out), "band 250 does not exist")
	wantFailure(t, run(t, nil, "pca", "--input", jasperCube, "--transform", saved, "--components", "4", "--out", out), "--components", "give one or the other")
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a failed run left %s", out)
	}
}
