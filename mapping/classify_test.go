package mapping

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// TestClassify reads RGB.byte.tif from disk and checks each emitted class
// against the pixel-wise model's: the brightest band's index, −1 on the
// nodata collar.
func TestClassify(t *testing.T) {
	path := shared(t, "rasterio/RGB.byte.tif")
	src := readShared(t, "rasterio/RGB.byte.tif")
	m := ModelInfo{Input: []int{64, 64, 3}, Output: []int{64, 64, 3}, Activation: "softmax"}
	next := 0
	err := Classify(path, bandShares{ch: 3}, m, Options{Overlap: 16, Blend: Gaussian, Batch: 4}, func(y0, rows int, classes []int32) error {
		if y0 != next || len(classes) != rows*src.info.Width {
			return fmt.Errorf("strip at %d with %d classes, want row %d and %d×%d", y0, len(classes), next, rows, src.info.Width)
		}
		for i, got := range classes {
			px := src.data[(y0*src.info.Width+i)*3:][:3]
			want := int32(0)
			for b := range px {
				if px[b] > px[want] {
					want = int32(b)
				}
			}
			if px[0] == 0 && px[1] == 0 && px[2] == 0 {
				want = -1
			}
			if got != want {
				return fmt.Errorf("pixel (%d, %d) %v: class %d, want %d", i%src.info.Width, y0+i/src.info.Width, px, got, want)
			}
		}
		next += rows
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if next != src.info.Height {
		t.Errorf("strips end at row %d, want %d", next, src.info.Height)
	}
}

// TestClassifyBadSheets: a corrupt sheet and one with the wrong band count
// fail with an error naming the file.
func TestClassifyBadSheets(t *testing.T) {
	m := ModelInfo{Input: []int{64, 64, 3}, Output: []int{64, 64, 3}, Activation: "softmax"}
	opt := Options{Blend: Center, Batch: 2}
	ignore := func(int, int, []int32) error { return nil }
	corrupt := shared(t, "rasterio/corrupt.tif")
	err := Classify(corrupt, bandShares{ch: 3}, m, opt, ignore)
	if err == nil || !strings.Contains(err.Error(), corrupt) {
		t.Errorf("corrupt sheet: error %v does not name %s", err, corrupt)
	}
	m.Input[2], m.Output[2] = 13, 13
	rgb := shared(t, "rasterio/RGB.byte.tif")
	err = Classify(rgb, bandShares{ch: 13}, m, opt, ignore)
	if err == nil || !strings.Contains(err.Error(), rgb+": has 3 bands, the model takes 13") {
		t.Errorf("wrong band count: error %v", err)
	}
}

// TestSinkGoexit: a sink that leaves its goroutine without returning (as
// t.FailNow does) stops the run instead of hanging it.
func TestSinkGoexit(t *testing.T) {
	src := readShared(t, "rasterio/RGB.byte.tif")
	m := ModelInfo{Input: []int{64, 64, 3}, Output: []int{64, 64, 3}, Activation: "softmax"}
	_, err := Run(t.Context(), src, bandShares{ch: 3}, m, Options{Blend: Center, Batch: 2}, func(*Strip) error {
		runtime.Goexit()
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "exited without returning") {
		t.Errorf("error %v", err)
	}
}
