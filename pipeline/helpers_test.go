package pipeline

import (
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tfrun/tfrun/datasets"
)

// seaIce is the course's case-2 data, 500 JPEG pairs of 256².
func seaIce(t testing.TB) string {
	t.Helper()
	p := filepath.Join("..", "..", "shared", "data", "sea_ice")
	if _, err := os.Stat(filepath.Join(p, "label")); err != nil {
		t.Skipf("shared data sea_ice not available (needs ../shared next to the repository): %v", err)
	}
	return p
}

func writeImage(t testing.TB, path string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(path, ".jpg") {
		err = jpeg.Encode(f, img, &jpeg.Options{Quality: 95})
	} else {
		err = png.Encode(f, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// synthPair writes root/image/NAME.png (RGB, a pattern unique to seed) and
// root/label/NAME.png (grey, 255 on the left half).
func synthPair(t testing.TB, root, name string, h, w, seed int) {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	mask := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x*7 + seed), uint8(y*5 + seed), uint8(seed * 3), 255})
			if x < w/2 {
				mask.SetGray(x, y, color.Gray{255})
			}
		}
	}
	writeImage(t, filepath.Join(root, "image", name+".png"), img)
	writeImage(t, filepath.Join(root, "label", name+".png"), mask)
}

// collect reads a whole epoch.
func collect(t testing.TB, src datasets.Source, epoch int, order []int, size int) []*datasets.Batch {
	t.Helper()
	var out []*datasets.Batch
	for b, err := range src.Batches(epoch, order, size) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// noLeak fails the test if it ends with more goroutines than it began with.
func noLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() { wantGoroutines(t, before) })
}

// wantGoroutines fails unless the goroutine count is back to before. Batches
// waits for its own goroutines, but the runtime briefly counts its finalizer
// and cleanup goroutines while they run, so a leak is one that stays.
func wantGoroutines(t *testing.T, before int) {
	t.Helper()
	for range 100 {
		if runtime.NumGoroutine() <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<16)
	t.Errorf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
}
