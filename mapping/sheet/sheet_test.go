package sheet

import (
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tfrun/tfrun/infer"
	"github.com/tfrun/tfrun/mapping"
	"github.com/tfrun/tfrun/mapping/internal/maptest"
	"github.com/tfrun/tfrun/raster"
)

func tinyUNet(t *testing.T) (*infer.Runner, mapping.ModelInfo) {
	return maptest.Runner(t, "unet", []int{64, 64, 3}, 3, map[string]any{"base": 4, "depth": 2, "dropout": 0.0})
}

// TestProducts predicts RGB.byte.tif (UTM, nodata 0 around a tilted
// scene) and checks every product: the class map is a COG on the sheet's
// exact grid and CRS with nodata where the sheet has none; probabilities
// sum to 10000 and agree with the classes; the quicklook and polygons
// exist; no temporary file is left; and the sheet then counts as complete.
func TestProducts(t *testing.T) {
	path := maptest.Shared(t, "rasterio/RGB.byte.tif")
	in, pixels, err := raster.ReadAll(path)
	if err != nil {
		t.Fatal(err)
	}
	r, m := tinyUNet(t)
	dir := t.TempDir()
	o := Outputs{Probs: "uint16", Polygons: true, Sieve: 8, Quicklook: true}
	files := FilesOf(path, dir, o)
	opt := mapping.Options{Overlap: 16, Blend: mapping.Gaussian, Batch: 8}
	st, err := Predict(t.Context(), path, files, r, m, opt, o)
	if err != nil {
		t.Fatal(err)
	}
	if files.Classes != filepath.Join(dir, "RGB.byte.tif") {
		t.Errorf("class map at %s, want DIR/RGB.byte.tif", files.Classes)
	}
	out, classes, err := raster.ReadAll(files.Classes)
	if err != nil {
		t.Fatal(err)
	}
	if out.Grid() != in.Grid() {
		t.Errorf("class map grid %+v, want the sheet's %+v", out.Grid(), in.Grid())
	}
	if out.Bands != 1 || out.DataType != "Byte" || out.NoData[0] == nil || *out.NoData[0] != ClassNoData {
		t.Errorf("class map: %d bands of %s, nodata %v", out.Bands, out.DataType, out.NoData)
	}
	_, probs, err := raster.ReadAll(files.Probs)
	if err != nil {
		t.Fatal(err)
	}
	var seen [3]int
	var valid int64
	for i, c := range classes {
		px := pixels[3*i : 3*i+3]
		p := probs[3*i : 3*i+3]
		if px[0] == 0 && px[1] == 0 && px[2] == 0 {
			if c != ClassNoData || p[0] != ProbNoData {
				t.Fatalf("nodata pixel %d: class %g, probabilities %v", i, c, p)
			}
			continue
		}
		if c > 2 {
			t.Fatalf("pixel %d of data: class %g", i, c)
		}
		seen[int(c)]++
		if sum := p[0] + p[1] + p[2]; sum < ProbScale-2 || sum > ProbScale+2 {
			t.Fatalf("pixel %d: probabilities %v sum to %g", i, p, sum)
		}
		// The class is the most probable, unless rounding to 1/10000 tied it.
		for k := range 3 {
			if p[k] > p[int(c)] {
				t.Fatalf("pixel %d: class %g but probabilities %v", i, c, p)
			}
		}
		valid++
	}
	if valid != st.Valid {
		t.Errorf("%d pixels of data, stats say %d", valid, st.Valid)
	}
	t.Logf("classes %v, %d of %d windows inferred, engine %v", seen, st.Inferred, st.Windows, st.Predict)
	if gi, err := exec.LookPath("gdalinfo"); err == nil {
		info, err := exec.Command(gi, files.Classes).CombinedOutput()
		if err != nil || !strings.Contains(string(info), "LAYOUT=COG") || !strings.Contains(string(info), "Overviews:") {
			t.Errorf("gdalinfo does not report a COG with overviews (%v):\n%s", err, info)
		}
	}
	f, err := os.Open(files.Quicklook)
	if err != nil {
		t.Fatal(err)
	}
	ql, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if b := ql.Bounds(); b.Dx() != in.Width || b.Dy() != in.Height {
		t.Errorf("quicklook %v, want the sheet's %d×%d (it is under %d)", b, in.Width, in.Height, QuicklookSize)
	}
	if _, _, _, a := ql.At(0, 0).RGBA(); a != 0 {
		t.Error("quicklook: the nodata corner is not transparent")
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "RGB.byte.gpkg RGB.byte.png RGB.byte.tif RGB.byte_probs.tif" {
		t.Errorf("folder holds %v, want the four products only", names)
	}
	if !Complete(path, files, m, opt) {
		t.Error("a sheet with all its products is not complete")
	}
	os.Remove(files.Quicklook)
	if Complete(path, files, m, opt) {
		t.Error("a sheet without its quicklook is complete")
	}
}

// TestClassifierGrid: a case-1 classifier (the MNIST conv net, one
// channel) maps the RGB sheet, turned to grey, with one cell per window, on
// a grid whose pixels are the window's size and whose corner is the
// sheet's.
func TestClassifierGrid(t *testing.T) {
	path := maptest.Shared(t, "rasterio/RGB.byte.tif")
	in, err := raster.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	r, m := maptest.Runner(t, "convnet", []int{28, 28, 1}, 4, nil)
	dir := t.TempDir()
	files := FilesOf(path, dir, Outputs{})
	opt := mapping.Options{Batch: 64}
	if _, err := Predict(t.Context(), path, files, r, m, opt, Outputs{}); err != nil {
		t.Fatal(err)
	}
	out, err := raster.Stat(files.Classes)
	if err != nil {
		t.Fatal(err)
	}
	gt, want := out.GeoTransform, in.GeoTransform
	if out.Width != 29 || out.Height != 26 || out.Projection != in.Projection ||
		gt[0] != want[0] || gt[3] != want[3] || gt[1] != 28*want[1] || gt[5] != 28*want[5] {
		t.Errorf("cells %d×%d at %v, want 29×26 cells of 28 pixels at %v", out.Width, out.Height, gt, want)
	}
}

// TestBadSheet: a corrupt sheet fails naming the file and leaves nothing.
func TestBadSheet(t *testing.T) {
	path := maptest.Shared(t, "rasterio/corrupt.tif")
	r, m := tinyUNet(t)
	dir := t.TempDir()
	o := Outputs{Probs: "float32", Quicklook: true}
	_, err := Predict(context.Background(), path, FilesOf(path, dir, o), r, m, mapping.Options{Blend: mapping.Center, Batch: 4}, o)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %v, want one naming %s", err, path)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a failed sheet left %d files", len(entries))
	}
}

// TestRemoveTemps clears a killed run's temporary files of one sheet, and
// only those: another sheet's, and finished products, stay.
func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	files := FilesOf("a.tif", dir, Outputs{Polygons: true, Quicklook: true})
	temps := []string{"a.tif.tmp", "a.tif.cog.tmp", "a.tif.tmp.aux.xml", "a.gpkg.tmp", "a.gpkg.tmp-journal", "a.gpkg.sieve.tmp", ".a.png.tmp123456"}
	kept := []string{"a.tif", "a.tif.v2.tif.tmp", "a.png", "b.tif.tmp", ".a.png.tmpx", "a.tif.tmp.bak"}
	for _, n := range append(slices.Clone(temps), kept...) {
		os.WriteFile(filepath.Join(dir, n), nil, 0o644)
	}
	if err := files.RemoveTemps(); err != nil {
		t.Fatal(err)
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	slices.Sort(kept)
	if !slices.Equal(left, kept) {
		t.Errorf("left %v, want %v", left, kept)
	}
}
