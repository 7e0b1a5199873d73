package history

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// courseLog is the course's Keras CSVLogger output for the sea-ice U-Net.
const courseLog = "../../shared/data/course/seaice_unet_10epochs_log.csv"

func threeEpochs() *History {
	h := &History{}
	for i, v := range [][4]float64{
		{0.61, 0.93, 0.72, 0.55},
		{0.80, 0.41, 0.83, 0.44},
		{0.88, 0.30, 0.85, 0.39},
	} {
		h.Add(Record{Epoch: i, Values: map[string]float64{
			"accuracy": v[0], "loss": v[1], "val_accuracy": v[2], "val_loss": v[3],
		}})
	}
	return h
}

func TestAddCopiesValues(t *testing.T) {
	var h History
	logs := map[string]float64{"loss": 1}
	h.Add(Record{Epoch: 0, Values: logs})
	logs["loss"] = 2
	h.Add(Record{Epoch: 1, Values: logs})
	if got := h.Records[0].Values["loss"]; got != 1 {
		t.Errorf("epoch 0 loss = %v after reusing the logs map, want 1", got)
	}
}

func TestBest(t *testing.T) {
	h := threeEpochs()
	h.Add(Record{Epoch: 3, Values: map[string]float64{"val_loss": math.NaN(), "val_accuracy": 0.85}})
	if r, ok := h.Best("val_loss", "min"); !ok || r.Epoch != 2 {
		t.Errorf("Best(val_loss, min) = epoch %d, %v; want 2, true (NaN skipped)", r.Epoch, ok)
	}
	// Epochs 2 and 3 tie; the first to reach it wins.
	if r, ok := h.Best("val_accuracy", "max"); !ok || r.Epoch != 2 {
		t.Errorf("Best(val_accuracy, max) = epoch %d, %v; want 2, true", r.Epoch, ok)
	}
	if _, ok := h.Best("val_accuracy", "auto"); ok {
		t.Error("unknown mode: want false")
	}
	if _, ok := h.Best("dice", "max"); ok {
		t.Error("absent key: want false")
	}
}

func TestCSVHeaderKerasOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.csv")
	if err := NewCSVLogger(path).Write(threeEpochs()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "epoch,accuracy,loss,val_accuracy,val_loss\n" +
		"0,0.61,0.93,0.72,0.55\n" +
		"1,0.8,0.41,0.83,0.44\n" +
		"2,0.88,0.3,0.85,0.39\n"
	if string(b) != want {
		t.Errorf("file:\n%s\nwant:\n%s", b, want)
	}
}

func TestPyRepr(t *testing.T) {
	// Expected strings are Python 3's repr of the same float.
	for v, want := range map[float64]string{
		0:                       "0.0",
		math.Copysign(0, -1):    "-0.0",
		1:                       "1.0",
		0.1:                     "0.1",
		-2.5:                    "-2.5",
		0.0001:                  "0.0001",
		0.00001:                 "1e-05",
		2.5e-7:                  "2.5e-07",
		1e15:                    "1000000000000000.0",
		1e16:                    "1e+16",
		1.5e300:                 "1.5e+300",
		123.456:                 "123.456",
		float64(float32(0.001)): "0.0010000000474974513",
		math.Inf(1):             "inf",
		math.Inf(-1):            "-inf",
	} {
		if got := pyRepr(v); got != want {
			t.Errorf("pyRepr(%g) = %q, want %q", v, got, want)
		}
	}
	if got := pyRepr(math.NaN()); got != "nan" {
		t.Errorf("pyRepr(NaN) = %q, want nan", got)
	}
}

func TestCSVRoundTrip(t *testing.T) {
	h := threeEpochs()
	// lr only from epoch 1 on, validation missing at epoch 3, a diverged
	// loss: exercises NA cells and non-finite values.
	for i := 1; i < 3; i++ {
		h.Records[i].Values["lr"] = float64(float32(0.001)) / float64(i)
	}
	h.Add(Record{Epoch: 3, Values: map[string]float64{"loss": math.Inf(1), "accuracy": 1e-5, "lr": 1e-4}})
	path := filepath.Join(t.TempDir(), "log.csv")
	if err := NewCSVLogger(path).Write(h); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	lines := strings.Split(string(b), "\n")
	if lines[0] != "epoch,accuracy,loss,lr,val_accuracy,val_loss" {
		t.Errorf("header %q", lines[0])
	}
	if lines[1] != "0,0.61,0.93,NA,0.72,0.55" || lines[4] != "3,1e-05,inf,0.0001,NA,NA" {
		t.Errorf("rows:\n%s", b)
	}

	got, err := ReadCSV(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, h) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, h)
	}
}

func TestCSVLoggerRewritesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "log.csv")
	l := NewCSVLogger(path)
	h := &History{}
	for i, r := range threeEpochs().Records {
		h.Add(r)
		if err := l.Write(h); err != nil {
			t.Fatal(err)
		}
		got, err := ReadCSV(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Records) != i+1 {
			t.Fatalf("after epoch %d the file has %d rows", i, len(got.Records))
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only log.csv (temp files left behind?)", len(entries))
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644", fi.Mode().Perm(), err)
	}

	bad := &History{}
	bad.Add(Record{Values: map[string]float64{"epoch": 1}})
	if err := l.Write(bad); err == nil {
		t.Error(`key "epoch": want error`)
	}
	if err := NewCSVLogger(filepath.Join(dir, "no", "such", "dir.csv")).Write(h); err == nil {
		t.Error("missing directory: want error")
	}
}

func TestReadCSVRejects(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"empty":      "",
		"no epoch":   "loss,accuracy\n1,2\n",
		"dup column": "epoch,loss,loss\n0,1,2\n",
		"bad epoch":  "epoch,loss\nx,1\n",
		"bad number": "epoch,loss\n0,[1 2]\n",
		"ragged":     "epoch,loss\n0,1,2\n",
	} {
		p := filepath.Join(dir, name+".csv")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadCSV(p); err == nil {
			t.Errorf("%s: want error", name)
		}
	}
}

func TestReadCourseLog(t *testing.T) {
	if _, err := os.Stat(courseLog); err != nil {
		t.Skipf("shared course data absent (%v)", err)
	}
	h, err := ReadCSV(courseLog)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Records) != 10 || h.Records[0].Epoch != 0 || h.Records[9].Epoch != 9 {
		t.Fatalf("got %d records, epochs %d..%d; want 10, 0..9",
			len(h.Records), h.Records[0].Epoch, h.Records[len(h.Records)-1].Epoch)
	}
	if got := h.Records[0].Values["loss"]; got != 1.2446296215057373 {
		t.Errorf("epoch 0 loss = %v", got)
	}
	if r, ok := h.Best("val_loss", "min"); !ok || r.Epoch != 8 {
		t.Errorf("best val_loss at epoch %d, want 8", r.Epoch)
	}
	// Keras wrote this file; ours must be byte-identical.
	want, _ := os.ReadFile(courseLog)
	path := filepath.Join(t.TempDir(), "log.csv")
	if err := NewCSVLogger(path).Write(h); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
		t.Errorf("rewritten course log differs:\n%s\nwant:\n%s", got, want)
	}
}

// checkPNG decodes path and checks its size and that it is not one flat
// colour.
func checkPNG(t *testing.T, path string, w, h int) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Fatalf("%s is %dx%d, want %dx%d", path, b.Dx(), b.Dy(), w, h)
	}
	colours := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, a := img.At(x, y).RGBA()
			colours[[4]uint32{r, g, bl, a}] = true
		}
	}
	if len(colours) < 3 {
		t.Errorf("%s has %d distinct colours; looks blank", path, len(colours))
	}
	return img
}

// hasColour reports whether some pixel in the rectangle is close to c,
// i.e. a curve of that colour was drawn there.
func hasColour(img image.Image, r image.Rectangle, c [3]uint8) bool {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			pr, pg, pb, _ := img.At(x, y).RGBA()
			d := func(p uint32, q uint8) int { return int(p>>8) - int(q) }
			if dr, dg, db := d(pr, c[0]), d(pg, c[1]), d(pb, c[2]); dr*dr+dg*dg+db*db < 300 {
				return true
			}
		}
	}
	return false
}

func TestPlotCurves(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "curves.png")
	h := threeEpochs()
	h.Records[2].Values["lr"] = 1e-3 // must not get a panel
	if err := PlotCurves(path, h, "three epochs"); err != nil {
		t.Fatal(err)
	}
	// Two panels of 600×450 px plus a 50 px title band.
	img := checkPNG(t, path, 1200, 500)
	blue, orange := [3]uint8{0x1f, 0x77, 0xb4}, [3]uint8{0xff, 0x7f, 0x0e}
	for _, half := range []image.Rectangle{image.Rect(0, 50, 600, 500), image.Rect(600, 50, 1200, 500)} {
		if !hasColour(img, half, blue) || !hasColour(img, half, orange) {
			t.Errorf("panel %v lacks a training (blue) or validation (orange) curve", half)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the PNG", len(entries))
	}

	// Training without validation still gets its panels; a single epoch
	// and a NaN value must not break the axes.
	solo := &History{}
	solo.Add(Record{Epoch: 0, Values: map[string]float64{"loss": 0.5, "accuracy": math.NaN(), "dice": 0.4}})
	if err := PlotCurves(path, solo, "one epoch"); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, path, 1800, 500)

	if err := PlotCurves(path, &History{}, "empty"); err == nil {
		t.Error("empty history: want error")
	}
}

func TestPlotCourseLog(t *testing.T) {
	if _, err := os.Stat(courseLog); err != nil {
		t.Skipf("shared course data absent (%v)", err)
	}
	h, err := ReadCSV(courseLog)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "seaice_Loss_Acc_epoch.png")
	if err := PlotCurves(path, h, "Sea-ice U-Net, 10 epochs"); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, path, 1200, 500)
}

func TestEpochTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		want   []float64
	}{
		{-0.1, 2.1, []float64{0, 1, 2}},
		{-1, 1, []float64{-1, 0, 1}},
		{0, 9, []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{0, 29, []float64{0, 5, 10, 15, 20, 25}},
		{0.5, 199, []float64{20, 40, 60, 80, 100, 120, 140, 160, 180}},
	} {
		var got []float64
		for _, tk := range (epochTicks{}).Ticks(tc.lo, tc.hi) {
			got = append(got, tk.Value)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Ticks(%v, %v) = %v, want %v", tc.lo, tc.hi, got, tc.want)
		}
	}
}
