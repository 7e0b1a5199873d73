package raster

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfrun/tfrun/internal/testkit"
)

var shared = testkit.Shared

// pixel returns the bands of pixel (col, row) of a [H, W, B] buffer.
func pixel(data []float32, in Info, col, row int) []float32 {
	i := (row*in.Width + col) * in.Bands
	return data[i : i+in.Bands]
}

func wantPixel(t *testing.T, data []float32, in Info, col, row int, want ...float32) {
	t.Helper()
	got := pixel(data, in, col, row)
	for b := range want {
		if got[b] != want[b] {
			// Values from gdallocationinfo -valonly FILE col row.
			t.Errorf("pixel (%d, %d) = %v, want %v", col, row, got, want)
			return
		}
	}
}

var wantErr = testkit.WantErr

func TestRGBByte(t *testing.T) {
	path := shared(t, "rasterio/RGB.byte.tif")
	in, err := Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if in.Width != 791 || in.Height != 718 || in.Bands != 3 || in.DataType != "Byte" {
		t.Fatalf("got %d×%d×%d %s, want 791×718×3 Byte", in.Width, in.Height, in.Bands, in.DataType)
	}
	if len(in.NoData) != 3 {
		t.Fatalf("got %d nodata entries, want 3", len(in.NoData))
	}
	for b, nd := range in.NoData {
		if nd == nil || *nd != 0 {
			t.Errorf("band %d nodata = %v, want 0", b, nd)
		}
	}
	if !strings.Contains(in.Projection, "UTM zone 18N") {
		t.Errorf("projection does not name UTM zone 18N: %.80s...", in.Projection)
	}
	gt := in.GeoTransform
	if gt[0] != 101985 || gt[3] != 2826915 || math.Abs(gt[1]-300.0379) > 1e-3 || math.Abs(gt[5]+300.0418) > 1e-3 {
		t.Errorf("geotransform %v, want origin (101985, 2826915) and 300 m pixels", gt)
	}

	got, data, err := ReadAll(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Width != in.Width || got.Height != in.Height || len(data) != 718*791*3 {
		t.Fatalf("ReadAll: %d×%d, %d samples", got.Width, got.Height, len(data))
	}
	wantPixel(t, data, in, 0, 0, 0, 0, 0) // nodata collar
	wantPixel(t, data, in, 395, 359, 18, 25, 14)
	wantPixel(t, data, in, 600, 200, 13, 27, 35)
	wantPixel(t, data, in, 790, 717, 0, 0, 0)
}

func TestCOGAndWindow(t *testing.T) {
	path := shared(t, "rasterio/cogeo.tif")
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in := f.Info()
	if in.Width != 1024 || in.Height != 1024 || in.Bands != 3 {
		t.Fatalf("got %d×%d×%d, want 1024×1024×3", in.Width, in.Height, in.Bands)
	}
	if !strings.Contains(in.Projection, "Pseudo-Mercator") {
		t.Errorf("projection is not Web Mercator: %.80s...", in.Projection)
	}
	for b, nd := range in.NoData {
		if nd != nil {
			t.Errorf("band %d has nodata %v, want none", b, *nd)
		}
	}
	all, err := f.ReadWindow(0, 0, in.Width, in.Height)
	if err != nil {
		t.Fatal(err)
	}
	wantPixel(t, all, in, 700, 300, 232, 232, 232)
	wantPixel(t, all, in, 100, 900, 35, 53, 65)

	// A window crossing the 512-pixel tile boundary must equal the same
	// region of the full read.
	const x, y, w, h = 500, 490, 37, 29
	win, err := f.ReadWindow(x, y, w, h)
	if err != nil {
		t.Fatal(err)
	}
	for r := range h {
		for c := range w {
			for b := range in.Bands {
				if g, want := win[(r*w+c)*in.Bands+b], all[((y+r)*in.Width+x+c)*in.Bands+b]; g != want {
					t.Fatalf("window (%d, %d) band %d = %v, full read has %v", c, r, b, g, want)
				}
			}
		}
	}

	_, err = f.ReadWindow(1000, 0, 100, 10)
	wantErr(t, err, path, "outside the 1024×1024 raster")
}

func TestCorruptTIFF(t *testing.T) {
	path := shared(t, "rasterio/corrupt.tif")
	// Its header is intact, so Stat succeeds; the damage is in the tiles.
	if _, err := Stat(path); err != nil {
		t.Fatalf("Stat: %v", err)
	}
	_, _, err := ReadAll(path)
	wantErr(t, err, "raster: "+path+": reading pixels:", "TIFF")
}

func TestNotARaster(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.tif")
	_, err := Stat(missing)
	wantErr(t, err, "raster: "+missing+": not a valid raster:")

	text := filepath.Join(t.TempDir(), "notes.tif")
	if err := os.WriteFile(text, []byte("this is not a TIFF\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = ReadAll(text)
	wantErr(t, err, "raster: "+text+": not a valid raster:")
}

func TestUngeoreferencedPNG(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 5, 3))
	img.SetGray(4, 2, color.Gray{Y: 200})
	path := filepath.Join(t.TempDir(), "plain.png")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	in, data, err := ReadAll(path)
	if err != nil {
		t.Fatal(err)
	}
	if in.Width != 5 || in.Height != 3 || in.Bands != 1 || in.Projection != "" {
		t.Errorf("got %d×%d×%d projection %q", in.Width, in.Height, in.Bands, in.Projection)
	}
	if in.GeoTransform != [6]float64{0, 1, 0, 0, 0, 1} {
		t.Errorf("geotransform %v, want GDAL's placeholder", in.GeoTransform)
	}
	if data[14] != 200 || data[0] != 0 {
		t.Errorf("pixels %v, want 200 last and 0 first", data)
	}
}

// ENVI keeps its header in a side-car .hdr, which GDAL finds only when
// allowed to look beside the file.
func TestENVISidecar(t *testing.T) {
	path := shared(t, "jasper_ridge/jasper_ridge.img")
	in, data, err := ReadAll(path)
	if err != nil {
		t.Fatal(err)
	}
	if in.Width != 100 || in.Height != 100 || in.Bands != 198 || in.DataType != "UInt16" {
		t.Fatalf("got %d×%d×%d %s, want 100×100×198 UInt16", in.Width, in.Height, in.Bands, in.DataType)
	}
	px := pixel(data, in, 7, 93)
	if px[0] != 139 || px[197] != 668 {
		t.Errorf("pixel (7, 93) bands 1 and 198 = %v, %v, want 139, 668", px[0], px[197])
	}
}

func TestLandsatL7(t *testing.T) {
	const path = "../testdata/landsat/L7_ETMs.tif"
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is part of the repository: %v", path, err)
	}
	in, err := Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if in.Width != 349 || in.Height != 352 || in.Bands != 6 {
		t.Errorf("got %d×%d×%d, want 349×352×6", in.Width, in.Height, in.Bands)
	}
}
