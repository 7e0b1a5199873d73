package samples

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// twoHalves is a w×h image of 3-band spectra: the left half near a, the
// right half near b, with uniform noise of the given amplitude.
func twoHalves(w, h int, a, b []float32, noise float32) Image {
	rng := rand.New(rand.NewPCG(4, 2))
	img := Image{Width: w, Height: h, Dim: len(a)}
	for p := range w * h {
		ref := a
		if p%w >= w/2 {
			ref = b
		}
		for _, v := range ref {
			img.Values = append(img.Values, v+noise*(2*rng.Float32()-1))
		}
	}
	return img
}

func seedAt(name string, class int32, img Image, xy ...[2]int) Seed {
	s := Seed{Name: name, Class: class}
	for _, p := range xy {
		s.Pixels = append(s.Pixels, p[1]*img.Width+p[0])
	}
	return s
}

func count(labels []int32, class int32) int {
	n := 0
	for _, v := range labels {
		if v == class {
			n++
		}
	}
	return n
}

func TestGrowRecoversRegions(t *testing.T) {
	img := twoHalves(20, 10, []float32{10, 20, 30}, []float32{30, 20, 10}, 1)
	seeds := []Seed{seedAt("left", 1, img, [2]int{2, 5}), seedAt("right", 2, img, [2]int{17, 3})}
	for _, metric := range []struct {
		name string
		th   float64
	}{{"distance", 5}, {"angle", 0.2}} {
		labels, regions, err := Grow(img, seeds, Options{Metric: metric.name, Threshold: metric.th, Connectivity: 4})
		if err != nil {
			t.Fatal(err)
		}
		for p, v := range labels {
			want := int32(1)
			if p%20 >= 10 {
				want = 2
			}
			if v != want {
				t.Fatalf("%s: pixel (%d, %d) labelled %d, want %d", metric.name, p%20, p/20, v, want)
			}
		}
		if regions[0].Size != 100 || regions[1].Size != 100 || regions[0].Full {
			t.Errorf("%s: regions %+v, want 100 pixels each", metric.name, regions)
		}
		// Seed order does not matter.
		again, _, err := Grow(img, []Seed{seeds[1], seeds[0]}, Options{Metric: metric.name, Threshold: metric.th, Connectivity: 4})
		if err != nil || !slices.Equal(again, labels) {
			t.Errorf("%s: labels depend on seed order (%v)", metric.name, err)
		}
	}
}

func TestGrowLimits(t *testing.T) {
	img := twoHalves(20, 10, []float32{10, 20, 30}, []float32{30, 20, 10}, 1)
	seeds := []Seed{seedAt("left", 1, img, [2]int{2, 5}), seedAt("right", 2, img, [2]int{17, 3})}
	labels, regions, err := Grow(img, seeds, Options{Metric: "distance", Threshold: 5, MaxSize: 15, Connectivity: 8})
	if err != nil {
		t.Fatal(err)
	}
	if count(labels, 1) != 15 || count(labels, 2) != 15 || !regions[0].Full || !regions[1].Full {
		t.Errorf("max size 15: %d and %d pixels, regions %+v", count(labels, 1), count(labels, 2), regions)
	}
	// A threshold under the noise keeps the seeds alone.
	labels, _, err = Grow(img, seeds, Options{Metric: "distance", Threshold: 0.01, Connectivity: 8})
	if err != nil {
		t.Fatal(err)
	}
	if count(labels, 1) != 1 || count(labels, 2) != 1 {
		t.Errorf("tiny threshold: %d and %d pixels, want the seeds only", count(labels, 1), count(labels, 2))
	}
	// Nodata pixels are never taken: a nodata column walls the left half.
	img.Valid = make([]bool, 200)
	for p := range img.Valid {
		img.Valid[p] = p%20 != 5
	}
	labels, _, err = Grow(img, seeds[:1], Options{Metric: "distance", Threshold: 5, Connectivity: 8})
	if err != nil {
		t.Fatal(err)
	}
	if count(labels, 1) != 50 {
		t.Errorf("nodata column: %d pixels grown, want the 50 left of it", count(labels, 1))
	}
}

// TestGrowConnectivity: a diagonal line of one material in another is one
// region under 8-connectivity and a lone seed under 4.
func TestGrowConnectivity(t *testing.T) {
	img := Image{Width: 5, Height: 5, Dim: 1, Values: make([]float32, 25)}
	for i := range 5 {
		img.Values[i*5+i] = 100
	}
	seed := []Seed{seedAt("diagonal", 3, img, [2]int{0, 0})}
	for conn, want := range map[int]int{4: 1, 8: 5} {
		labels, _, err := Grow(img, seed, Options{Metric: "distance", Threshold: 1, Connectivity: conn})
		if err != nil {
			t.Fatal(err)
		}
		if got := count(labels, 3); got != want {
			t.Errorf("%d-connected: %d pixels, want %d", conn, got, want)
		}
	}
}

// TestAngleIgnoresBrightness: a shaded copy of a material (the same
// spectrum, three times darker) joins by angle but not by distance.
func TestAngleIgnoresBrightness(t *testing.T) {
	img := twoHalves(10, 4, []float32{30, 60, 90}, []float32{10, 20, 30}, 0)
	seed := []Seed{seedAt("sunlit", 1, img, [2]int{0, 0})}
	angle, _, err := Grow(img, seed, Options{Metric: "angle", Threshold: 0.01, Connectivity: 4})
	if err != nil {
		t.Fatal(err)
	}
	dist, _, err := Grow(img, seed, Options{Metric: "distance", Threshold: 1, Connectivity: 4})
	if err != nil {
		t.Fatal(err)
	}
	if count(angle, 1) != 40 || count(dist, 1) != 20 {
		t.Errorf("angle grew %d pixels (want 40), distance %d (want 20)", count(angle, 1), count(dist, 1))
	}
}

func TestGrowErrors(t *testing.T) {
	img := twoHalves(4, 4, []float32{1, 2}, []float32{2, 1}, 0)
	ok := []Seed{seedAt("s", 1, img, [2]int{0, 0})}
	for _, tc := range []struct {
		seeds   []Seed
		o       Options
		mention string
	}{
		{ok, Options{Metric: "euclid", Threshold: 1, Connectivity: 8}, `metric "euclid"`},
		{ok, Options{Metric: "angle", Threshold: 4, Connectivity: 8}, "radians, below π"},
		{ok, Options{Metric: "angle", Threshold: 0, Connectivity: 8}, "threshold 0"},
		{ok, Options{Metric: "angle", Threshold: 0.1, Connectivity: 6}, "connectivity 6"},
		{ok, Options{Metric: "angle", Threshold: 0.1, Connectivity: 8, MaxSize: -1}, "max size -1"},
		{[]Seed{{Name: "zero", Class: 0, Pixels: []int{1}}}, Options{Metric: "angle", Threshold: 0.1, Connectivity: 8}, "zero: class 0"},
		{[]Seed{{Name: "far", Class: 1, Pixels: []int{16}}}, Options{Metric: "angle", Threshold: 0.1, Connectivity: 8}, "far: pixel 16 is outside the 4×4 image"},
	} {
		if _, _, err := Grow(img, tc.seeds, tc.o); err == nil || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%+v: %v, want %q", tc.o, err, tc.mention)
		}
	}
	img.Valid = make([]bool, 16)
	if _, _, err := Grow(img, ok, Options{Metric: "angle", Threshold: 0.1, Connectivity: 8}); err == nil || !strings.Contains(err.Error(), "none of its 1 pixels holds data") {
		t.Errorf("seed on nodata: %v", err)
	}
}
