//go:build cgo

package raster

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/airbusgeo/godal"
)

// polygonStats reads a Polygonize output: features, total area per class.
func polygonStats(t *testing.T, path string) (features int, area map[int]float64, wkt string) {
	t.Helper()
	ds, err := godal.Open(path, godal.VectorOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	layers := ds.Layers()
	if len(layers) != 1 || layers[0].Name() != PolygonLayer {
		t.Fatalf("%s: %d layers, want one named %s", path, len(layers), PolygonLayer)
	}
	area = map[int]float64{}
	for f := layers[0].NextFeature(); f != nil; f = layers[0].NextFeature() {
		g := f.Geometry()
		area[int(f.Fields()[PolygonField].Int())] += g.Area()
		g.Close()
		f.Close()
		features++
	}
	if sr := layers[0].SpatialRef(); sr != nil {
		wkt, _ = sr.WKT()
	}
	return features, area, wkt
}

// TestPolygonize turns the EO-learn land-cover raster (0 = nodata) into
// polygons: their areas add up, class by class, to the pixels' areas, no
// polygon covers nodata, and the sieve merges small regions away without
// changing the total area.
func TestPolygonize(t *testing.T) {
	src := shared(t, "eolearn_s2/lulc.tif")
	in, data, err := ReadAll(src)
	if err != nil {
		t.Fatal(err)
	}
	pixelArea := math.Abs(in.GeoTransform[1] * in.GeoTransform[5])
	want := map[int]float64{}
	total := 0.0
	for _, v := range data {
		if v != 0 {
			want[int(v)] += pixelArea
			total += pixelArea
		}
	}
	dir := t.TempDir()
	plain := filepath.Join(dir, "lulc.gpkg")
	if err := Polygonize(src, plain, 0); err != nil {
		t.Fatal(err)
	}
	n, area, wkt := polygonStats(t, plain)
	if !strings.Contains(wkt, "32633") {
		t.Errorf("layer CRS %.80s..., want EPSG:32633's", wkt)
	}
	for c, a := range want {
		if math.Abs(area[c]-a) > 1e-6*a {
			t.Errorf("class %d: polygons cover %.1f m², pixels %.1f m²", c, area[c], a)
		}
	}
	if _, ok := area[0]; ok {
		t.Error("nodata (0) became polygons")
	}
	sieved := filepath.Join(dir, "lulc_sieved.gpkg")
	if err := Polygonize(src, sieved, 20); err != nil {
		t.Fatal(err)
	}
	ns, sArea, _ := polygonStats(t, sieved)
	sum := 0.0
	for _, a := range sArea {
		sum += a
	}
	if ns >= n || math.Abs(sum-total) > 1e-6*total {
		t.Errorf("sieve 20: %d polygons over %.1f m², unsieved %d over %.1f m²", ns, sum, n, total)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("%d files left in the folder, want the two GeoPackages only", len(entries))
	}
	if err := Polygonize(shared(t, "rasterio/RGB.byte.tif"), filepath.Join(dir, "x.gpkg"), 0); err == nil || !strings.Contains(err.Error(), "has 3 bands") {
		t.Errorf("a 3-band raster: error %v", err)
	}
}
