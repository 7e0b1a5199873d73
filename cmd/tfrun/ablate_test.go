package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestSplitList(t *testing.T) {
	for in, want := range map[string][]string{
		"resnet50, mobilenetv2,,xception": {"resnet50", "mobilenetv2", "xception"},
		"[64,64,3],[32,32,3]":             {"[64,64,3]", "[32,32,3]"},
		"{a: 1, b: 2},x":                  {"{a: 1, b: 2}", "x"},
		" ":                               nil,
	} {
		if got := splitList(in); !slices.Equal(got, want) {
			t.Errorf("splitList(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSetKeepsCommas: a --set value may be a YAML list, so commas must not
// split the flag (urfave/cli's default) before the config sees it.
func TestSetKeepsCommas(t *testing.T) {
	r := run(t, nil, "train", "--quiet", "--config", "../../configs/mnist_mlp.yaml", "--out", t.TempDir(),
		"--set", "model.input=[14,56,1]", "--set", "data.limit=64")
	// The MNIST digits do not fit the new shape: the refusal shows that
	// the whole list reached the model.
	if r.code != 2 || !strings.Contains(r.stderr, "the model takes [14 56 1]") {
		t.Errorf("exit %d, stderr %q: want the model's input [14 56 1] refused", r.code, r.stderr)
	}
}

func TestVariants(t *testing.T) {
	vs := variants([]axis{
		{label: "backbone", key: "model.options.backbone", values: []string{"resnet50", "xception"}},
		{label: "loss", key: "train.loss", values: []string{"ce", "bce+dice"}},
	})
	var names []string
	for _, v := range vs {
		names = append(names, v.name)
	}
	// First axis slowest; "+" is kept readable in folder names.
	if want := []string{"resnet50_ce", "resnet50_bcepdice", "xception_ce", "xception_bcepdice"}; !slices.Equal(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
	// ce is the course's name for cross-entropy.
	if want := []string{"model.options.backbone=xception", "train.loss=crossentropy"}; !slices.Equal(vs[2].sets, want) {
		t.Errorf("sets %v, want %v", vs[2].sets, want)
	}
	if got := folderName("[64,64,3]"); got != "-64-64-3-" {
		t.Errorf("folderName = %q", got)
	}
}

// ablateRows runs a quiet ablation into out and returns ablation.csv.
func ablateRows(t *testing.T, cfg, out string, args ...string) ([][]string, result) {
	t.Helper()
	r := run(t, nil, append([]string{"ablate", "--config", cfg, "--out", out, "--quiet"}, args...)...)
	if r.code != 0 {
		t.Fatalf("ablate failed: %s", r.stderr)
	}
	f, err := os.Open(filepath.Join(out, "ablation.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows, r
}

// TestAblateLosses compares two losses on a tiny U-Net over a few sea-ice
// pairs: both runs train with the same seed and budget, the table has a
// row per loss with per-class F1, and the files are written.
func TestAblateLosses(t *testing.T) {
	root := "../../../shared/data/sea_ice"
	if _, err := os.Stat(root); err != nil {
		t.Skipf("the course's sea-ice data is absent (%v)", err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "base.yaml")
	os.WriteFile(cfg, []byte(`
model: {name: tiny, zoo: unet, input: [32, 32, 3], classes: 1, options: {base: 4, depth: 2}}
data:
  folders: {root: `+root+`, size: [32, 32], channels: 3, scale: 255, split: {limit: 20, shuffle: true, test: 0.3}, seed: 1}
train: {optimizer: adam, learning_rate: 0.01, batch_size: 7, epochs: 2, seed: 1}
`), 0o644)
	out := filepath.Join(dir, "ablation")
	rows, r := ablateRows(t, cfg, out, "--losses", "ce,dice", "--set", "train.epochs=1")
	wantHeader := []string{"variant", "loss", "params", "epochs", "s_per_epoch", "overall_accuracy", "kappa", "miou", "f1_0", "f1_1"}
	if !slices.Equal(rows[0], wantHeader) || len(rows) != 3 {
		t.Fatalf("ablation.csv:\n%v\nwant header %v and two rows", rows, wantHeader)
	}
	for i, loss := range []string{"ce", "dice"} {
		row := rows[i+1]
		if row[0] != loss || row[1] != loss {
			t.Errorf("row %d: %v, want variant %s", i, row, loss)
		}
		// The same model and budget for both: equal parameter counts, one
		// epoch each (--set reaches every variant).
		if row[2] != rows[1][2] || row[3] != "1" {
			t.Errorf("row %s: params %s epochs %s, want %s and 1", loss, row[2], row[3], rows[1][2])
		}
		for _, cell := range row[5:] {
			if v, err := strconv.ParseFloat(cell, 64); err != nil || v < -1 || v > 1 {
				t.Errorf("row %s: score %q out of range", loss, cell)
			}
		}
		for _, f := range []string{"model.yaml", "assessment/report.md", "assessment/confusion.png"} {
			if _, err := os.Stat(filepath.Join(out, loss, f)); err != nil {
				t.Errorf("variant %s has no %s: %v", loss, f, err)
			}
		}
	}
	// Same start, different losses: the trained weights must differ.
	ce, err1 := os.ReadFile(filepath.Join(out, "ce", "weights.npz"))
	dice, err2 := os.ReadFile(filepath.Join(out, "dice", "weights.npz"))
	if err1 != nil || err2 != nil || string(ce) == string(dice) {
		t.Errorf("the ce and dice runs saved identical weights (%v, %v): were they trained apart?", err1, err2)
	}
	md, err := os.ReadFile(filepath.Join(out, "ablation.md"))
	if err != nil || !strings.Contains(string(md), "| variant | loss | params |") {
		t.Errorf("ablation.md: %q, %v", md, err)
	}
	// The printed table is the same rows, aligned.
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 3 || !strings.HasPrefix(lines[1], "ce ") {
		t.Errorf("stdout table:\n%s", r.stdout)
	}

	// Bad inputs fail before anything trains.
	bad := filepath.Join(dir, "bad")
	wantFailure(t, run(t, nil, "ablate", "--config", cfg, "--out", bad, "--losses", "ce,nosuchloss"), "nosuchloss", cfg)
	wantFailure(t, run(t, nil, "ablate", "--config", cfg, "--out", bad, "--set", "data.folders.split.test=0", "--losses", "ce"), "test data", cfg)
	wantFailure(t, run(t, nil, "ablate", "--config", cfg, "--out", bad), "--backbones")
	wantFailure(t, run(t, nil, "ablate", "--config", cfg, "--out", bad, "--vary", "model.options.base"), "KEY=V1,V2")
	if _, err := os.Stat(bad); err == nil {
		t.Error("a failed ablation created its output folder")
	}
}

// TestAblateScene varies the U-Net width on a scene config: each variant
// trains on the west 60 columns and is scored on its map of the east 40,
// the scene's own image and label raster standing in for --raster and
// --reference.
func TestAblateScene(t *testing.T) {
	dir := t.TempDir()
	cfg, scene, _ := eoScene(t, dir)
	rows, _ := ablateRows(t, cfg, filepath.Join(dir, "ablation"), "--vary", "model.options.base=4,6", "--columns", "60:100")
	// No --losses: no per-class F1 columns.
	if want := []string{"variant", "model.options.base", "params", "epochs", "s_per_epoch", "overall_accuracy", "kappa", "miou"}; !slices.Equal(rows[0], want) || len(rows) != 3 {
		t.Fatalf("ablation.csv %v, want header %v and two rows", rows, want)
	}
	// A wider net has more parameters.
	p4, _ := strconv.Atoi(rows[1][2])
	p6, _ := strconv.Atoi(rows[2][2])
	if rows[1][0] != "4" || rows[2][0] != "6" || !(p6 > p4 && p4 > 0) {
		t.Errorf("rows %v: want variants 4 and 6 with growing parameter counts", rows[1:])
	}
	// With the GeoPackage the label raster was made from, the scene's labels
	// are still the reference (rasterized), and the same seed and labels
	// must score the same.
	gpkg, _ := ablateRows(t, cfg, filepath.Join(dir, "ablation_gpkg"), "--vary", "model.options.base=4", "--columns", "60:100",
		"--set", "data.scene.labels="+eolearn+"lulc.gpkg", "--set", "data.scene.attr=LULC_ID")
	if len(gpkg) != 2 || !slices.Equal(gpkg[1][5:], rows[1][5:]) {
		t.Errorf("scored against the GeoPackage %v, against the raster %v; want the same OA, kappa and mIoU", gpkg[1:], rows[1])
	}
	// The scene's labels are the reference, so a region past the scene is
	// refused before anything trains.
	bad := filepath.Join(dir, "bad")
	wantFailure(t, run(t, nil, "ablate", "--config", cfg, "--out", bad, "--vary", "model.options.base=4", "--columns", "60:200"), "not inside", scene)
}
