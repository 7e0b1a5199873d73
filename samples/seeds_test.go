package samples

import (
	"slices"
	"strings"
	"testing"

	"github.com/tfrun/tfrun/raster"
)

// utm is a 10×8 grid of 30 m pixels, north up.
var utm = raster.Grid{Width: 10, Height: 8, GeoTransform: [6]float64{500000, 30, 0, 4000000, 0, -30}}

func TestFromClassRaster(t *testing.T) {
	vals := make([]float32, 80)
	vals[1*10+1], vals[2*10+2] = 1, 1 // one diagonal patch of class 1
	vals[6*10+8] = 1                  // another, apart
	vals[4*10+5], vals[4*10+6] = 3, 3 // a patch of class 3
	vals[0] = 9                       // nodata
	nd := 9.0
	seeds, err := FromClassRaster(vals, utm, &nd, "seeds.tif", utm, "cube.img")
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		class  int32
		pixels []int
	}
	var all []got
	for _, s := range seeds {
		slices.Sort(s.Pixels)
		all = append(all, got{s.Class, s.Pixels})
	}
	want := []got{{1, []int{11, 22}}, {3, []int{45, 46}}, {1, []int{68}}}
	if len(all) != len(want) {
		t.Fatalf("seeds %+v, want %+v", all, want)
	}
	for i := range want {
		if all[i].class != want[i].class || !slices.Equal(all[i].pixels, want[i].pixels) {
			t.Errorf("seed %d: %+v, want %+v", i, all[i], want[i])
		}
	}
	if !strings.Contains(seeds[0].Name, "seeds.tif: seed patch at pixel (1, 1)") {
		t.Errorf("seed name %q", seeds[0].Name)
	}

	// A 4×3 crop of the image, 5 columns right and 2 rows down: its pixel
	// (1, 1) is the image's (6, 3).
	crop := raster.Grid{Width: 4, Height: 3, GeoTransform: [6]float64{500000 + 5*30, 30, 0, 4000000 - 2*30, 0, -30}}
	cv := make([]float32, 12)
	cv[1*4+1] = 2
	seeds, err = FromClassRaster(cv, crop, nil, "crop.tif", utm, "cube.img")
	if err != nil {
		t.Fatal(err)
	}
	if len(seeds) != 1 || !slices.Equal(seeds[0].Pixels, []int{3*10 + 6}) || seeds[0].Class != 2 {
		t.Errorf("cropped seed raster: %+v, want class 2 at pixel 36", seeds)
	}
}

func TestFromClassRasterErrors(t *testing.T) {
	// A canvas larger than the image, with a seed 3 pixels past its right edge.
	big := raster.Grid{Width: 14, Height: 8, GeoTransform: utm.GeoTransform}
	bv := make([]float32, 14*8)
	bv[2*14+12] = 4
	_, err := FromClassRaster(bv, big, nil, "canvas.tif", utm, "cube.img")
	for _, m := range []string{"canvas.tif: seed pixel (12, 2) of class 4", "x 500375, y 3999925", "is outside the image", "cube.img covers x 500000 to 500300, y 3999760 to 4000000"} {
		if err == nil || !strings.Contains(err.Error(), m) {
			t.Errorf("seed outside: %v, want it to mention %q", err, m)
		}
	}
	vals := make([]float32, 80)
	vals[5] = 1.5
	if _, err := FromClassRaster(vals, utm, nil, "s.tif", utm, "cube.img"); err == nil || !strings.Contains(err.Error(), "value 1.5") {
		t.Errorf("fractional class: %v", err)
	}
	if _, err := FromClassRaster(make([]float32, 80), utm, nil, "s.tif", utm, "cube.img"); err == nil || !strings.Contains(err.Error(), "no seed pixel") {
		t.Errorf("empty seed raster: %v", err)
	}
	plain := raster.Grid{Width: 10, Height: 8, GeoTransform: [6]float64{0, 1, 0, 0, 0, 1}}
	vals[5] = 1
	if _, err := FromClassRaster(vals, plain, nil, "s.tif", utm, "cube.img"); err == nil || !strings.Contains(err.Error(), "one is georeferenced and the other is not") {
		t.Errorf("georeferencing mismatch: %v", err)
	}
}
