package batch

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tfrun/tfrun/mapping"
	"github.com/tfrun/tfrun/mapping/internal/maptest"
	"github.com/tfrun/tfrun/mapping/sheet"
	"github.com/tfrun/tfrun/raster"
)

// cutSheets writes n small sheets cut from RGB.byte.tif, georeferenced
// where they lie, into dir.
func cutSheets(t *testing.T, dir string, n int) []string {
	t.Helper()
	in, data, err := raster.ReadAll(maptest.Shared(t, "rasterio/RGB.byte.tif"))
	if err != nil {
		t.Fatal(err)
	}
	const w, h = 80, 60
	var paths []string
	for i := range n {
		x, y := 150+(i%8)*w, 150+(i/8)*h
		g := in.Grid()
		g.Width, g.Height = w, h
		g.GeoTransform[0] += float64(x) * g.GeoTransform[1]
		g.GeoTransform[3] += float64(y) * g.GeoTransform[5]
		p := filepath.Join(dir, fmt.Sprintf("sheet_%02d.tif", i))
		wr, err := raster.Create(p, g, 3, "Byte", raster.NoData(0))
		if err != nil {
			t.Fatal(err)
		}
		part := make([]float32, 0, w*h*3)
		for r := y; r < y+h; r++ {
			part = append(part, data[(r*in.Width+x)*3:(r*in.Width+x+w)*3]...)
		}
		if err := wr.WriteWindow(0, 0, w, h, part); err != nil {
			t.Fatal(err)
		}
		if err := wr.Close(); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

func newJob(t *testing.T, sheets []string, dir string) *Job {
	t.Helper()
	r, m := maptest.Runner(t, "unet", []int{32, 32, 3}, 2, map[string]any{"base": 4, "depth": 2, "dropout": 0.0})
	return &Job{Sheets: sheets, Dir: dir, Predictor: r, Model: m,
		Options: mapping.Options{Overlap: 8, Blend: mapping.Gaussian, Batch: 8},
		Outputs: sheet.Outputs{Quicklook: true}}
}

func readSummary(t *testing.T, path string) Summary {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s Summary
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestShardsAndFailures runs a list of seven sheets, one of them the
// corrupt one, as three shards into one folder: every sheet is predicted
// by exactly one shard, the corrupt sheet is reported with its name and
// the others complete; a rerun skips the completed sheets.
func TestShardsAndFailures(t *testing.T) {
	corrupt := maptest.Shared(t, "rasterio/corrupt.tif")
	src := t.TempDir()
	sheets := cutSheets(t, src, 6)
	sheets = slices.Insert(sheets, 2, corrupt)
	out := t.TempDir()
	job := newJob(t, sheets, out)
	count := map[string]int{}
	for i := range 3 {
		job.Shard = Shard{Index: i, Count: 3}
		sum, err := job.Run(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got := readSummary(t, SummaryPath(out, job.Shard)); len(got.Sheets) != len(sum.Sheets) || got.Shard != fmt.Sprintf("%d/3", i) {
			t.Errorf("shard %d: summary file lists %d sheets of shard %q, the run %d", i, len(got.Sheets), got.Shard, len(sum.Sheets))
		}
		for _, r := range sum.Sheets {
			count[r.Sheet]++
			switch {
			case r.Sheet == corrupt:
				if r.Status != Failed || !strings.Contains(r.Error, corrupt) {
					t.Errorf("corrupt sheet: %+v", r)
				}
			case r.Status != Done || r.Pixels != 80*60 || r.Seconds <= 0:
				t.Errorf("sheet %s: %+v", r.Sheet, r)
			}
		}
	}
	for _, s := range sheets {
		if count[s] != 1 {
			t.Errorf("%s was in %d shards, want 1", s, count[s])
		}
	}
	if len(count) != len(sheets) {
		t.Errorf("the shards ran %d sheets, the list has %d", len(count), len(sheets))
	}
	job.Shard = Shard{}
	sum, err := job.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Skipped != 6 || sum.Failed != 1 || sum.Done != 0 {
		t.Errorf("rerun: %d skipped, %d failed, %d done; want 6, 1, 0", sum.Skipped, sum.Failed, sum.Done)
	}
}

func TestShardParsing(t *testing.T) {
	s, err := ParseShard("2/5")
	if err != nil || s != (Shard{2, 5}) {
		t.Errorf("2/5: %v %v", s, err)
	}
	for _, bad := range []string{"5/5", "-1/3", "1", "a/3", "0/0"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	t.Setenv(IndexEnv, "1")
	t.Setenv(CountEnv, "")
	if _, ok, err := ShardFromEnv(0); !ok || err == nil || !strings.Contains(err.Error(), "--shards") {
		t.Errorf("index without count: ok %v, error %v", ok, err)
	}
	if s, _, err := ShardFromEnv(4); err != nil || s != (Shard{1, 4}) {
		t.Errorf("index 1, --shards 4: %v %v", s, err)
	}
	t.Setenv(CountEnv, "3")
	if s, _, err := ShardFromEnv(0); err != nil || s != (Shard{1, 3}) {
		t.Errorf("index 1, count 3: %v %v", s, err)
	}
	list := []string{"a", "b", "c", "d", "e", "f", "g"}
	var all []string
	for i := range 3 {
		all = append(all, Shard{i, 3}.Pick(list)...)
	}
	slices.Sort(all)
	if !slices.Equal(all, list) {
		t.Errorf("three shards picked %v", all)
	}
}

func TestListAndCollisions(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "sheets.txt")
	os.WriteFile(list, []byte("# sheets\nsub/a.tif\n\n/abs/b.tif\n"), 0o644)
	got, err := ReadList(list)
	if err != nil || !slices.Equal(got, []string{filepath.Join(dir, "sub/a.tif"), "/abs/b.tif"}) {
		t.Errorf("list: %v %v", got, err)
	}
	os.WriteFile(list, []byte("# nothing\n"), 0o644)
	if _, err := ReadList(list); err == nil || !strings.Contains(err.Error(), list) {
		t.Errorf("empty list: %v", err)
	}
	j := &Job{Sheets: []string{"x/a.tif", "y/a.tif"}, Dir: "out"}
	if err := j.Check(); err == nil || !strings.Contains(err.Error(), "x/a.tif and y/a.tif") {
		t.Errorf("colliding names: %v", err)
	}
	j = &Job{Sheets: []string{"out/a.tif"}, Dir: "out"}
	if err := j.Check(); err == nil || !strings.Contains(err.Error(), "overwrite the sheet") {
		t.Errorf("output over input: %v", err)
	}
}
