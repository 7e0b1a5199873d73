// Package datasets turns the data sources a config names ("mnist:train",
// "npy:images.npy,labels.npy") into in-memory example arrays.
package datasets

import (
	"fmt"
	"strings"

	"github.com/tfrun/tfrun/datasets/mnist"
	"github.com/tfrun/tfrun/inputs"
	"github.com/tfrun/tfrun/internal/dims"
)

// Arrays holds N labelled examples, row-major, each of shape Shape.
type Arrays struct {
	X     []float32
	Y     []int32
	Shape []int
	N     int
}

// ExampleSize is the number of values per example.
func (a *Arrays) ExampleSize() int { return dims.Product(a.Shape) }

// Range is the examples [from, to).
func (a *Arrays) Range(from, to int) *Arrays {
	sz := a.ExampleSize()
	return &Arrays{X: a.X[from*sz : to*sz], Y: a.Y[from:to], Shape: a.Shape, N: to - from}
}

// SplitLast holds out the last fraction of the examples, unshuffled, as
// Keras' validation_split does.
func (a *Arrays) SplitLast(fraction float64) (train, held *Arrays, err error) {
	if fraction <= 0 || fraction >= 1 {
		return nil, nil, fmt.Errorf("validation split must be in (0, 1), got %g", fraction)
	}
	cut := a.N - int(float64(a.N)*fraction)
	if cut <= 0 || cut >= a.N {
		return nil, nil, fmt.Errorf("validation split %g of %d examples leaves an empty side", fraction, a.N)
	}
	return a.Range(0, cut), a.Range(cut, a.N), nil
}

// Preprocess is what turns stored pixel values into model inputs. It is
// saved with the model so that prediction repeats exactly what training did.
type Preprocess struct {
	// Scale divides every value (the course divides 8-bit pixels by 255).
	Scale float64 `yaml:"scale,omitempty"`
}

// Apply preprocesses values in place.
func (p Preprocess) Apply(x []float32) {
	if p.Scale == 0 || p.Scale == 1 {
		return
	}
	inv := float32(1 / p.Scale)
	for i := range x {
		x[i] *= inv
	}
}

// ConventionalScale is the divisor a source's raw values are conventionally
// fed to models with, 0 when there is none. MNIST's is 255: Keras' MNIST
// tutorials and the course all train on pixels / 255, so a Keras model
// that does not say how it was fed was almost surely fed that way. Arrays
// from .npy files have no convention; their models differ (some take raw
// 0–255 and let batch normalisation absorb the scale).
func ConventionalScale(source string) float64 {
	if kind, _, _ := strings.Cut(source, ":"); kind == "mnist" {
		return 255
	}
	return 0
}

// Load reads a data source:
//   - "mnist:train" or "mnist:test": the MNIST IDX files from the Go module cache;
//   - "npy:IMAGES.npy,LABELS.npy": a NumPy array of examples [N, ...] and one
//     of integer labels [N].
func Load(source string, pre Preprocess) (*Arrays, error) {
	kind, arg, ok := strings.Cut(source, ":")
	if !ok {
		return nil, fmt.Errorf("data source %q: want mnist:train, mnist:test or npy:IMAGES.npy,LABELS.npy", source)
	}
	var a *Arrays
	var err error
	switch kind {
	case "mnist":
		a, err = loadMNIST(arg)
	case "npy":
		a, err = loadNPY(arg)
	default:
		return nil, fmt.Errorf("data source %q: unknown kind %q (known: mnist, npy)", source, kind)
	}
	if err != nil {
		return nil, err
	}
	pre.Apply(a.X)
	return a, nil
}

func loadMNIST(split string) (*Arrays, error) {
	if split != "train" && split != "test" {
		return nil, fmt.Errorf("mnist split %q: want train or test", split)
	}
	dir, err := mnist.Dir()
	if err != nil {
		return nil, err
	}
	s, err := mnist.Load(dir, split)
	if err != nil {
		return nil, err
	}
	a := &Arrays{X: make([]float32, len(s.Images)), Y: make([]int32, s.N), Shape: []int{s.Rows, s.Cols, 1}, N: s.N}
	for i, v := range s.Images {
		a.X[i] = float32(v)
	}
	for i, v := range s.Labels {
		a.Y[i] = int32(v)
	}
	return a, nil
}

func loadNPY(arg string) (*Arrays, error) {
	xPath, yPath, ok := strings.Cut(arg, ",")
	if !ok {
		return nil, fmt.Errorf("npy source %q: want IMAGES.npy,LABELS.npy", arg)
	}
	x, err := inputs.Load(xPath)
	if err != nil {
		return nil, err
	}
	y, err := inputs.Load(yPath)
	if err != nil {
		return nil, err
	}
	if len(x.Shape) < 2 {
		return nil, fmt.Errorf("%s: want examples [N, ...], got shape %v", xPath, x.Shape)
	}
	n := x.Shape[0]
	if len(y.Shape) != 1 || y.Shape[0] != n {
		return nil, fmt.Errorf("%s: want %d labels [N], got shape %v", yPath, n, y.Shape)
	}
	a := &Arrays{X: x.Data, Y: make([]int32, n), Shape: x.Shape[1:], N: n}
	if len(a.Shape) == 2 {
		a.Shape = append(a.Shape, 1)
	}
	for i, v := range y.Data {
		if v != float32(int32(v)) || v < 0 {
			return nil, fmt.Errorf("%s: label %d is %g, not a class index", yPath, i, v)
		}
		a.Y[i] = int32(v)
	}
	return a, nil
}
