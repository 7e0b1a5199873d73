package pipeline

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tfrun/tfrun/datasets"
	"github.com/tfrun/tfrun/inputs"
	"github.com/tfrun/tfrun/raster"
)

// Decode says how stored files become model inputs and labels.
type Decode struct {
	// Size is [height, width] to resize to: bilinear for images, nearest
	// neighbour for masks, both with half-pixel centres as tf.image.resize.
	// Empty keeps the files' own size, which must then be the same for all.
	Size []int `yaml:"size,omitempty"`
	// Channels is 3 for RGB (grey images are repeated) or 1 for grey (RGB
	// becomes BT.601 luma); any other count must match the files' bands.
	// 0 takes the first image's.
	Channels int `yaml:"channels,omitempty"`
	// Scale divides pixel values (255 in the course); 0 keeps them.
	Scale float64 `yaml:"scale,omitempty"`
	// Classes lists the mask values of classes 0, 1, 2, ... Empty means
	// binary masks, thresholded as the course does: value/255 > 0.5.
	Classes []int `yaml:"classes,omitempty"`
	// Ignore is a mask value labelled -1: pixels without ground truth.
	Ignore *int `yaml:"ignore,omitempty"`
}

// binaryTolerance is how far (in 8-bit levels) the channels of a grey mask
// saved in colour may disagree: JPEG's chroma noise moves them a few
// levels, a genuinely coloured mask far more.
const binaryTolerance = 32

func (d Decode) validate() error {
	var errs []error
	if len(d.Size) != 0 && (len(d.Size) != 2 || d.Size[0] < 1 || d.Size[1] < 1) {
		errs = append(errs, fmt.Errorf("pipeline: size %v: want [height, width], both ≥ 1", d.Size))
	}
	if d.Channels < 0 {
		errs = append(errs, fmt.Errorf("pipeline: channels %d: want ≥ 1, or 0 for the files'", d.Channels))
	}
	if !(d.Scale >= 0) || math.IsInf(d.Scale, 0) {
		errs = append(errs, fmt.Errorf("pipeline: scale %g: want a positive divisor, or 0 for none", d.Scale))
	}
	seen := map[int]bool{}
	for _, v := range d.Classes {
		if seen[v] {
			errs = append(errs, fmt.Errorf("pipeline: classes %v: value %d listed twice", d.Classes, v))
		}
		seen[v] = true
	}
	if d.Ignore != nil && seen[*d.Ignore] {
		errs = append(errs, fmt.Errorf("pipeline: ignore %d is also one of the classes %v", *d.Ignore, d.Classes))
	}
	return errors.Join(errs...)
}

// ReadImage reads an image with the configured channels, size and scale,
// as [H, W, Channels].
func (d Decode) ReadImage(path string) (*inputs.Array, error) {
	a, _, _, err := d.ReadImageSize(path)
	return a, err
}

// ReadImageSize is ReadImage that also gives the file's own height and
// width, for mapping predictions back onto the image.
func (d Decode) ReadImageSize(path string) (a *inputs.Array, h, w int, err error) {
	if a, err = d.readImage(path); err != nil {
		return nil, 0, 0, err
	}
	h, w = a.Shape[0], a.Shape[1]
	if len(d.Size) == 2 {
		out := &inputs.Array{Shape: []int{d.Size[0], d.Size[1], a.Shape[2]}, Data: make([]float32, d.Size[0]*d.Size[1]*a.Shape[2])}
		resizeBilinear(out.Data, d.Size[0], d.Size[1], a.Data, a.Shape[0], a.Shape[1], a.Shape[2])
		a = out
	}
	datasets.Preprocess{Scale: d.Scale}.Apply(a.Data)
	return a, h, w, nil
}

// readImage reads an image at its own size with the configured channels,
// unscaled.
func (d Decode) readImage(path string) (*inputs.Array, error) {
	a, err := inputs.Load(path)
	if err != nil {
		return nil, err
	}
	if len(a.Shape) != 3 {
		return nil, fmt.Errorf("pipeline: %s: not an image (shape %v)", path, a.Shape)
	}
	h, w, c := a.Shape[0], a.Shape[1], a.Shape[2]
	switch {
	case d.Channels == 0 || c == d.Channels:
		return a, nil
	case c == 3 && d.Channels == 1:
		return inputs.ToGray(a)
	case c == 1 && d.Channels == 3:
		out := &inputs.Array{Shape: []int{h, w, 3}, Data: make([]float32, h*w*3)}
		for i, v := range a.Data {
			out.Data[3*i], out.Data[3*i+1], out.Data[3*i+2] = v, v, v
		}
		return out, nil
	}
	return nil, fmt.Errorf("pipeline: %s: has %d channels, and channels: %d converts only between 1 and 3", path, c, d.Channels)
}

// ReadMask reads a mask at its own size as labels: 0/1 for binary masks,
// class ids for Classes, -1 for Ignore. A colour mask is accepted when it
// is grey, that is when its channels agree (within a JPEG's noise for
// binary masks, exactly for classes).
func (d Decode) ReadMask(path string) (labels []int32, h, w int, err error) {
	a, err := inputs.Load(path)
	if err != nil {
		return nil, 0, 0, err
	}
	if len(a.Shape) != 3 || (a.Shape[2] != 1 && a.Shape[2] != 3) {
		return nil, 0, 0, fmt.Errorf("pipeline: %s: a mask needs one band (or three equal ones), got shape %v", path, a.Shape)
	}
	h, w = a.Shape[0], a.Shape[1]
	c := a.Shape[2]
	tol := float32(0)
	if len(d.Classes) == 0 {
		tol = binaryTolerance
	}
	labels = make([]int32, h*w)
	for i := range labels {
		p := a.Data[i*c : i*c+c]
		v := p[0]
		if c == 3 {
			if max(p[0], p[1], p[2])-min(p[0], p[1], p[2]) > tol {
				return nil, 0, 0, fmt.Errorf("pipeline: %s: pixel (row %d, col %d) is (%g, %g, %g): a mask must be grey, not colour", path, i/w, i%w, p[0], p[1], p[2])
			}
			v = (p[0] + p[1] + p[2]) / 3
		}
		if labels[i], err = d.label(v); err != nil {
			return nil, 0, 0, fmt.Errorf("pipeline: %s: pixel (row %d, col %d): %v", path, i/w, i%w, err)
		}
	}
	return labels, h, w, nil
}

func (d Decode) label(v float32) (int32, error) {
	if d.Ignore != nil && v == float32(*d.Ignore) {
		return -1, nil
	}
	if len(d.Classes) == 0 {
		if v/255 > 0.5 {
			return 1, nil
		}
		return 0, nil
	}
	if v == float32(int(v)) {
		if k := slices.Index(d.Classes, int(v)); k >= 0 {
			return int32(k), nil
		}
	}
	return 0, fmt.Errorf("value %g is not one of the classes %v", v, d.Classes)
}

// header is what a file's header says without decoding pixels.
type header struct{ h, w, c int }

// readHeader mirrors inputs.Load's choice of decoder, so a pair's sizes can
// be checked before any pixel is decoded.
func readHeader(path string) (header, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".tif", ".tiff":
		info, err := raster.Stat(path)
		if err != nil {
			return header{}, err
		}
		return header{info.Height, info.Width, info.Bands}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return header{}, fmt.Errorf("pipeline: %w", err)
	}
	defer f.Close()
	cfg, format, err := image.DecodeConfig(bufio.NewReader(f))
	if err != nil {
		return header{}, fmt.Errorf("pipeline: %s: corrupt or unsupported image: %v", path, err)
	}
	if cfg.Width < 1 || cfg.Height < 1 {
		return header{}, fmt.Errorf("pipeline: %s: empty %s image", path, format)
	}
	// inputs.Load turns every model but grey into RGB.
	c := 3
	switch cfg.ColorModel {
	case color.GrayModel, color.Gray16Model:
		c = 1
	}
	return header{cfg.Height, cfg.Width, c}, nil
}
