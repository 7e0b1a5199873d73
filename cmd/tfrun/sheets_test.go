package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/mapping/batch"
	"github.com/tfrun/tfrun/modeldir"
	"github.com/tfrun/tfrun/models"
	"github.com/tfrun/tfrun/pipeline"
	"github.com/tfrun/tfrun/raster"
	"gopkg.in/yaml.v3"
)

const rgbByte = "../../../shared/data/rasterio/RGB.byte.tif"

// savedSegmenter saves a seeded random U-Net like the sea-ice model of
// case 2: trained on image folders (decode scale 255, RGB), one sigmoid
// channel, but small.
func savedSegmenter(t *testing.T, size int) string {
	t.Helper()
	m, err := models.FromZooWith("unet", []int{size, size, 3}, 1, map[string]any{"base": 4, "depth": 2, "dropout": 0.0})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	m.Init(ctx, 11)
	dir := filepath.Join(t.TempDir(), "seg")
	dec := &pipeline.Decode{Size: []int{size, size}, Channels: 3, Scale: 255}
	if err := modeldir.Save(dir, m, ctx, modeldir.Inputs{Decode: dec}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// cutSheetsGDAL cuts n w×h sheets out of RGB.byte.tif with gdal_translate,
// georeferenced where they lie.
func cutSheetsGDAL(t *testing.T, dir string, n, w, h int) []string {
	t.Helper()
	gt, err := exec.LookPath("gdal_translate")
	if err != nil {
		t.Skipf("gdal_translate is not installed (Debian gdal-bin): %v", err)
	}
	var out []string
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("sheet_%02d.tif", i))
		win := []string{fmt.Sprint(120 + (i%6)*w), fmt.Sprint(100 + (i/6)*h), fmt.Sprint(w), fmt.Sprint(h)}
		if b, err := exec.Command(gt, append(append([]string{"-q", "-srcwin"}, win...), rgbByte, p)...).CombinedOutput(); err != nil {
			t.Fatalf("gdal_translate: %v: %s", err, b)
		}
		out = append(out, p)
	}
	return out
}

func summaryOf(t *testing.T, path string) batch.Summary {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s batch.Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestPredictSheet maps RGB.byte.tif (UTM, nodata 0) with a case-2 style
// model, in windows twice its training size: the class map keeps the
// sheet's CRS and geotransform exactly, is nodata where the sheet is, and
// is a COG; in a batch with corrupt.tif and a one-band raster, those two
// fail with their names and exit status 2 while the sheet completes.
func TestPredictSheet(t *testing.T) {
	needSharedPath(t, rgbByte)
	model := savedSegmenter(t, 32)
	out := t.TempDir()
	r := run(t, nil, "predict", "--model", model, "--input", rgbByte, "--out", out, "--window", "64", "--overlap", "16", "--probs", "float32")
	if r.code != 0 {
		t.Fatalf("predict: %s", r.stderr)
	}
	in, pixels, err := raster.ReadAll(rgbByte)
	if err != nil {
		t.Fatal(err)
	}
	got, classes, err := raster.ReadAll(filepath.Join(out, "RGB.byte.tif"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Grid() != in.Grid() {
		t.Errorf("class map grid %+v, want the sheet's %+v", got.Grid(), in.Grid())
	}
	for i, c := range classes {
		nodata := pixels[3*i] == 0 && pixels[3*i+1] == 0 && pixels[3*i+2] == 0
		if nodata != (c == 255) || !nodata && c > 1 {
			t.Fatalf("pixel %d: sheet %v, class %g", i, pixels[3*i:3*i+3], c)
		}
	}
	info, err := exec.Command("gdalinfo", filepath.Join(out, "RGB.byte.tif")).CombinedOutput()
	if err != nil || !strings.Contains(string(info), "LAYOUT=COG") {
		t.Errorf("gdalinfo does not call the class map a COG (%v): %s", err, info)
	}
	for _, f := range []string{"RGB.byte.png", "RGB.byte_probs.tif", "summary.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("no %s: %v", f, err)
		}
	}

	corrupt := "../../../shared/data/rasterio/corrupt.tif"
	lulc := "../../../shared/data/eolearn_s2/lulc.tif"
	needSharedPath(t, corrupt)
	needSharedPath(t, lulc)
	out2 := t.TempDir()
	list := filepath.Join(t.TempDir(), "sheets.txt")
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	os.WriteFile(list, []byte(abs(corrupt)+"\n"+abs(rgbByte)+"\n"+abs(lulc)+"\n"), 0o644)
	r = run(t, nil, "predict", "--model", model, "--list", list, "--out", out2, "--blend", "center", "--quicklook=false")
	wantFailure(t, r, "2 of 3 sheets failed", abs(corrupt), filepath.Join(out2, "summary.json"))
	s := summaryOf(t, filepath.Join(out2, "summary.json"))
	if len(s.Sheets) != 3 || s.Done != 1 || s.Failed != 2 || s.Sheets[1].Status != batch.Done ||
		!strings.Contains(s.Sheets[2].Error, "has 1 bands, the model takes 3") || !strings.Contains(s.Sheets[0].Error, "corrupt.tif") {
		t.Errorf("summary: %+v", s)
	}
	if _, err := os.Stat(filepath.Join(out2, "RGB.byte.tif")); err != nil {
		t.Errorf("the good sheet was not mapped: %v", err)
	}

	// --sheets=false: the sheet is a plain image, masked at the model's
	// decode size as images are.
	masks := t.TempDir()
	if r := run(t, nil, "predict", "--model", model, "--input", rgbByte, "--out", masks, "--sheets=false"); r.code != 0 {
		t.Fatalf("predict --sheets=false: %s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(masks, "RGB.byte.png")); err != nil {
		t.Errorf("--sheets=false wrote no PNG mask: %v", err)
	}
	if _, err := os.Stat(filepath.Join(masks, "RGB.byte.tif")); err == nil {
		t.Error("--sheets=false wrote a class map")
	}
	wantFailure(t, run(t, nil, "predict", "--model", model, "--input", rgbByte, "--out", out, "--window", "50"), model, "--window 50")
	wantFailure(t, run(t, nil, "predict", "--model", model, "--input", rgbByte), "--out DIR")
	wantFailure(t, run(t, nil, "predict", "--model", model, "--input", rgbByte, "--out", out, "--blend", "max"), "max")
	wantFailure(t, run(t, nil, "predict", "--model", model, "--input", rgbByte, "--out", out, "--shard", "3/3"), "3/3")
}

// TestKillAndResume kills a 20-sheet batch with SIGKILL part-way, then
// reruns it: every sheet ends with a valid class map, none is left as a
// temporary file, and the rerun skips the sheets the first run finished.
// Then three shards of an Indexed Job cover the list once between them.
func TestKillAndResume(t *testing.T) {
	needSharedPath(t, rgbByte)
	model := savedSegmenter(t, 32)
	sheets := cutSheetsGDAL(t, t.TempDir(), 20, 96, 80)
	list := filepath.Join(t.TempDir(), "sheets.txt")
	os.WriteFile(list, []byte(strings.Join(sheets, "\n")+"\n"), 0o644)
	out := t.TempDir()
	args := []string{"predict", "--model", model, "--list", list, "--out", out, "--threads", "1"}

	cmd := exec.Command(binary, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	products, temps := 0, 0
	deadline := time.Now().Add(2 * time.Minute)
	for killed := false; !killed; {
		select {
		case err := <-done:
			t.Fatalf("the batch ended (%v) before it could be killed: %d of 20 sheets were done", err, products)
		case <-time.After(2 * time.Millisecond):
		}
		products, temps = countProducts(t, out)
		if temps > 0 && products >= 3 || products >= 12 || time.Now().After(deadline) {
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			killed = true
		}
	}
	products, temps = countProducts(t, out)
	t.Logf("killed with %d of 20 class maps written and %d temporary files", products, temps)
	if products >= 20 {
		t.Fatal("the kill came after the batch finished")
	}

	if r := run(t, nil, args...); r.code != 0 {
		t.Fatalf("rerun: %s", r.stderr)
	}
	if n, tmp := countProducts(t, out); n != 20 || tmp != 0 {
		entries, _ := os.ReadDir(out)
		t.Errorf("after the rerun: %d class maps, %d temporary files; want 20 and 0 (%v)", n, tmp, entries)
	}
	for _, s := range sheets {
		p := filepath.Join(out, filepath.Base(s))
		got, err := raster.Stat(p)
		in, err2 := raster.Stat(s)
		if err != nil || err2 != nil || got.Grid() != in.Grid() {
			t.Errorf("%s: %v %v, grid %+v, want %+v", p, err, err2, got.Grid(), in.Grid())
		}
	}
	if s := summaryOf(t, filepath.Join(out, "summary.json")); s.Skipped < products || s.Done+s.Skipped != 20 {
		t.Errorf("rerun: %d skipped, %d done; %d were complete before", s.Skipped, s.Done, products)
	}

	shardOut := t.TempDir()
	seen := map[string]int{}
	for i := range 3 {
		env := []string{batch.IndexEnv + "=" + fmt.Sprint(i), batch.CountEnv + "=3"}
		if r := run(t, env, "predict", "--model", model, "--list", list, "--out", shardOut, "--quicklook=false"); r.code != 0 {
			t.Fatalf("shard %d: %s", i, r.stderr)
		}
		for _, sh := range summaryOf(t, filepath.Join(shardOut, fmt.Sprintf("summary-%d-of-3.json", i))).Sheets {
			seen[sh.Sheet]++
		}
	}
	for _, s := range sheets {
		if seen[s] != 1 {
			t.Errorf("%s was mapped by %d shards, want 1", s, seen[s])
		}
	}
}

// countProducts counts finished class maps and temporary files in dir.
func countProducts(t *testing.T, dir string) (maps, temps int) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch n := e.Name(); {
		case strings.Contains(n, ".tmp"):
			temps++
		case strings.HasSuffix(n, ".tif"):
			maps++
		}
	}
	return maps, temps
}

// TestK8sManifests checks deploy/k8s: each Job is Indexed, tells tfrun the
// shard count it runs with, and passes predict flags that exist.
func TestK8sManifests(t *testing.T) {
	files, _ := filepath.Glob("../../deploy/k8s/indexed-job*.yaml")
	if len(files) < 2 {
		t.Fatalf("found %v, want the CPU and GPU Indexed Jobs", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var job struct {
			Kind string
			Spec struct {
				CompletionMode string `yaml:"completionMode"`
				Completions    int
				Template       struct {
					Spec struct {
						Containers []struct {
							Args []string
							Env  []struct{ Name, Value string }
						}
					}
				}
			}
		}
		if err := yaml.Unmarshal(b, &job); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if job.Kind != "Job" || job.Spec.CompletionMode != "Indexed" || len(job.Spec.Template.Spec.Containers) != 1 {
			t.Fatalf("%s: not an Indexed Job of one container", f)
		}
		c := job.Spec.Template.Spec.Containers[0]
		count := ""
		for _, e := range c.Env {
			if e.Name == batch.CountEnv {
				count = e.Value
			}
		}
		if count != fmt.Sprint(job.Spec.Completions) {
			t.Errorf("%s: %s=%q but %d completions", f, batch.CountEnv, count, job.Spec.Completions)
		}
		if len(c.Args) == 0 || c.Args[0] != "predict" {
			t.Fatalf("%s: args %v do not run predict", f, c.Args)
		}
		if r := run(t, nil, append(c.Args, "--help")...); r.code != 0 {
			t.Errorf("%s: tfrun does not take the flags %v: %s", f, c.Args, r.stderr)
		}
	}
}
