// Package mapping predicts over whole rasters (map sheets) with sliding
// windows. Windows are read in row order, batched for the engine, and their
// outputs blended into row strips that are handed on as soon as no later
// window can touch them, so memory grows with the window and the sheet's
// width, never with its height.
//
// A map model (output [H, W, classes]) gives per-pixel class
// probabilities; a classifier (output [classes]) gives one class per cell,
// a cell being the part of the window its neighbours do not overlap.
package mapping

import (
	"fmt"
	"slices"

	"github.com/tfrun/tfrun/scenes"
)

// Predictor runs a model on n examples of its input shape, giving n
// outputs of its output shape (infer.Runner and the TensorFlow runner
// satisfy it).
type Predictor interface {
	Predict(x []float32, n int) ([]float32, error)
}

// ModelInfo is what the sliding window needs to know of a model.
type ModelInfo struct {
	// Input is one window: [height, width, channels].
	Input []int
	// Output is [height, width, classes] for a map model, [classes] for a
	// classifier.
	Output []int
	// Activation is the output layer's: "softmax" and "sigmoid" outputs
	// are probabilities; anything else is taken as logits and turned into
	// probabilities here, so that windows always blend probabilities.
	Activation string
	// Scale divides raw raster values before the model (the saved
	// preprocessing of models trained on images); 0 or 1 keeps them.
	Scale float64
	// Raster is the fitted preprocessing of a model trained on rasters:
	// band selection, physical values, PCA, clipping, scaling and nodata.
	// When set, it replaces Scale and the sheet's own nodata values.
	Raster *scenes.Prep
}

// InBands is the band count a sheet needs.
func (m ModelInfo) InBands() int {
	if m.Raster != nil {
		return m.Raster.InBands()
	}
	return m.Input[2]
}

// grey tells whether a sheet of this many bands is turned to grey for the
// model, as predict does with colour images: RGB sheets for one-channel
// models trained on images or arrays.
func (m ModelInfo) grey(bands int) bool {
	return m.Raster == nil && bands == 3 && m.Input[2] == 1
}

// IsMap tells a per-pixel model from a classifier.
func (m ModelInfo) IsMap() bool { return len(m.Output) == 3 }

// Classes is the number of classes the model scores: a single sigmoid (or
// logit) channel scores two, background and object.
func (m ModelInfo) Classes() int {
	k := m.Output[len(m.Output)-1]
	if k == 1 {
		return 2
	}
	return k
}

func (m ModelInfo) validate() error {
	if len(m.Input) != 3 || slices.Min(m.Input) < 1 {
		return fmt.Errorf("the model takes %v; sliding windows need images [height, width, channels]", m.Input)
	}
	switch {
	case len(m.Output) == 3:
		if m.Output[0] != m.Input[0] || m.Output[1] != m.Input[1] {
			return fmt.Errorf("the model maps %d×%d windows to %d×%d outputs; map models must keep the window's size",
				m.Input[0], m.Input[1], m.Output[0], m.Output[1])
		}
	case len(m.Output) != 1:
		return fmt.Errorf("the model gives outputs of shape %v; want [classes] or [height, width, classes]", m.Output)
	}
	if m.Raster != nil && m.Raster.OutBands() != m.Input[2] {
		return fmt.Errorf("the raster preprocessing gives %d bands, the model takes %d", m.Raster.OutBands(), m.Input[2])
	}
	if m.Output[len(m.Output)-1] < 1 {
		return fmt.Errorf("the model gives no classes (output %v)", m.Output)
	}
	return nil
}

// Blend is how overlapping windows combine.
type Blend string

const (
	// Center keeps each window's central part only: the pixels it shares
	// with no neighbour, where its context is whole.
	Center Blend = "center"
	// Average weighs every pixel of every window equally.
	Average Blend = "average"
	// Gaussian weighs pixels by a Gaussian of their distance to the window
	// centre (σ = size/8), so edges, where a model sees least context,
	// count least.
	Gaussian Blend = "gaussian"
)

// Blends lists the blend modes.
var Blends = []Blend{Center, Average, Gaussian}

// ParseBlend checks a blend mode's name.
func ParseBlend(s string) (Blend, error) {
	if b := Blend(s); slices.Contains(Blends, b) {
		return b, nil
	}
	return "", fmt.Errorf("unknown blend %q (center, average or gaussian)", s)
}

// Options control the sliding window.
type Options struct {
	// Overlap is how many pixels neighbouring windows share, across and
	// down; the stride is the window size less the overlap.
	Overlap int
	// Blend combines overlapping map windows; classifiers ignore it.
	Blend Blend
	// Batch is how many windows go to the engine at once.
	Batch int
	// Progress, when set, is told after each row of windows how many of
	// the sheet's rows of windows are done.
	Progress func(done, total int)
}

// DefaultOverlap is a quarter of the window for map models, so that blending
// has room to hide window edges, and none for classifiers, whose cells are
// then whole windows.
func DefaultOverlap(m ModelInfo) int {
	if !m.IsMap() {
		return 0
	}
	return min(m.Input[0], m.Input[1]) / 4
}
