package scenes

import (
	"slices"
	"testing"
)

func TestTilingErrors(t *testing.T) {
	r := Rect{0, 0, 450, 900}
	for _, c := range []struct {
		t    Tiling
		want string
	}{
		{Tiling{r, 128, 129}, "stride 129 is larger than the window 128"},
		{Tiling{r, 512, 256}, "window 512 is larger than the region"},
		{Tiling{r, 0, 1}, "window 0"},
	} {
		wantErr(t, c.t.validate(), c.want)
	}
	_, err := Region{Cols: []int{0, 950}}.rect(900, 900)
	wantErr(t, err, "cols [0 950]", "≤ 900")
}

func TestStrideLargerThanWindowNamesScene(t *testing.T) {
	img := shared(t, "spacenet_buildings/image.tif")
	_, err := Open(Config{Image: img, Labels: shared(t, "spacenet_buildings/mask.tif"), Window: 64, Stride: 100})
	wantErr(t, err, img, "stride 100 is larger than the window 64")
	_, err = Open(Config{Image: img, Labels: shared(t, "spacenet_buildings/mask.tif"), Window: 901})
	wantErr(t, err, img, "window 901 is larger than the region")
}

// Chips step by the stride and one more sits flush with the region's
// end, so every pixel of the region is in some chip.
func TestChipsCoverRegion(t *testing.T) {
	tl := Tiling{Region: Rect{10, 5, 450, 300}, Size: 128, Stride: 100}
	chips := tl.Chips()
	xs := []int{}
	for _, c := range chips {
		if c.Y == 5 {
			xs = append(xs, c.X)
		}
	}
	if want := []int{10, 110, 210, 310, 332}; !slices.Equal(xs, want) {
		t.Errorf("first row at x %v, want %v", xs, want)
	}
	covered := make([]bool, 450*300)
	for _, c := range chips {
		if c.X < 10 || c.Y < 5 || c.X+128 > 460 || c.Y+128 > 305 {
			t.Fatalf("chip at (%d, %d) leaves the region", c.X, c.Y)
		}
		for y := c.Y; y < c.Y+128; y++ {
			for x := c.X; x < c.X+128; x++ {
				covered[(y-5)*450+x-10] = true
			}
		}
	}
	if i := slices.Index(covered, false); i >= 0 {
		t.Errorf("pixel (%d, %d) is in no chip", 10+i%450, 5+i/450)
	}
}

func overlaps(a, b Chip, size int) bool {
	return a.X < b.X+size && b.X < a.X+size && a.Y < b.Y+size && b.Y < a.Y+size
}

// Overlapping chips never straddle the split: no training chip shares a
// pixel with a validation chip.
func TestBlockSplitHasNoOverlap(t *testing.T) {
	tl := Tiling{Region: Rect{0, 0, 450, 900}, Size: 64, Stride: 32}
	res, err := tl.Split(Split{Validation: 0.25, Block: 128}, 7)
	if err != nil {
		t.Fatal(err)
	}
	n := len(tl.Chips())
	if len(res.Train)+len(res.Validation)+res.Dropped != n || len(res.Validation) == 0 || len(res.Train) == 0 {
		t.Fatalf("%d train + %d validation + %d dropped of %d chips", len(res.Train), len(res.Validation), res.Dropped, n)
	}
	for _, a := range res.Train {
		for _, b := range res.Validation {
			if overlaps(a, b, 64) {
				t.Fatalf("training chip (%d, %d) overlaps validation chip (%d, %d)", a.X, a.Y, b.X, b.Y)
			}
		}
	}
	// Without blocks, overlapping chips would leak: the check above can fail.
	if !overlaps(res.Train[0], Chip{X: res.Train[0].X + 32, Y: res.Train[0].Y}, 64) {
		t.Fatal("overlaps is wrong")
	}
	again, _ := tl.Split(Split{Validation: 0.25, Block: 128}, 7)
	other, _ := tl.Split(Split{Validation: 0.25, Block: 128}, 8)
	if !slices.Equal(again.Validation, res.Validation) || slices.Equal(other.Validation, res.Validation) {
		t.Error("the split does not follow the seed")
	}
	t.Logf("%d chips: %d train, %d validation, %d dropped", n, len(res.Train), len(res.Validation), res.Dropped)

	_, err = Tiling{Region: Rect{0, 0, 256, 256}, Size: 64, Stride: 32}.Split(Split{Validation: 0.5, Block: 256}, 1)
	wantErr(t, err, "leaves none for training")
}

// A copy is numpy.rot90 (anticlockwise) or a flip of the chip, image and
// labels alike.
func TestCopies(t *testing.T) {
	const s, ch = 3, 2
	x := make([]float32, s*s*ch)
	y := make([]int32, s*s)
	for i := range y {
		y[i] = int32(i)
		x[2*i], x[2*i+1] = float32(i), float32(-i)
	}
	want := map[Copy][]int32{
		Rot90:  {2, 5, 8, 1, 4, 7, 0, 3, 6},
		Rot180: {8, 7, 6, 5, 4, 3, 2, 1, 0},
		Rot270: {6, 3, 0, 7, 4, 1, 8, 5, 2},
		HFlip:  {2, 1, 0, 5, 4, 3, 8, 7, 6},
		VFlip:  {6, 7, 8, 3, 4, 5, 0, 1, 2},
	}
	for c, w := range want {
		cx, cy := slices.Clone(x), slices.Clone(y)
		c.apply(cx, cy, s, ch)
		if !slices.Equal(cy, w) {
			t.Errorf("%s labels %v, want %v", c, cy, w)
		}
		for i, v := range w {
			if cx[2*i] != float32(v) || cx[2*i+1] != float32(-v) {
				t.Errorf("%s image pixel %d = %v, want [%d %d]", c, i, cx[2*i:2*i+2], v, -v)
			}
		}
	}
	copies, err := ParseCopies([]string{"rot90", "hflip", "rot90"})
	if err != nil || len(withCopies([]Chip{{X: 1}, {X: 2}}, copies)) != 6 {
		t.Errorf("two chips with two copies: %v, %v", copies, err)
	}
	_, err = ParseCopies([]string{"rot45"})
	wantErr(t, err, "rot45", "rot90, rot180")
}
