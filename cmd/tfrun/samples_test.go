//go:build cgo

package main

import (
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/airbusgeo/godal"
	"github.com/tfrun/tfrun/raster"
)

// waterSeeds are pixels (col, row) deep inside Jasper Ridge's river
// (class 2 of labels.tif), from its upper to its lower reach.
var waterSeeds = [][2]int{{35, 20}, {35, 50}, {25, 76}, {35, 90}}

// seedRaster writes a seed raster on Jasper Ridge's grid: class 2 at the
// water seeds, 0 elsewhere.
func seedRaster(t *testing.T, path string) {
	t.Helper()
	info, err := raster.Stat(jasperCube)
	if err != nil {
		t.Fatal(err)
	}
	w, err := raster.Create(path, info.Grid(), 1, "Byte", raster.NoData(0))
	if err != nil {
		t.Fatal(err)
	}
	vals := make([]float32, info.Width*info.Height)
	for _, s := range waterSeeds {
		vals[s[1]*info.Width+s[0]] = 2
	}
	if err := w.WriteWindow(0, 0, info.Width, info.Height, vals); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// seedPackage writes a GeoPackage of class-2 points at the given pixel
// centres of Jasper Ridge's grid (which has no georeferencing: map x, y
// are column, row).
func seedPackage(t *testing.T, path string, pixels [][2]int) {
	t.Helper()
	godal.RegisterAll()
	ds, err := godal.CreateVector(godal.GeoPackage, path)
	if err != nil {
		t.Fatal(err)
	}
	l, err := ds.CreateLayer("seeds", nil, godal.GTPoint, godal.NewFieldDefinition("class", godal.FTInt))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pixels {
		g, err := godal.NewGeometryFromWKT(fmt.Sprintf("POINT (%g %g)", float64(p[0])+0.5, float64(p[1])+0.5), nil)
		if err != nil {
			t.Fatal(err)
		}
		f, err := l.NewFeature(g)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.SetFieldValue(f.Fields()["class"], 2); err != nil {
			t.Fatal(err)
		}
		if err := l.UpdateFeature(f); err != nil {
			t.Fatal(err)
		}
		f.Close()
		g.Close()
	}
	if err := ds.Close(); err != nil {
		t.Fatal(err)
	}
}

// waterIoU compares grown class 2 with labels.tif's water.
func waterIoU(t *testing.T, grown string) float64 {
	t.Helper()
	_, truth, err := raster.ReadAll(jasperLabels)
	if err != nil {
		t.Fatal(err)
	}
	info, got, err := raster.ReadAll(grown)
	if err != nil {
		t.Fatal(err)
	}
	if info.Width != 100 || info.Height != 100 || info.Bands != 1 || info.NoData[0] == nil || *info.NoData[0] != 0 {
		t.Fatalf("%s: %d×%d×%d, nodata %v; want 100×100×1 with nodata 0", grown, info.Width, info.Height, info.Bands, info.NoData)
	}
	var inter, union int
	for p := range got {
		a, b := got[p] == 2, truth[p] == 2
		if a && b {
			inter++
		}
		if a || b {
			union++
		}
	}
	return float64(inter) / float64(union)
}

// TestSamplesGrowWater grows four seeds inside Jasper Ridge's river and
// checks the grown region against the label raster's water class.
func TestSamplesGrowWater(t *testing.T) {
	needSharedPath(t, jasperCube)
	dir := t.TempDir()
	seeds := filepath.Join(dir, "seeds.tif")
	seedRaster(t, seeds)
	gpkg := filepath.Join(dir, "seeds.gpkg")
	seedPackage(t, gpkg, waterSeeds)
	for _, tc := range []struct {
		name  string
		args  []string
		seeds string
	}{
		{"distance (default 0.25, 6 components)", nil, seeds},
		{"distance from the GeoPackage", nil, gpkg},
		{"angle 0.3 rad", []string{"--metric", "angle", "--threshold", "0.3"}, seeds},
	} {
		out := filepath.Join(dir, "water.tif")
		r := run(t, nil, append([]string{"samples", "grow", "--input", jasperCube, "--seeds", tc.seeds, "--out", out}, tc.args...)...)
		if r.code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.name, r.code, r.stderr)
		}
		iou := waterIoU(t, out)
		t.Logf("%s: water IoU %.4f\n%s", tc.name, iou, r.stdout)
		if iou < 0.9 {
			t.Errorf("%s: water IoU %.4f, want ≥ 0.9", tc.name, iou)
		}
		f, err := os.Open(filepath.Join(dir, "water_overlay.png"))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil || img.Bounds().Dx() != 100 || img.Bounds().Dy() != 100 {
			t.Errorf("%s: overlay %v, %v; want a 100×100 PNG", tc.name, img.Bounds(), err)
		}
	}
	// A size cap stops each region.
	out := filepath.Join(dir, "capped.tif")
	if r := run(t, nil, "samples", "grow", "--input", jasperCube, "--seeds", seeds, "--out", out, "--max-size", "50"); r.code != 0 {
		t.Fatalf("--max-size: exit %d: %s", r.code, r.stderr)
	}
	_, got, err := raster.ReadAll(out)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range got {
		if v == 2 {
			n++
		}
	}
	if n != 4*50 {
		t.Errorf("4 seeds capped at 50 pixels grew %d pixels, want 200", n)
	}
}

func TestSamplesGrowBadInputs(t *testing.T) {
	needSharedPath(t, jasperCube)
	dir := t.TempDir()
	out := filepath.Join(dir, "labels.tif")
	outside := filepath.Join(dir, "outside.gpkg")
	seedPackage(t, outside, [][2]int{{35, 20}, {150, 20}})
	wantFailure(t, run(t, nil, "samples", "grow", "--input", jasperCube, "--seeds", outside, "--out", out),
		"outside.gpkg: feature 2 of layer seeds (class 2)", "x 150.5 to 150.5, y 20.5 to 20.5", "is outside the image",
		"jasper_ridge.img covers x 0 to 100, y 0 to 100")
	seeds := filepath.Join(dir, "seeds.tif")
	seedRaster(t, seeds)
	bare := filepath.Join(dir, "cube.img")
	b, err := os.ReadFile(jasperCube)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(bare, b, 0o644)
	wantFailure(t, run(t, nil, "samples", "grow", "--input", bare, "--seeds", seeds, "--out", out), "cube.img", "no ENVI header")
	wantFailure(t, run(t, nil, "samples", "grow", "--input", jasperCube, "--seeds", seeds, "--out", out, "--metric", "sam"), `--metric "sam"`)
	wantFailure(t, run(t, nil, "samples", "grow", "--input", jasperCube, "--seeds", outside, "--out", out, "--class-field", "label"),
		`no field "label"`)
	if _, err := os.Stat(out); err == nil {
		t.Errorf("a failed run left %s", out)
	}
}
