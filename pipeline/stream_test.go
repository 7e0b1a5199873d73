package pipeline

import (
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tfrun/tfrun/datasets"
	"github.com/tfrun/tfrun/internal/testkit"
	"github.com/tfrun/tfrun/pipeline/augment"
	"github.com/tfrun/tfrun/raster"
)

var _ datasets.Source = (*Files)(nil)
var _ datasets.Source = (*Memory)(nil)

func seaIcePairs(t testing.TB, n int) []Pair {
	t.Helper()
	root := seaIce(t)
	pairs, err := ListPairs(filepath.Join(root, "image"), filepath.Join(root, "label"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 500 {
		t.Fatalf("%d sea-ice pairs, want 500", len(pairs))
	}
	return pairs[:n]
}

func newFilesT(t testing.TB, pairs []Pair, dec Decode, opt Options) *Files {
	t.Helper()
	f, err := NewFiles(pairs, dec, opt)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// The streamed examples are the course's: pixels/255 and masks
// label/255 > 0.5, checked against the standard library's own decoding.
func TestSeaIceMatchesCourse(t *testing.T) {
	pairs := seaIcePairs(t, 6)
	f := newFilesT(t, pairs, Decode{Scale: 255}, Options{Workers: 2})
	batches := collect(t, f, 0, []int{4, 1}, 2)
	b := batches[0]
	if len(batches) != 1 || b.N != 2 || len(b.X) != 2*256*256*3 || len(b.Y) != 2*256*256 {
		t.Fatalf("%d batches, N %d, %d inputs, %d labels", len(batches), b.N, len(b.X), len(b.Y))
	}
	ones := 0
	for k, idx := range []int{4, 1} {
		img := decodeStd(t, pairs[idx].Image)
		lab := decodeStd(t, pairs[idx].Mask).(*image.Gray)
		for y := range 256 {
			for x := range 256 {
				o := (k*256+y)*256 + x
				r, g, bl, _ := img.At(x, y).RGBA()
				for c, v := range []uint32{r >> 8, g >> 8, bl >> 8} {
					// color.YCbCr's 16-bit conversion rounds differently from
					// the 8-bit one by at most a level.
					if d := math.Abs(float64(b.X[3*o+c])*255 - float64(v)); d > 1.01 {
						t.Fatalf("%s (%d,%d) channel %d: %g·255, stdlib %d", pairs[idx].Image, x, y, c, b.X[3*o+c], v)
					}
				}
				want := int32(0)
				if float64(lab.GrayAt(x, y).Y)/255 > 0.5 {
					want = 1
				}
				if b.Y[o] != want {
					t.Fatalf("%s (%d,%d): label %d, want %d", pairs[idx].Mask, x, y, b.Y[o], want)
				}
				ones += int(want)
			}
		}
	}
	if frac := float64(ones) / (2 * 256 * 256); frac < 0.01 || frac > 0.99 {
		t.Errorf("ice fraction %g: masks all one class", frac)
	}
}

func decodeStd(t testing.TB, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Halving with half-pixel centres: bilinear averages each 2×2 block and
// nearest takes its lower-right pixel, as tf.image.resize does.
func TestResizeHalvesSeaIce(t *testing.T) {
	pairs := seaIcePairs(t, 2)
	full := collect(t, newFilesT(t, pairs, Decode{Scale: 255}, Options{}), 0, nil, 2)[0]
	half := collect(t, newFilesT(t, pairs, Decode{Scale: 255, Size: []int{128, 128}}, Options{}), 0, nil, 2)[0]
	for k := range 2 {
		for y := range 128 {
			for x := range 128 {
				for c := range 3 {
					at := func(yy, xx int) float64 { return float64(full.X[((k*256+yy)*256+xx)*3+c]) }
					want := (at(2*y, 2*x) + at(2*y, 2*x+1) + at(2*y+1, 2*x) + at(2*y+1, 2*x+1)) / 4
					if got := float64(half.X[((k*128+y)*128+x)*3+c]); math.Abs(got-want) > 1e-5 {
						t.Fatalf("example %d (%d,%d,%d): %g, want block mean %g", k, y, x, c, got, want)
					}
				}
				if got, want := half.Y[(k*128+y)*128+x], full.Y[(k*256+2*y+1)*256+2*x+1]; got != want {
					t.Fatalf("example %d label (%d,%d): %d, want %d", k, y, x, got, want)
				}
			}
		}
	}
}

func TestResizeKernels(t *testing.T) {
	up := make([]float32, 4)
	resizeBilinear(up, 1, 4, []float32{0, 1}, 1, 2, 1)
	if !slices.Equal(up, []float32{0, 0.25, 0.75, 1}) {
		t.Errorf("bilinear 2→4: %v, want tf.image.resize's [0 0.25 0.75 1]", up)
	}
	rgb := make([]float32, 2*3)
	resizeBilinear(rgb, 2, 1, []float32{0, 10, 20, 2, 12, 22, 4, 14, 24, 6, 16, 26}, 4, 1, 3)
	if !slices.Equal(rgb, []float32{1, 11, 21, 5, 15, 25}) {
		t.Errorf("bilinear 4→2 rows, 3 channels: %v", rgb)
	}
	down, upN := make([]int32, 2), make([]int32, 6)
	ResizeLabels(down, 1, 2, []int32{0, 1, 2, 3}, 1, 4)
	ResizeLabels(upN, 1, 6, []int32{5, 6, 7}, 1, 3)
	if !slices.Equal(down, []int32{1, 3}) || !slices.Equal(upN, []int32{5, 5, 6, 6, 7, 7}) {
		t.Errorf("nearest 4→2 %v, 3→6 %v", down, upN)
	}
}

// Whatever the workers and prefetch, batches hold exactly the examples at
// order, augmented identically.
func TestOrderAndReproducibility(t *testing.T) {
	noLeak(t)
	pairs := seaIcePairs(t, 24)
	dec := Decode{Scale: 255, Size: []int{32, 32}}
	aug := augment.Config{HFlip: true, Rotation: 30, Zoom: augment.Range{0.8, 1.2}, Shift: 0.1, Brightness: augment.Range{0.9, 1.1}}
	order := []int{5, 2, 9, 2, 23, 0, 17, 11, 3, 5, 8}
	ref := collect(t, newFilesT(t, pairs, dec, Options{Augment: aug, Seed: 9, Workers: 1, Prefetch: 4}), 3, order, 4)
	if len(ref) != 3 || ref[2].N != 3 {
		t.Fatalf("%d batches, last of %d; want 3, the last of 3", len(ref), ref[len(ref)-1].N)
	}
	got := collect(t, newFilesT(t, pairs, dec, Options{Augment: aug, Seed: 9, Workers: 3, Prefetch: 1}), 3, order, 4)
	for k := range ref {
		if !slices.Equal(ref[k].X, got[k].X) || !slices.Equal(ref[k].Y, got[k].Y) {
			t.Fatalf("batch %d differs between 1 worker and 3", k)
		}
	}
	// Example 2 appears twice in the same epoch: same index, same draw.
	px, py := 32*32*3, 32*32
	if !slices.Equal(ref[0].X[1*px:2*px], ref[0].X[3*px:4*px]) || !slices.Equal(ref[0].Y[1*py:2*py], ref[0].Y[3*py:4*py]) {
		t.Error("the same example differs within an epoch")
	}
	next := collect(t, newFilesT(t, pairs, dec, Options{Augment: aug, Seed: 9, Workers: 2}), 4, order, 4)
	if slices.Equal(ref[0].X, next[0].X) {
		t.Error("epoch 4 repeats epoch 3's augmentation")
	}

	// Without augmentation each slot is the example that order names.
	plain := collect(t, newFilesT(t, pairs, dec, Options{Workers: 3, Prefetch: 1}), 0, order, 4)
	for k, idx := range order {
		b := plain[k/4]
		want, err := dec.ReadImage(pairs[idx].Image)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(b.X[(k%4)*px:(k%4+1)*px], want.Data) {
			t.Fatalf("slot %d does not hold example %d", k, idx)
		}
	}

	f := newFilesT(t, pairs, dec, Options{})
	for _, bad := range [][]int{{0, 24}, {-1}} {
		for _, err := range f.Batches(0, bad, 2) {
			testkit.WantErr(t, err, "outside the 24 examples")
		}
	}
}

// A consumer that stops early leaves no goroutine behind, however far the
// workers had got.
func TestStopEarlyLeavesNoGoroutines(t *testing.T) {
	pairs := seaIcePairs(t, 40)
	f := newFilesT(t, pairs, Decode{Size: []int{64, 64}}, Options{Workers: 4, Prefetch: 3, Augment: augment.Config{Rotation: 10}})
	before := runtime.NumGoroutine()
	n, during := 0, 0
	for b, err := range f.Batches(0, nil, 4) {
		if err != nil {
			t.Fatal(err)
		}
		during = max(during, runtime.NumGoroutine())
		if n += b.N; n == 8 {
			break
		}
	}
	if during < before+5 {
		t.Errorf("%d goroutines while streaming, %d before: want 4 workers and a dispatcher more", during, before)
	}
	wantGoroutines(t, before)

	// Stopping before the first batch is ready.
	for range f.Batches(0, nil, 40) {
		break
	}
	wantGoroutines(t, before)
}

// The workers run ahead of the consumer by at most Prefetch batches.
func TestPrefetchIsBounded(t *testing.T) {
	noLeak(t)
	const size, prefetch = 3, 2
	var loaded atomic.Int32
	s := &stream{n: 60, h: 2, w: 2, c: 1, opt: Options{Workers: 4, Prefetch: prefetch}}
	s.load = func(i int, x []float32, y []int32) error {
		loaded.Add(1)
		x[0] = float32(i)
		return nil
	}
	yielded, ahead := 0, 0
	for b, err := range s.Batches(0, nil, size) {
		if err != nil {
			t.Fatal(err)
		}
		yielded++
		time.Sleep(5 * time.Millisecond) // a slow training step
		l := int(loaded.Load())
		if l > (yielded+prefetch)*size {
			t.Fatalf("after %d batches %d examples loaded; prefetch %d allows %d", yielded, l, prefetch, (yielded+prefetch)*size)
		}
		ahead = max(ahead, l-yielded*size)
		if b.X[0] != float32((yielded-1)*size) {
			t.Fatalf("batch %d starts with example %g", yielded, b.X[0])
		}
	}
	if yielded != 20 || ahead < size {
		t.Errorf("%d batches; workers were at most %d examples ahead", yielded, ahead)
	}
}

func TestMemorySource(t *testing.T) {
	noLeak(t)
	pairs := seaIcePairs(t, 10)
	dec := Decode{Scale: 255, Size: []int{24, 24}}
	aug := augment.Config{VFlip: true, Rot90: true, Rotation: 15, Contrast: augment.Range{0.8, 1.2}, Noise: 0.01, Fill: "reflect"}
	opt := Options{Augment: aug, Seed: 5, Workers: 2}
	files := newFilesT(t, pairs, dec, opt)
	mem, err := files.Load()
	if err != nil {
		t.Fatal(err)
	}
	if mem.Len() != 10 || !slices.Equal(mem.InputShape(), []int{24, 24, 3}) || !slices.Equal(mem.LabelShape(), []int{24, 24}) {
		t.Fatalf("memory source: %d examples, %v, %v", mem.Len(), mem.InputShape(), mem.LabelShape())
	}
	// Decoding once and augmenting from memory gives what streaming gives.
	order := []int{9, 3, 0, 7, 7, 1}
	a, b := collect(t, files, 2, order, 4), collect(t, mem, 2, order, 4)
	for k := range a {
		if !slices.Equal(a[k].X, b[k].X) || !slices.Equal(a[k].Y, b[k].Y) {
			t.Fatalf("batch %d: memory and files differ", k)
		}
	}

	x := make([]float32, 2*3*4*1)
	y := make([]int32, 2*3*4)
	for i := range x {
		x[i], y[i] = float32(i), int32(i%3)
	}
	m, err := NewMemory(x, y, []int{3, 4, 1}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, m, 0, []int{1}, 8)[0]
	if got.N != 1 || !slices.Equal(got.X, x[12:]) || !slices.Equal(got.Y, y[12:]) {
		t.Errorf("example 1: %v %v", got.X, got.Y)
	}
	_, err = NewMemory(x[:23], y, []int{3, 4, 1}, Options{})
	testkit.WantErr(t, err, "23 image and 24 mask values")
	_, err = NewMemory(x, y, []int{3, 4}, Options{})
	testkit.WantErr(t, err, "[H, W, C]")
	y[20] = -2
	_, err = NewMemory(x, y, []int{3, 4, 1}, Options{})
	testkit.WantErr(t, err, "example 1 has label -2")
	_, err = NewMemory(x[:12], y[:12], []int{3, 4, 1}, Options{Augment: augment.Config{Rot90: true}})
	testkit.WantErr(t, err, "square")
}

// A cached folder gives the same batches as a streamed one.
func TestCache(t *testing.T) {
	root := t.TempDir()
	for i, n := range []string{"a", "b", "c", "d", "e"} {
		synthPair(t, root, n, 8, 8, i)
	}
	cfg := FolderConfig{Root: root, Split: SplitConfig{Test: 0.4}, Options: Options{Augment: augment.Config{HFlip: true, Rot90: true}, Seed: 3}}
	streamed, err := OpenFolders(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Cache = true
	cached, err := OpenFolders(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cached.Train.(*Memory); !ok {
		t.Fatalf("cached train set is a %T", cached.Train)
	}
	for _, pair := range [][2]datasets.Source{{streamed.Train, cached.Train}, {streamed.Test, cached.Test}} {
		a, b := collect(t, pair[0], 1, nil, 2), collect(t, pair[1], 1, nil, 2)
		for k := range a {
			if !slices.Equal(a[k].X, b[k].X) || !slices.Equal(a[k].Y, b[k].Y) {
				t.Fatalf("batch %d differs when cached", k)
			}
		}
	}
	// Only the training set is augmented: the test set repeats over epochs.
	t0, t1 := collect(t, cached.Test, 0, nil, 2), collect(t, cached.Test, 1, nil, 2)
	if !slices.Equal(t0[0].X, t1[0].X) {
		t.Error("test set augmented")
	}
}

// Single-band TIFFs through GDAL: SpaceNet's 900² uint16 image and its
// 0/255 building mask, resized.
func TestSingleBandTIFF(t *testing.T) {
	src := filepath.Join("..", "..", "shared", "data", "spacenet_buildings")
	if _, err := os.Stat(filepath.Join(src, "mask.tif")); err != nil {
		t.Skipf("shared data spacenet_buildings not available (needs ../shared next to the repository): %v", err)
	}
	if _, err := raster.Stat(filepath.Join(src, "mask.tif")); err != nil && strings.Contains(err.Error(), "without cgo") {
		t.Skip("built without cgo: no GDAL to read TIFFs")
	}
	root := t.TempDir()
	for _, l := range [][2]string{{"image.tif", "image/atl.tif"}, {"mask.tif", "label/atl.tif"}} {
		abs, _ := filepath.Abs(filepath.Join(src, l[0]))
		os.MkdirAll(filepath.Dir(filepath.Join(root, l[1])), 0o755)
		if err := os.Symlink(abs, filepath.Join(root, l[1])); err != nil {
			t.Fatal(err)
		}
	}
	sets, err := OpenFolders(FolderConfig{Root: root, Decode: Decode{Size: []int{90, 90}, Scale: 65535}})
	if err != nil {
		t.Fatal(err)
	}
	if got := sets.Train.InputShape(); !slices.Equal(got, []int{90, 90, 1}) {
		t.Fatalf("input shape %v", got)
	}
	b := collect(t, sets.Train, 0, nil, 1)[0]
	ones := 0
	for _, v := range b.Y {
		ones += int(v)
	}
	lo, hi := slices.Min(b.X), slices.Max(b.X)
	if ones == 0 || ones == len(b.Y) || lo < 0 || hi > 1 || hi == lo {
		t.Errorf("%d of %d building pixels, values %g..%g", ones, len(b.Y), lo, hi)
	}
}

// A 16-bit mask goes through the course's threshold unchanged: 0 stays
// background and 65535 is far above 127.5.
func TestSixteenBitMask(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.png")
	m := image.NewGray16(image.Rect(0, 0, 2, 1))
	m.SetGray16(1, 0, color.Gray16{Y: 65535})
	writeImage(t, p, m)
	labels, h, w, err := Decode{}.ReadMask(p)
	if err != nil || h != 1 || w != 2 || !slices.Equal(labels, []int32{0, 1}) {
		t.Errorf("16-bit mask: %v %d×%d %v", labels, w, h, err)
	}
}
