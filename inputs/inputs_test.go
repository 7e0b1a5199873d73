package inputs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tfrun/tfrun/internal/testkit"
	"github.com/tfrun/tfrun/raster"
)

var (
	shared  = testkit.Shared
	wantErr = testkit.WantErr
)

func wantShape(t *testing.T, a *Array, shape ...int) {
	t.Helper()
	if !slices.Equal(a.Shape, shape) {
		t.Fatalf("shape %v, want %v", a.Shape, shape)
	}
	if err := a.check(); err != nil {
		t.Fatal(err)
	}
}

// compareWithGDAL checks our JPEG decode against GDAL's libjpeg decode of
// the same file. The two decoders differ in IDCT and chroma upsampling, so
// only small per-sample differences are allowed.
func compareWithGDAL(t *testing.T, path string, a *Array) {
	t.Helper()
	info, ref, err := raster.ReadAll(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Shape, []int{info.Height, info.Width, info.Bands}) {
		t.Fatalf("shape %v, GDAL reads %d×%d×%d", a.Shape, info.Height, info.Width, info.Bands)
	}
	var sum, worst float64
	for i, v := range a.Data {
		d := math.Abs(float64(v - ref[i]))
		sum += d
		worst = max(worst, d)
	}
	if mean := sum / float64(len(ref)); mean > 1 || worst > 8 {
		t.Errorf("differs from GDAL's decode: mean |Δ| %.3f, max |Δ| %.0f", mean, worst)
	}
}

func TestDigitJPEG(t *testing.T) {
	path := shared(t, "course/digit_1.jpg")
	a, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	wantShape(t, a, 28, 28, 3)
	lo, hi := slices.Min(a.Data), slices.Max(a.Data)
	if lo < 0 || hi > 255 || hi-lo < 100 {
		t.Errorf("values span %v..%v, want a contrasted 8-bit photo", lo, hi)
	}
	compareWithGDAL(t, path, a)

	g, err := ToGray(a)
	if err != nil {
		t.Fatal(err)
	}
	wantShape(t, g, 28, 28, 1)
}

func TestSeaIceJPEGs(t *testing.T) {
	img := shared(t, "sea_ice/image/sea_ice_001.jpg")
	a, err := Load(img)
	if err != nil {
		t.Fatal(err)
	}
	wantShape(t, a, 256, 256, 3)
	compareWithGDAL(t, img, a)

	// Labels are single-component JPEGs, which must stay one channel.
	lbl := shared(t, "sea_ice/label/sea_ice_001.jpg")
	l, err := Load(lbl)
	if err != nil {
		t.Fatal(err)
	}
	wantShape(t, l, 256, 256, 1)
	compareWithGDAL(t, lbl, l)
}

func writePNG(t *testing.T, img image.Image) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "img.png")
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPNGVariants(t *testing.T) {
	r := image.Rect(0, 0, 3, 2)
	cases := []struct {
		name  string
		img   func() image.Image
		shape []int
		want  []float32
	}{
		{"gray8", func() image.Image {
			m := image.NewGray(r)
			m.SetGray(2, 1, color.Gray{Y: 201})
			return m
		}, []int{2, 3, 1}, []float32{0, 0, 0, 0, 0, 201}},
		{"gray16 keeps 0..65535", func() image.Image {
			m := image.NewGray16(r)
			m.SetGray16(0, 0, color.Gray16{Y: 65535})
			m.SetGray16(1, 1, color.Gray16{Y: 1234})
			return m
		}, []int{2, 3, 1}, []float32{65535, 0, 0, 0, 1234, 0}},
		{"rgb", func() image.Image {
			m := image.NewRGBA(r)
			m.Set(1, 0, color.RGBA{10, 20, 30, 255})
			for i := 3; i < len(m.Pix); i += 4 {
				m.Pix[i] = 255
			}
			return m
		}, []int{2, 3, 3}, []float32{0, 0, 0, 10, 20, 30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"rgba drops alpha", func() image.Image {
			m := image.NewNRGBA(r)
			m.SetNRGBA(2, 1, color.NRGBA{200, 100, 50, 128})
			return m
		}, []int{2, 3, 3}, []float32{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200, 100, 50}},
		{"rgb16", func() image.Image {
			m := image.NewNRGBA64(r)
			m.SetNRGBA64(0, 0, color.NRGBA64{65535, 300, 7, 65535})
			return m
		}, []int{2, 3, 3}, []float32{65535, 300, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
		{"paletted", func() image.Image {
			m := image.NewPaletted(r, color.Palette{color.RGBA{1, 2, 3, 255}, color.RGBA{250, 128, 0, 255}})
			m.SetColorIndex(1, 1, 1)
			return m
		}, []int{2, 3, 3}, []float32{1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 250, 128, 0, 1, 2, 3}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := Load(writePNG(t, c.img()))
			if err != nil {
				t.Fatal(err)
			}
			wantShape(t, a, c.shape...)
			if !slices.Equal(a.Data, c.want) {
				t.Errorf("data %v, want %v", a.Data, c.want)
			}
		})
	}
}

func TestCorruptImages(t *testing.T) {
	dir := t.TempDir()
	cut := func(src, name string, keep float64) string {
		raw, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, raw[:int(float64(len(raw))*keep)], 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	// Cut inside the scan data: the header parses, the pixels do not.
	p := cut(shared(t, "sea_ice/image/sea_ice_001.jpg"), "short.jpg", 0.6)
	_, err := Load(p)
	wantErr(t, err, p, "corrupt jpeg")

	// Cut inside the EXIF block, before the frame header.
	p = cut(shared(t, "course/digit_1.jpg"), "stub.jpg", 0.3)
	_, err = Load(p)
	wantErr(t, err, p, "corrupt or unsupported image")

	png := filepath.Join(dir, "noise.png")
	if err := os.WriteFile(png, []byte("\x89PNG\r\n\x1a\nthis is not a chunk"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(png)
	wantErr(t, err, png, "corrupt or unsupported image")
}

func TestGeoTIFF(t *testing.T) {
	a, err := Load(shared(t, "rasterio/RGB.byte.tif"))
	if err != nil {
		t.Fatal(err)
	}
	wantShape(t, a, 718, 791, 3)
	i := (359*791 + 395) * 3 // pixel (col 395, row 359), per gdallocationinfo
	if got := a.Data[i : i+3]; !slices.Equal(got, []float32{18, 25, 14}) {
		t.Errorf("pixel (395, 359) = %v, want [18 25 14]", got)
	}

	corrupt := shared(t, "rasterio/corrupt.tif")
	_, err = Load(corrupt)
	wantErr(t, err, corrupt)
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.png")
	_, err := Load(missing)
	wantErr(t, err, missing, "no such file")

	odd := filepath.Join(dir, "data.csv")
	_, err = Load(odd)
	wantErr(t, err, odd, `unknown extension ".csv"`)

	sub := filepath.Join(dir, "folder.npy")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = Load(sub)
	wantErr(t, err, sub, "is a directory")
}

func TestNPYRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.npy")
	want := &Array{Shape: []int{2, 3, 4}, Data: make([]float32, 24)}
	for i := range want.Data {
		want.Data[i] = float32(i)*0.5 - 3
	}
	want.Data[5] = float32(math.Inf(-1))
	if err := SaveNPY(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	wantShape(t, got, 2, 3, 4)
	if !slices.Equal(got.Data, want.Data) {
		t.Errorf("data %v, want %v", got.Data, want.Data)
	}
	// numpy aligns the data to 64 bytes; so must we.
	if raw, _ := os.ReadFile(path); (len(raw)-24*4)%64 != 0 {
		t.Errorf("header is %d bytes, not a multiple of 64", len(raw)-24*4)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after SaveNPY, want only a.npy", len(entries))
	}

	for _, shape := range [][]int{{5}, {}, {0, 3}} {
		n := 1
		for _, d := range shape {
			n *= d
		}
		a := &Array{Shape: shape, Data: make([]float32, n)}
		if err := SaveNPY(path, a); err != nil {
			t.Fatal(err)
		}
		b, err := Load(path)
		if err != nil {
			t.Fatalf("shape %v: %v", shape, err)
		}
		wantShape(t, b, shape...)
	}

	bad := &Array{Shape: []int{2, 2}, Data: []float32{1, 2, 3}}
	wantErr(t, SaveNPY(path, bad), path, "holds 4 values but the array has 3")
	wantErr(t, SaveNPY(filepath.Join(dir, "no", "such", "dir.npy"), want), filepath.Join(dir, "no", "such"))
}

func TestNPYCorrupt(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.npy")
	if err := SaveNPY(good, &Array{Shape: []int{10, 10}, Data: make([]float32, 100)}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	p := write("short-data.npy", raw[:len(raw)-7])
	_, err = Load(p)
	wantErr(t, err, p, "truncated", "needs 400 data bytes", "has 393")

	p = write("short-header.npy", raw[:40])
	_, err = Load(p)
	wantErr(t, err, p, "truncated .npy header")

	p = write("long.npy", append(slices.Clone(raw), 0, 0, 0, 0))
	_, err = Load(p)
	wantErr(t, err, p, "4 bytes of trailing data")

	p = write("magic.npy", []byte("PK\x03\x04 this is a zip, an .npz perhaps"))
	_, err = Load(p)
	wantErr(t, err, p, "bad magic")

	// A header without its newline makes npyio slice with index -1.
	noNL := slices.Clone(raw)
	noNL[63] = ' '
	p = write("no-newline.npy", noNL)
	_, err = Load(p)
	wantErr(t, err, p, "malformed .npy header")

	// A dictionary npyio cannot parse must not panic either.
	p = write("garbled.npy", npyFile("{'shape': (2,), 'descr': '<f4', 'fortran_order': False, }", 8))
	_, err = Load(p)
	wantErr(t, err, p, "malformed .npy header")

	p = write("complex.npy", npyFile("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", 8))
	_, err = Load(p)
	wantErr(t, err, p, `unsupported dtype "<c8"`)

	p = write("huge.npy", npyFile("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 8))
	_, err = Load(p)
	wantErr(t, err, p, "too many elements")
}

// npyFile builds a version 1.0 .npy file from a header dictionary and
// dataLen zero bytes, for headers SaveNPY would never write.
func npyFile(dict string, dataLen int) []byte {
	var b bytes.Buffer
	b.WriteString(npyMagic + "\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(dict)+1))
	b.WriteString(dict + "\n")
	b.Write(make([]byte, dataLen))
	return b.Bytes()
}

func TestNPYFortranOrder(t *testing.T) {
	// Column-major [2, 3]: memory holds a[0,0] a[1,0] a[0,1] a[1,1] ...
	var data bytes.Buffer
	for _, v := range []int16{0, 10, 1, 11, 2, 12} {
		binary.Write(&data, binary.BigEndian, v)
	}
	raw := append(npyFile("{'descr': '>i2', 'fortran_order': True, 'shape': (2, 3), }", 0), data.Bytes()...)
	path := filepath.Join(t.TempDir(), "f.npy")
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	wantShape(t, a, 2, 3)
	if want := []float32{0, 1, 2, 10, 11, 12}; !slices.Equal(a.Data, want) {
		t.Errorf("data %v, want %v", a.Data, want)
	}
}

// numpyPython returns a Python interpreter that can import numpy. Several
// are tried because a pyenv shim may shadow the system's python3.
func numpyPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(py, "-c", "import numpy").Run() == nil {
			return py
		}
	}
	t.Skip("no python3 with numpy found; skipping the numpy interoperability test")
	return ""
}

func TestNumpyInterop(t *testing.T) {
	py := numpyPython(t)
	dir := t.TempDir()
	ours := filepath.Join(dir, "ours.npy")
	if err := SaveNPY(ours, &Array{Shape: []int{2, 1, 3}, Data: []float32{1, 2, 3, 4, 5, -6.5}}); err != nil {
		t.Fatal(err)
	}
	script := `
import sys, numpy as np
d = sys.argv[1]
np.save(d + '/f64.npy', np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 4 - 1)
np.save(d + '/u8.npy', np.arange(250, 256, dtype=np.uint8).reshape(3, 2))
np.save(d + '/i16be.npy', np.array([-300, 7, 32767], dtype='>i2'))
np.save(d + '/fortran.npy', np.asfortranarray(np.arange(24, dtype=np.int64).reshape(2, 3, 4)))
np.save(d + '/bool.npy', np.array([True, False, True]))
np.save(d + '/scalar.npy', np.float32(2.5))
np.save(d + '/f16.npy', np.zeros(3, np.float16))
a = np.load(d + '/ours.npy')
print(a.dtype, a.shape, a.flags['C_CONTIGUOUS'], a.ravel().tolist())
`
	out, err := exec.Command(py, "-c", script, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", py, err, out)
	}
	if got, want := strings.TrimSpace(string(out)), "float32 (2, 1, 3) True [1.0, 2.0, 3.0, 4.0, 5.0, -6.5]"; got != want {
		t.Errorf("numpy reads our file as %q, want %q", got, want)
	}

	seq := func(n int, f func(int) float32) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = f(i)
		}
		return s
	}
	cases := []struct {
		file  string
		shape []int
		want  []float32
	}{
		{"f64.npy", []int{2, 3, 4}, seq(24, func(i int) float32 { return float32(i)/4 - 1 })},
		{"u8.npy", []int{3, 2}, seq(6, func(i int) float32 { return float32(250 + i) })},
		{"i16be.npy", []int{3}, []float32{-300, 7, 32767}},
		{"fortran.npy", []int{2, 3, 4}, seq(24, func(i int) float32 { return float32(i) })},
		{"bool.npy", []int{3}, []float32{1, 0, 1}},
		{"scalar.npy", []int{}, []float32{2.5}},
	}
	for _, c := range cases {
		a, err := Load(filepath.Join(dir, c.file))
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		if !slices.Equal(a.Shape, c.shape) || !slices.Equal(a.Data, c.want) {
			t.Errorf("%s: got %v %v, want %v %v", c.file, a.Shape, a.Data, c.shape, c.want)
		}
	}
	f16 := filepath.Join(dir, "f16.npy")
	_, err = Load(f16)
	wantErr(t, err, f16, `unsupported dtype "<f2"`)
}

func TestToGray(t *testing.T) {
	rgb := &Array{Shape: []int{1, 2, 3}, Data: []float32{255, 255, 255, 100, 50, 200}}
	g, err := ToGray(rgb)
	if err != nil {
		t.Fatal(err)
	}
	wantShape(t, g, 1, 2, 1)
	want := []float32{255, 0.299*100 + 0.587*50 + 0.114*200}
	for i := range want {
		if math.Abs(float64(g.Data[i]-want[i])) > 1e-3 {
			t.Errorf("gray %v, want %v", g.Data, want)
		}
	}
	one := &Array{Shape: []int{2, 1, 1}, Data: []float32{3, 4}}
	if same, err := ToGray(one); err != nil || same != one {
		t.Errorf("ToGray of a one-channel image = %v, %v; want it unchanged", same, err)
	}
	for _, a := range []*Array{
		{Shape: []int{1, 1, 4}, Data: make([]float32, 4)},
		{Shape: []int{3}, Data: make([]float32, 3)},
	} {
		_, err := ToGray(a)
		wantErr(t, err, fmt.Sprint(a.Shape))
	}
	_, err = ToGray(&Array{Shape: []int{1, 1, 3}, Data: make([]float32, 2)})
	wantErr(t, err, "holds 3 values but the array has 2")
}
