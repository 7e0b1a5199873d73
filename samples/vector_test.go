//go:build cgo

package samples

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeGeoJSON writes features given as "class|geometry JSON".
func writeGeoJSON(t *testing.T, features ...string) string {
	t.Helper()
	var parts []string
	for _, f := range features {
		class, geom, _ := strings.Cut(f, "|")
		parts = append(parts, `{"type":"Feature","properties":{"class":`+class+`},"geometry":`+geom+`}`)
	}
	path := filepath.Join(t.TempDir(), "seeds.geojson")
	text := `{"type":"FeatureCollection","features":[` + strings.Join(parts, ",") + `]}`
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestFromVector(t *testing.T) {
	// On utm (origin 500000, 4000000, 30 m pixels): a point in pixel
	// (2, 1); a square covering the centres of pixels (4..5, 3..4); a
	// square smaller than a pixel, covering no centre, inside pixel (8, 6).
	path := writeGeoJSON(t,
		`2|{"type":"Point","coordinates":[500075,3999955]}`,
		`5|{"type":"Polygon","coordinates":[[[500121,3999911],[500179,3999911],[500179,3999851],[500121,3999851],[500121,3999911]]]}`,
		`7|{"type":"Polygon","coordinates":[[[500242,3999818],[500248,3999818],[500248,3999812],[500242,3999812],[500242,3999818]]]}`)
	seeds, err := FromVector(path, "", "class", utm, "cube.img")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		class  int32
		pixels []int
	}{{2, []int{12}}, {5, []int{34, 35, 44, 45}}, {7, []int{68}}}
	if len(seeds) != len(want) {
		t.Fatalf("%d seeds, want %d", len(seeds), len(want))
	}
	for i, w := range want {
		slices.Sort(seeds[i].Pixels)
		if seeds[i].Class != w.class || !slices.Equal(seeds[i].Pixels, w.pixels) {
			t.Errorf("feature %d: class %d pixels %v, want class %d pixels %v", i+1, seeds[i].Class, seeds[i].Pixels, w.class, w.pixels)
		}
	}

	outside := writeGeoJSON(t, `2|{"type":"Point","coordinates":[500075,3999955]}`, `3|{"type":"Point","coordinates":[501000,3999955]}`)
	_, err = FromVector(outside, "", "class", utm, "cube.img")
	for _, m := range []string{"seeds.geojson: feature 2 of layer seeds (class 3)", "x 501000 to 501000", "is outside the image", "cube.img covers x 500000 to 500300"} {
		if err == nil || !strings.Contains(err.Error(), m) {
			t.Errorf("seed outside: %v, want it to mention %q", err, m)
		}
	}
	if _, err := FromVector(path, "", "label", utm, "cube.img"); err == nil || !strings.Contains(err.Error(), `no field "label" for the seed class (fields: class)`) {
		t.Errorf("missing field: %v", err)
	}
	bad := writeGeoJSON(t, `0|{"type":"Point","coordinates":[500075,3999955]}`)
	if _, err := FromVector(bad, "", "class", utm, "cube.img"); err == nil || !strings.Contains(err.Error(), "field class is \"0\"; seed classes are whole numbers ≥ 1") {
		t.Errorf("class 0: %v", err)
	}
}
