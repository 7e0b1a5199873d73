//go:build cgo

package raster

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteCOGRoundTrip copies a real Landsat scene window by window into a
// COG and reads it back: same pixels, grid, projection and nodata, a layout
// gdalinfo calls a COG, and no temporary files left.
func TestWriteCOGRoundTrip(t *testing.T) {
	src := shared(t, "rasterio/RGB.byte.tif")
	in, data, err := ReadAll(src)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "copy.tif")
	w, err := Create(out, in.Grid(), in.Bands, "Byte", NoData(0), COG("NEAREST"))
	if err != nil {
		t.Fatal(err)
	}
	// Uneven strips exercise windows that end at the raster's edge.
	const strip = 100
	for y := 0; y < in.Height; y += strip {
		h := min(strip, in.Height-y)
		row := data[y*in.Width*in.Bands : (y+h)*in.Width*in.Bands]
		if err := w.WriteWindow(0, y, in.Width, h, row); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("the destination exists before Close")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, back, err := ReadAll(out)
	if err != nil {
		t.Fatal(err)
	}
	if got.Grid() != in.Grid() {
		t.Errorf("grid %+v, want %+v", got.Grid(), in.Grid())
	}
	for b, nd := range got.NoData {
		if nd == nil || *nd != 0 {
			t.Errorf("band %d nodata %v, want 0", b+1, nd)
		}
	}
	for i := range data {
		if back[i] != data[i] {
			t.Fatalf("sample %d = %g, want %g", i, back[i], data[i])
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries, want only copy.tif", len(entries))
	}
	if gi, err := exec.LookPath("gdalinfo"); err == nil {
		info, err := exec.Command(gi, out).CombinedOutput()
		if err != nil {
			t.Fatalf("gdalinfo: %v: %s", err, info)
		}
		if !strings.Contains(string(info), "LAYOUT=COG") || !strings.Contains(string(info), "Overviews:") {
			t.Errorf("gdalinfo does not report a COG with overviews:\n%s", info)
		}
	}
}

// TestWriterAbortAndBadInput: an aborted or refused write leaves nothing
// at the destination, and a killed run's temporary file does not survive
// the next Create.
func TestWriterAbortAndBadInput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.tif")
	g := Grid{Width: 8, Height: 4, GeoTransform: [6]float64{500000, 10, 0, 4600000, 0, -10}}
	if err := os.WriteFile(out+".tmp", []byte("left by a killed run"), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := Create(out, g, 2, "Float32")
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, w.WriteWindow(4, 0, 8, 4, make([]float32, 64)), out, "outside the 8×4 raster")
	wantErr(t, w.WriteWindow(0, 0, 2, 2, make([]float32, 3)), out, "3 samples for a 2×2 window of 2 bands")
	w.Abort()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("abort left %d files", len(entries))
	}
	_, err = Create(out, g, 1, "Float64")
	wantErr(t, err, out, `"Float64"`)
	_, err = Create(out, Grid{}, 1, "Byte")
	wantErr(t, err, out, "0×0")
}
