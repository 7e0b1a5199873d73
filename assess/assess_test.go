package assess

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tfrun/tfrun/raster"
	"github.com/tfrun/tfrun/scenes"
)

const (
	wgs84 = `GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]`
	nad27 = `GEOGCS["NAD27",DATUM["North_American_Datum_1927",SPHEROID["Clarke 1866",6378206.4,294.978698213898]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]`
)

var grid6x4 = raster.Grid{Width: 6, Height: 4, GeoTransform: [6]float64{10, 0.5, 0, 50, 0, -0.5}, Projection: wgs84}

// mapGrid is grid6x4 as a GeoTIFF gives it back, the way the map's grid
// reaches Open (GDAL adds axes and authorities to the WKT).
func mapGrid(t *testing.T) raster.Grid {
	t.Helper()
	path := filepath.Join(t.TempDir(), "map.tif")
	writeRaster(t, path, grid6x4, make([]float32, 24))
	info, err := raster.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Grid()
}

func writeRaster(t *testing.T, path string, g raster.Grid, data []float32, opts ...raster.CreateOption) {
	t.Helper()
	w, err := raster.Create(path, g, 1, "Byte", opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteWindow(0, 0, g.Width, g.Height, data); err != nil {
		w.Abort()
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// The reference, 6×4, nodata 255; classes are values 1, 2, 3 with 9
// remapped to 3 (the course's changelabel) and 0 unlabelled:
//
//	1 1 2 2 3 0
//	1 1 2 2 3 255
//	9 9 3 3 0 0
//	1 2 3 1 2 3
//
// The map, −1 where the input is nodata:
//
//	0 1 1 1 2 2
//	0 0 1 -1 2 2
//	2 2 2 0 1 1
//	0 1 2 1 0 2
func referenceFixture(t *testing.T) (string, *scenes.Labels, []int32) {
	dir := t.TempDir()
	ref := filepath.Join(dir, "ref.tif")
	writeRaster(t, ref, grid6x4, []float32{
		1, 1, 2, 2, 3, 0,
		1, 1, 2, 2, 3, 255,
		9, 9, 3, 3, 0, 0,
		1, 2, 3, 1, 2, 3,
	}, raster.NoData(255))
	labels := &scenes.Labels{Remap: map[int]int{9: 3}, Values: []int{1, 2, 3}, Names: []string{"a", "b", "c"}}
	classes := []int32{
		0, 1, 1, 1, 2, 2,
		0, 0, 1, -1, 2, 2,
		2, 2, 2, 0, 1, 1,
		0, 1, 2, 1, 0, 2,
	}
	return ref, labels, classes
}

func TestMatrixAndCounts(t *testing.T) {
	ref, labels, classes := referenceFixture(t)
	r, err := Open(ref, "map.tif", mapGrid(t), labels, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// Strips of 3 and 1 rows, as the sliding window hands them over.
	if err := r.Add(0, 3, classes[:18]); err != nil {
		t.Fatal(err)
	}
	if err := r.Add(3, 1, classes[18:]); err != nil {
		t.Fatal(err)
	}
	conf, counts, err := r.Result()
	if err != nil {
		t.Fatal(err)
	}
	// Labelled: 24 pixels less three 0s, one 255 and the 0 at (5,0) = 20.
	// Row 1, column 3 (reference 2) has no input. Reference class of each
	// counted pixel (value 1 → class 0, 2 → 1, 3 and 9 → 2) against the map:
	//   row 0: (0,0) (0,1) (1,1) (1,1) (2,2)
	//   row 1: (0,0) (0,0) (1,1) [no input] (2,2)
	//   row 2: (2,2) (2,2) (2,2) (2,0)
	//   row 3: (0,0) (1,1) (2,2) (0,1) (1,0) (2,2)
	want := [][]int64{
		{4, 2, 0}, // class 0: (0,0)×4 [r0c0, r1c0, r1c1, r3c0], (0,1)×2 [r0c1, r3c3]
		{1, 4, 0}, // class 1: (1,1)×4 [r0c2, r0c3, r1c2, r3c1], (1,0)×1 [r3c4]
		{1, 0, 7}, // class 2: (2,2)×7, (2,0)×1 [r2c3]
	}
	if !reflect.DeepEqual(conf.M, want) {
		t.Errorf("matrix %v, want %v", conf.M, want)
	}
	if wantCounts := (Counts{Labelled: 20, NoInput: 1, Unlabelled: 4}); counts != wantCounts {
		t.Errorf("counts %+v, want %+v", counts, wantCounts)
	}
	// The matrix holds every labelled pixel that has input, no more.
	if conf.N() != counts.Labelled-counts.NoInput {
		t.Errorf("matrix sums to %d, want %d labelled pixels less %d without input", conf.N(), counts.Labelled, counts.NoInput)
	}
}

// A model with more outputs than label classes may map pixels to the
// extra ones: they are columns no reference row matches.
func TestExtraModelClasses(t *testing.T) {
	ref, labels, classes := referenceFixture(t)
	g := mapGrid(t)
	r, err := Open(ref, "map.tif", g, labels, Options{Classes: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	classes[0] = 3 // reference 1 (class 0) mapped to the extra class
	if err := r.Add(0, 4, classes); err != nil {
		t.Fatal(err)
	}
	conf, _, err := r.Result()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int64{{3, 2, 0, 1}, {1, 4, 0, 0}, {1, 0, 7, 0}, {0, 0, 0, 0}}
	if !reflect.DeepEqual(conf.M, want) {
		t.Errorf("matrix %v, want %v", conf.M, want)
	}
	if _, err := Open(ref, "map.tif", g, labels, Options{Classes: 2}); err == nil || !strings.Contains(err.Error(), "3 classes but the model only 2") {
		t.Errorf("fewer model classes than labels: err %v", err)
	}
}

func TestRegionAndIgnore(t *testing.T) {
	ref, labels, classes := referenceFixture(t)
	// Columns 3..5 of rows 1..3, leaving out value 3.
	r, err := Open(ref, "map.tif", mapGrid(t), labels, Options{Region: &Region{X0: 3, Y0: 1, X1: 6, Y1: 4}, Ignore: []int{3}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for y := range 4 {
		if err := r.Add(y, 1, classes[y*6:(y+1)*6]); err != nil {
			t.Fatal(err)
		}
	}
	conf, counts, err := r.Result()
	if err != nil {
		t.Fatal(err)
	}
	// Region:  2 3 255 / 3 0 0 / 1 2 3 → labelled 2 (no input), 1, 2.
	want := [][]int64{{0, 1, 0}, {1, 0, 0}, {0, 0, 0}}
	if !reflect.DeepEqual(conf.M, want) {
		t.Errorf("matrix %v, want %v", conf.M, want)
	}
	if wantCounts := (Counts{Labelled: 3, NoInput: 1, Unlabelled: 6}); counts != wantCounts {
		t.Errorf("counts %+v, want %+v", counts, wantCounts)
	}
	if _, err := Open(ref, "map.tif", mapGrid(t), labels, Options{Region: &Region{X0: 3, Y0: 0, X1: 7, Y1: 4}}); err == nil || !strings.Contains(err.Error(), "not inside map.tif") {
		t.Errorf("region past the edge: err %v", err)
	}
}

// A labelled value the model has no class for is an error naming the
// value and its pixels, not a silent exclusion.
func TestStrayValues(t *testing.T) {
	ref, _, classes := referenceFixture(t)
	labels := &scenes.Labels{Values: []int{1, 2, 3}}
	r, err := Open(ref, "map.tif", mapGrid(t), labels, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.Add(0, 4, classes); err != nil {
		t.Fatal(err)
	}
	_, _, err = r.Result()
	if err == nil || !strings.Contains(err.Error(), "9 (2 pixels)") || !strings.Contains(err.Error(), ref) {
		t.Errorf("err %v, want the stray value 9 (2 pixels) and the file", err)
	}
	if err := r.Add(0, 1, classes[:5]); err == nil {
		t.Error("a strip of the wrong width: want an error")
	}
}

func TestGridMismatch(t *testing.T) {
	dir := t.TempDir()
	data := make([]float32, 24)
	labels := &scenes.Labels{Values: []int{1}}
	g := mapGrid(t)
	for _, tc := range []struct {
		name string
		g    raster.Grid
		want string
	}{
		{"size", raster.Grid{Width: 4, Height: 6, GeoTransform: grid6x4.GeoTransform, Projection: wgs84}, "4×6 pixels but map.tif is 6×4"},
		{"extent", raster.Grid{Width: 6, Height: 4, GeoTransform: [6]float64{11, 0.5, 0, 50, 0, -0.5}, Projection: wgs84}, "covers x 11..14"},
		{"crs", raster.Grid{Width: 6, Height: 4, GeoTransform: grid6x4.GeoTransform, Projection: nad27}, `in "NAD27" but map.tif is in "WGS 84"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".tif")
			writeRaster(t, path, tc.g, data)
			_, err := Open(path, "map.tif", g, labels, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("err %v, want it to name %s and say %q", err, path, tc.want)
			}
		})
	}
	two := filepath.Join(dir, "two.tif")
	w, err := raster.Create(two, grid6x4, 2, "Byte")
	if err != nil {
		t.Fatal(err)
	}
	w.WriteWindow(0, 0, 6, 4, make([]float32, 48))
	w.Close()
	if _, err := Open(two, "map.tif", g, labels, Options{}); err == nil || !strings.Contains(err.Error(), "has 2") {
		t.Errorf("two-band reference: err %v", err)
	}
}

// On the eo-learn LULC raster, a map equal to the reference scores 1 and
// its matrix holds exactly the non-nodata pixels.
func TestEOLearnSelf(t *testing.T) {
	path := "../../shared/data/eolearn_s2/lulc.tif"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("the eo-learn data is absent (%v)", err)
	}
	info, pix, err := raster.ReadAll(path)
	if err != nil {
		t.Fatal(err)
	}
	labels := &scenes.Labels{Values: []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}
	r, err := Open(path, path, info.Grid(), labels, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	classes := make([]int32, len(pix))
	var valid int64
	for i, v := range pix {
		classes[i] = int32(v) - 1 // value 0 (nodata) maps to −1, never counted
		if v != 0 {
			valid++
		}
	}
	for y := 0; y < info.Height; y += 16 {
		rows := min(16, info.Height-y)
		if err := r.Add(y, rows, classes[y*info.Width:(y+rows)*info.Width]); err != nil {
			t.Fatal(err)
		}
	}
	conf, counts, err := r.Result()
	if err != nil {
		t.Fatal(err)
	}
	if conf.N() != valid || counts.Labelled != valid || conf.Accuracy() != 1 {
		t.Errorf("N %d labelled %d accuracy %v, want %d non-nodata pixels and 1", conf.N(), counts.Labelled, conf.Accuracy(), valid)
	}
	if valid == 0 || valid == int64(len(pix)) {
		t.Errorf("%d of %d pixels labelled: the fixture should have some nodata", valid, len(pix))
	}
}
