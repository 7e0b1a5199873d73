//go:build cgo

package scenes

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/airbusgeo/godal"
	"github.com/tfrun/tfrun/raster"
)

// agreement aligns labels onto the eo-learn scene and compares them with
// lulc.tif, the same land cover published as a raster, over the pixels
// lulc.tif labels (0 is its nodata) and over all pixels.
func agreement(t *testing.T, ls labelSource) (labelled, all float64) {
	t.Helper()
	img, err := raster.Stat(shared(t, s2Scene))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	got, err := ls.align(s2Scene, img.Grid(), func() (string, error) { return dir, nil })
	if err != nil {
		t.Fatal(err)
	}
	_, a, err := raster.ReadAll(got)
	if err != nil {
		t.Fatal(err)
	}
	_, ref, err := raster.ReadAll(shared(t, lulcTif))
	if err != nil {
		t.Fatal(err)
	}
	same, n, sameAll := 0, 0, 0
	for i, v := range ref {
		if a[i] == v {
			sameAll++
		}
		if v != 0 {
			n++
			if a[i] == v {
				same++
			}
		}
	}
	return float64(same) / float64(n), float64(sameAll) / float64(len(ref))
}

// The GeoPackage and the GeoTIFF are the same eo-learn land cover, and
// lulc.tif was made by burning these polygons at pixel centres: burnt onto
// the scene's grid they give it back pixel for pixel (here, GDAL 3.6: all
// 9,945 labelled pixels and the 155 unlabelled ones). The bound leaves
// room for ten boundary pixels, as another GDAL may round a vertex that
// falls on a pixel centre the other way.
func TestRasterizedVectorMatchesRaster(t *testing.T) {
	gpkg := shared(t, lulcGpkg)
	frac, all := agreement(t, labelSource{Path: gpkg, Attr: lulcField})
	t.Logf("rasterized GeoPackage = lulc.tif on %.4f of labelled pixels, %.4f of all", frac, all)
	if frac < 0.999 || all < 0.999 {
		t.Errorf("rasterized labels agree with lulc.tif on %.4f of labelled pixels and %.4f of all, want ≥ 0.999", frac, all)
	}

	// The same polygons in geographic coordinates are reprojected onto
	// the scene's UTM grid.
	src, err := godal.Open(gpkg, godal.VectorOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	geo := filepath.Join(t.TempDir(), "lulc_wgs84.gpkg")
	out, err := src.VectorTranslate(geo, []string{"-t_srs", "EPSG:4326", "-f", "GPKG"})
	if err != nil {
		t.Fatal(err)
	}
	out.Close()
	fracGeo, allGeo := agreement(t, labelSource{Path: geo, Attr: lulcField})
	t.Logf("reprojected from EPSG:4326: %.4f of labelled pixels, %.4f of all", fracGeo, allGeo)
	if fracGeo < 0.999 || allGeo < 0.999 {
		t.Errorf("reprojected labels agree with lulc.tif on %.4f of labelled pixels and %.4f of all, want ≥ 0.999", fracGeo, allGeo)
	}
}

// A label raster in another coordinate system is warped onto the scene.
func TestWarpedRasterLabels(t *testing.T) {
	lulc := shared(t, lulcTif)
	in, err := raster.Stat(lulc)
	if err != nil {
		t.Fatal(err)
	}
	// lulc.tif resampled into Web Mercator at about the same resolution.
	merc := epsgWKT(t, 3857)
	b, err := raster.Reproject(in.Grid().Bounds(), in.Projection, merc)
	if err != nil {
		t.Fatal(err)
	}
	const px = 7.0 // Web Mercator metres are 1/cos(46°) ground metres
	g := raster.Grid{Width: int((b[2] - b[0]) / px), Height: int((b[3] - b[1]) / px), Projection: merc,
		GeoTransform: [6]float64{b[0], px, 0, b[3], 0, -px}}
	moved := filepath.Join(t.TempDir(), "lulc_3857.tif")
	if err := raster.WarpNearest(lulc, g, moved, 0); err != nil {
		t.Fatal(err)
	}
	// Unlabelled pixels (lulc.tif's nodata 0) come back as the warp's
	// own nodata, so only labelled pixels compare.
	frac, _ := agreement(t, labelSource{Path: moved})
	t.Logf("warped there and back: %.4f of labelled pixels", frac)
	// The Mercator grid is finer (about 4.9 m on the ground), so each
	// scene pixel's centre falls on a Mercator pixel that took its value
	// from that same scene pixel: nearest neighbour gives it back, except
	// where a centre lands on a boundary between Mercator pixels.
	if frac < 0.99 {
		t.Errorf("labels warped back agree with lulc.tif on %.4f of labelled pixels, want ≥ 0.99", frac)
	}
	img, err := raster.Stat(shared(t, s2Scene))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path, err := labelSource{Path: moved}.align(s2Scene, img.Grid(), func() (string, error) { return dir, nil })
	if err != nil || filepath.Dir(path) != dir {
		t.Errorf("Web Mercator labels were not warped onto the scene: %s, %v", path, err)
	}
}

func epsgWKT(t *testing.T, code int) string {
	t.Helper()
	sr, err := godal.NewSpatialRefFromEPSG(code)
	if err != nil {
		t.Fatal(err)
	}
	defer sr.Close()
	wkt, err := sr.WKT()
	if err != nil {
		t.Fatal(err)
	}
	return wkt
}

// Labels in another coordinate system that cover another part of the
// world are refused, raster or vector, naming both files.
func TestLabelsWithoutOverlap(t *testing.T) {
	img := shared(t, s2Scene)
	dir := t.TempDir()

	// A label raster in WGS 84 over Borneo.
	tif := filepath.Join(dir, "borneo.tif")
	w, err := raster.Create(tif, raster.Grid{Width: 10, Height: 10, Projection: epsgWKT(t, 4326),
		GeoTransform: [6]float64{114, 0.01, 0, 1, 0, -0.01}}, 1, "Byte")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteWindow(0, 0, 10, 10, make([]float32, 100)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Open(Config{Image: img, Labels: tif, Window: 32})
	wantErr(t, err, tif, "does not overlap", img, "reprojection")

	// The same as a GeoJSON polygon.
	js := filepath.Join(dir, "borneo.geojson")
	poly := `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"class":1},` +
		`"geometry":{"type":"Polygon","coordinates":[[[114,1],[114.1,1],[114.1,0.9],[114,0.9],[114,1]]]}}]}`
	if err := os.WriteFile(js, []byte(poly), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(Config{Image: img, Labels: js, Attr: "class", Window: 32})
	wantErr(t, err, js, "does not overlap", img)

	_, err = Open(Config{Image: img, Labels: shared(t, lulcGpkg), Attr: "LULC", Window: 32})
	wantErr(t, err, "no attribute \"LULC\"", "LULC_ID", "LULC_NAME")
}

func TestClassesAndRemap(t *testing.T) {
	img, labels := shared(t, jasper), shared(t, "jasper_ridge/labels.tif")
	// jasper's labels: 3493 tree, 3326 water, 2428 soil, 753 road.
	s := openScene(t, Config{Image: img, Labels: labels, Window: 16})
	if got := fmt.Sprint(s.Prep.Labels.Values, s.Counts); got != "[1 2 3 4] [3493 3326 2428 753]" {
		t.Errorf("classes and counts %s, want values 1-4 with the labels' pixel counts", got)
	}
	// The course's changelabel: road merged into soil.
	s = openScene(t, Config{Image: img, Labels: labels, Window: 16, Remap: map[int]int{4: 3}})
	if got := fmt.Sprint(s.Prep.Labels.Values, s.Counts); got != "[1 2 3] [3493 3326 3181]" {
		t.Errorf("after remap 4→3: %s", got)
	}
	y := make([]int32, 5)
	s.Prep.Labels.Code([]float32{0, 1, 4, 3, 2}, nil, y)
	if fmt.Sprint(y) != "[-1 0 2 2 1]" {
		t.Errorf("codes %v, want [-1 0 2 2 1]", y)
	}
	_, err := Open(Config{Image: img, Labels: labels, Window: 16, Classes: map[int]string{1: "tree", 2: "water"}})
	wantErr(t, err, labels, "3 (2428 pixels), 4 (753 pixels)", "not among the classes")
}
