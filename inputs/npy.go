package inputs

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/sbinet/npyio/npy"
)

const npyMagic = "\x93NUMPY"

// loadNPY validates what npyio trusts: it reads past a short file as if the
// missing samples were zeros, and panics on some malformed headers. So the
// preamble and the data length are checked here, and npyio only parses the
// header dictionary and decodes samples already known to be present.
func loadNPY(path string) (*Array, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("inputs: %w", err)
	}
	fail := func(format string, args ...any) (*Array, error) {
		return nil, fmt.Errorf("inputs: %s: "+format, append([]any{path}, args...)...)
	}

	if len(raw) < 10 || string(raw[:6]) != npyMagic {
		return fail("not a .npy file (bad magic)")
	}
	var pre, start int // start of the header dictionary and of the data
	switch raw[6] {
	case 1:
		pre = 10
		start = pre + int(binary.LittleEndian.Uint16(raw[8:10]))
	case 2:
		if len(raw) < 12 {
			return fail("truncated .npy header")
		}
		pre = 12
		start = pre + int(binary.LittleEndian.Uint32(raw[8:12]))
	default:
		return fail("unsupported .npy format version %d.%d", raw[6], raw[7])
	}
	if start > len(raw) {
		return fail("truncated .npy header: it announces %d bytes, the file has %d", start, len(raw))
	}
	if !bytes.Contains(raw[pre:start], []byte{'\n'}) {
		return fail("malformed .npy header: no terminating newline")
	}

	rd, err := guard(func() (*npy.Reader, error) { return npy.NewReader(bytes.NewReader(raw)) })
	if err != nil {
		return fail("malformed .npy header: %v", err)
	}
	hdr := rd.Header.Descr
	rt := npy.TypeFrom(hdr.Type)
	if rt == nil || !numericKinds[rt.Kind()] {
		return fail("unsupported dtype %q (want bool, integer or float)", hdr.Type)
	}
	n, err := numElems(hdr.Shape)
	if err != nil {
		return fail("bad header: %v", err)
	}
	if want, have := uint64(n)*uint64(rt.Size()), uint64(len(raw)-start); have != want {
		if have < want {
			return fail("truncated: shape %v of %s needs %d data bytes, the file has %d", hdr.Shape, hdr.Type, want, have)
		}
		return fail("%d bytes of trailing data after the %v %s array", have-want, hdr.Shape, hdr.Type)
	}

	data, err := guard(func() ([]float32, error) { return decode(rd, rt.Kind(), n) })
	if err != nil {
		return fail("decoding %s data: %v", hdr.Type, err)
	}
	shape := append([]int{}, hdr.Shape...)
	if hdr.Fortran && len(shape) > 1 {
		data = fortranToC(data, shape)
	}
	return &Array{Shape: shape, Data: data}, nil
}

var numericKinds = map[reflect.Kind]bool{
	reflect.Bool: true, reflect.Int8: true, reflect.Int16: true, reflect.Int32: true, reflect.Int64: true,
	reflect.Uint8: true, reflect.Uint16: true, reflect.Uint32: true, reflect.Uint64: true,
	reflect.Float32: true, reflect.Float64: true,
}

// guard turns a panic inside npyio into an error, so that a hostile file
// cannot take the process down.
func guard[T any](f func() (T, error)) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("npyio: %v", p)
		}
	}()
	return f()
}

func decode(rd *npy.Reader, kind reflect.Kind, n int) ([]float32, error) {
	switch kind {
	case reflect.Bool:
		v := make([]bool, n)
		if err := rd.Read(&v); err != nil {
			return nil, err
		}
		out := make([]float32, n)
		for i, b := range v {
			if b {
				out[i] = 1
			}
		}
		return out, nil
	case reflect.Int8:
		return readAs[int8](rd, n)
	case reflect.Int16:
		return readAs[int16](rd, n)
	case reflect.Int32:
		return readAs[int32](rd, n)
	case reflect.Int64:
		return readAs[int64](rd, n)
	case reflect.Uint8:
		return readAs[uint8](rd, n)
	case reflect.Uint16:
		return readAs[uint16](rd, n)
	case reflect.Uint32:
		return readAs[uint32](rd, n)
	case reflect.Uint64:
		return readAs[uint64](rd, n)
	case reflect.Float32:
		return readAs[float32](rd, n)
	}
	return readAs[float64](rd, n)
}

type number interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64
}

func readAs[T number](rd *npy.Reader, n int) ([]float32, error) {
	v := make([]T, n)
	if err := rd.Read(&v); err != nil {
		return nil, err
	}
	out := make([]float32, n)
	for i, x := range v {
		out[i] = float32(x)
	}
	return out, nil
}

// fortranToC reorders column-major samples (first index fastest) into the
// row-major order Array promises.
func fortranToC(src []float32, shape []int) []float32 {
	dst := make([]float32, len(src))
	strides := make([]int, len(shape)) // row-major strides
	s := 1
	for d := len(shape) - 1; d >= 0; d-- {
		strides[d] = s
		s *= shape[d]
	}
	idx := make([]int, len(shape))
	c := 0 // row-major offset of idx
	for _, v := range src {
		dst[c] = v
		for d := range idx {
			idx[d]++
			c += strides[d]
			if idx[d] < shape[d] {
				break
			}
			c -= idx[d] * strides[d]
			idx[d] = 0
		}
	}
	return dst
}

// SaveNPY writes a as a little-endian float32 .npy file (format 1.0). It
// writes a temporary file beside path and renames it into place, so a crash
// never leaves a partial file under the final name.
func SaveNPY(path string, a *Array) (err error) {
	if err := a.check(); err != nil {
		return fmt.Errorf("inputs: %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("inputs: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()

	w := bufio.NewWriter(tmp)
	w.WriteString(npyHeader(a.Shape))
	var b [4]byte
	for _, v := range a.Data {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		w.Write(b[:])
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("inputs: writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("inputs: writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("inputs: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("inputs: %w", err)
	}
	return nil
}

// npyHeader builds the format 1.0 preamble and dictionary, padded with
// spaces to a multiple of 64 bytes so the data is aligned, as numpy does.
// The keys stay in numpy's order, which npyio's parser relies on.
func npyHeader(shape []int) string {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = strconv.Itoa(d)
	}
	tuple := "(" + strings.Join(dims, ", ")
	if len(shape) == 1 {
		tuple += ","
	}
	tuple += ")"
	dict := "{'descr': '<f4', 'fortran_order': False, 'shape': " + tuple + ", }"
	pad := (64 - (10+len(dict)+1)%64) % 64
	dict += strings.Repeat(" ", pad) + "\n"
	var pre [10]byte
	copy(pre[:], npyMagic)
	pre[6], pre[7] = 1, 0
	binary.LittleEndian.PutUint16(pre[8:], uint16(len(dict)))
	return string(pre[:]) + dict
}
