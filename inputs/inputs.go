// Package inputs turns anything a user gives as input (a photo, a
// GeoTIFF, a NumPy array) into a float32 array the models can consume.
package inputs

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/tfrun/tfrun/raster"
)

// Array is a dense row-major float32 array. Images are [H, W, C].
type Array struct {
	Shape []int
	Data  []float32
}

// Load reads path, choosing the decoder by its extension:
//   - .png .jpg .jpeg: [H, W, 1] for grey images, [H, W, 3] for colour ones
//     (alpha is dropped); 8-bit samples are 0..255, 16-bit ones 0..65535.
//   - .tif .tiff: every band through package raster, [H, W, bands].
//   - .npy: any integer, float or bool dtype, in its own shape.
func Load(path string) (*Array, error) {
	ext := strings.ToLower(filepath.Ext(path))
	switch ext {
	case ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".npy":
	default:
		return nil, fmt.Errorf("inputs: %s: unknown extension %q (want .png, .jpg, .jpeg, .tif, .tiff or .npy)", path, ext)
	}
	if st, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("inputs: %w", err)
	} else if st.IsDir() {
		return nil, fmt.Errorf("inputs: %s: is a directory", path)
	}
	switch ext {
	case ".tif", ".tiff":
		info, data, err := raster.ReadAll(path)
		if err != nil {
			return nil, err
		}
		return &Array{Shape: []int{info.Height, info.Width, info.Bands}, Data: data}, nil
	case ".npy":
		return loadNPY(path)
	}
	return loadImage(path)
}

// ToGray converts [H, W, 3] RGB to [H, W, 1] luma with the ITU-R BT.601
// weights, the same as PIL's convert("L") and Keras' rgb_to_grayscale
// without their rounding. A [H, W, 1] array is returned as is.
func ToGray(a *Array) (*Array, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	if len(a.Shape) != 3 || (a.Shape[2] != 1 && a.Shape[2] != 3) {
		return nil, fmt.Errorf("inputs: ToGray needs an [H, W, 1] or [H, W, 3] image, got shape %v", a.Shape)
	}
	if a.Shape[2] == 1 {
		return a, nil
	}
	h, w := a.Shape[0], a.Shape[1]
	out := &Array{Shape: []int{h, w, 1}, Data: make([]float32, h*w)}
	for i := range out.Data {
		p := a.Data[3*i : 3*i+3]
		out.Data[i] = 0.299*p[0] + 0.587*p[1] + 0.114*p[2]
	}
	return out, nil
}

// check reports an Array whose shape and data disagree, which would
// otherwise surface later as an index panic.
func (a *Array) check() error {
	if a == nil {
		return errors.New("inputs: nil array")
	}
	n, err := numElems(a.Shape)
	if err != nil {
		return fmt.Errorf("inputs: %w", err)
	}
	if n != len(a.Data) {
		return fmt.Errorf("inputs: shape %v holds %d values but the array has %d", a.Shape, n, len(a.Data))
	}
	return nil
}

// numElems multiplies out a shape, refusing negative dimensions and
// products that overflow int (which a hostile .npy header can claim).
func numElems(shape []int) (int, error) {
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		if d == 0 {
			return 0, nil
		}
	}
	n := 1
	for _, d := range shape {
		if n > math.MaxInt/d {
			return 0, fmt.Errorf("shape %v has too many elements", shape)
		}
		n *= d
	}
	return n, nil
}
