package scenes

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/tfrun/tfrun/datasets"
	"github.com/tfrun/tfrun/raster"
)

// poisonEast copies a one-band raster with every column from x on set to
// v, so that any read of those columns shows.
func poisonEast(t *testing.T, src, dst, dtype string, x int, v float32, opts ...raster.CreateOption) {
	t.Helper()
	in, data, err := raster.ReadAll(src)
	if err != nil {
		t.Fatal(err)
	}
	for i := range data {
		if i%in.Width >= x {
			data[i] = v
		}
	}
	w, err := raster.Create(dst, in.Grid(), 1, dtype, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteWindow(0, 0, in.Width, in.Height, data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func allBatches(t *testing.T, s datasets.Source) (x []float32, y []int32) {
	t.Helper()
	for b, err := range s.Batches(1, nil, 7) {
		if err != nil {
			t.Fatal(err)
		}
		x, y = append(x, b.X...), append(y, b.Y...)
	}
	return x, y
}

// Training on columns 0-449 of SpaceNet never reads column 450 or
// beyond: neither for the chips, cached or streamed, nor for the fitted
// clip, nor for the label classes. The east half of the copies read here
// holds values no real pixel has.
func TestRegionNeverReadsOutside(t *testing.T) {
	dir := t.TempDir()
	img, mask := filepath.Join(dir, "image.tif"), filepath.Join(dir, "mask.tif")
	poisonEast(t, shared(t, "spacenet_buildings/image.tif"), img, "UInt16", 450, 65535, raster.NoData(0))
	poisonEast(t, shared(t, "spacenet_buildings/mask.tif"), mask, "Byte", 450, 7)
	cfg := Config{Image: img, Labels: mask, Classes: map[int]string{0: "background", 255: "building"},
		Window: 128, Stride: 64, Region: Region{Cols: []int{0, 450}}, Split: Split{Validation: 0.2, Block: 128},
		Copies: []string{"rot90", "vflip"}}
	// Several workers share the scene, each with its own file handles.
	cfg.Workers = 3

	var first [2][]float32
	for k, cache := range []bool{true, false} {
		cfg.Cache = &cache
		s := openScene(t, cfg)
		if s.Cached() != cache {
			t.Fatalf("cache %v: scene cached %v", cache, s.Cached())
		}
		train, val, err := s.Sources()
		if err != nil {
			t.Fatal(err)
		}
		if val == nil || train.Len() != len(s.Train) || !slices.Equal(train.InputShape(), []int{128, 128, 1}) || !slices.Equal(train.LabelShape(), []int{128, 128}) {
			t.Fatalf("train %d examples of %v/%v, validation %v", train.Len(), train.InputShape(), train.LabelShape(), val)
		}
		for _, src := range []datasets.Source{train, val} {
			x, y := allBatches(t, src)
			if i := slices.Index(x, 65535); i >= 0 {
				t.Fatalf("cache %v: chip value 65535 from the east half (value %d of %d)", cache, i, len(x))
			}
			if slices.ContainsFunc(y, func(v int32) bool { return v < -1 || v > 1 }) {
				t.Fatalf("cache %v: a label outside {-1, 0, 1}", cache)
			}
			if !slices.Contains(y, 1) || !slices.Contains(y, 0) {
				t.Errorf("cache %v: no building or no background pixel in %d labels", cache, len(y))
			}
			if src == train {
				first[k] = x
			}
		}
		for _, c := range slices.Concat(s.Train, s.Validation) {
			if c.X+128 > 450 {
				t.Fatalf("chip at column %d reaches column %d", c.X, c.X+127)
			}
		}
	}
	if !slices.Equal(first[0], first[1]) {
		t.Error("chips streamed from the files differ from the cached ones")
	}

	cfg.Clip = []float64{0.01, 99.99}
	s := openScene(t, cfg)
	if hi := s.Prep.Clip.High[0]; hi >= 65535 || hi < 1000 {
		t.Errorf("clip fitted on the region has high %g: the east half leaked in, or the fit is wrong", hi)
	}
}

// Pixels the image marks as nodata are ignored, whatever their label.
func TestImageNoDataIgnoresLabels(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "image.tif")
	// Columns 400 on are 0, the image's nodata value.
	poisonEast(t, shared(t, "spacenet_buildings/image.tif"), img, "UInt16", 400, 0, raster.NoData(0))
	s := openScene(t, Config{Image: img, Labels: shared(t, "spacenet_buildings/mask.tif"),
		Classes: map[int]string{0: "background", 255: "building"}, Window: 100, Region: Region{Cols: []int{300, 500}, Rows: []int{0, 100}}})
	train, _, err := s.Sources()
	if err != nil {
		t.Fatal(err)
	}
	x, y := allBatches(t, train)
	if len(s.Train) != 2 || s.Train[1].X != 400 {
		t.Fatalf("chips %v, want two at columns 300 and 400", s.Train)
	}
	for i := range 100 * 100 {
		if y[100*100+i] != -1 || x[100*100+i] != 0 {
			t.Fatalf("nodata pixel %d: label %d, value %g; want -1 and 0", i, y[100*100+i], x[100*100+i])
		}
	}
	if slices.Contains(y[:100*100], -1) {
		t.Error("a valid pixel is ignored")
	}
}
