package nn

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// Loss maps a model's logits and integer labels to a scalar. For a softmax
// output logits are [..., C] and labels [...]; for a one-channel sigmoid
// output logits are [..., 1] and labels [...] in {0, 1}. A negative label
// is the ignore index: its pixel contributes nothing, whatever the model
// predicts there, and means are taken over the labelled pixels only.
type Loss func(logits, labels *graph.Node) *graph.Node

// Losses are the single losses train.loss accepts; "a+b" sums two of them
// (e.g. "ce+dice", "focal+dice"). "crossentropy" (alias "ce") is
// categorical for a softmax (or linear) output and binary for a sigmoid one.
var Losses = []string{"crossentropy", "ce", "bce", "wce", "focal", "dice", "tversky"}

// LossSpec is a loss with its parameters.
type LossSpec struct {
	Name string
	// ClassWeights weight each class's pixels in wce and focal, one per
	// class (two for a sigmoid output: background, object); nil weighs
	// all classes 1.
	ClassWeights []float64
	Focal        Focal
	Tversky      Tversky
}

// Focal parameterises the focal loss of Lin et al. (2017),
// −α_t (1 − p_t)^γ log p_t.
type Focal struct {
	// Gamma ≥ 0 down-weights pixels already classified well; 0 gives
	// cross-entropy.
	Gamma float64 `yaml:"gamma"`
	// Alpha weighs the object class of a sigmoid output (the background
	// gets 1 − α), as in the paper; for a softmax output it scales every
	// class, as Keras' CategoricalFocalCrossentropy does. Per-class
	// weighting of a softmax output comes from the class weights.
	Alpha float64 `yaml:"alpha"`
}

// Tversky parameterises the Tversky loss of Salehi et al. (2017): per
// class 1 − TP/(TP + α·FP + β·FN), averaged over classes. α = β = ½ is Dice;
// β > α favours recall, which helps rare classes.
type Tversky struct {
	Alpha float64 `yaml:"alpha"` // weight of false positives
	Beta  float64 `yaml:"beta"`  // weight of false negatives
}

// Defaults from the papers: γ = 2, α = 0.25; Tversky α = 0.3, β = 0.7.
var (
	DefaultFocal   = Focal{Gamma: 2, Alpha: 0.25}
	DefaultTversky = Tversky{Alpha: 0.3, Beta: 0.7}
)

// ParseLoss splits a loss name into its one or two canonical parts.
func ParseLoss(name string) ([]string, error) {
	if name == "" {
		return []string{"crossentropy"}, nil
	}
	parts := strings.Split(strings.ToLower(name), "+")
	if len(parts) > 2 {
		return nil, fmt.Errorf("loss %q: combine at most two losses, as in ce+dice", name)
	}
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if p == "ce" {
			p = "crossentropy"
		}
		if !slices.Contains(Losses, p) {
			return nil, fmt.Errorf("unknown loss %q (known: %s, or two joined by +)", name, strings.Join(Losses, ", "))
		}
		parts[i] = p
	}
	return parts, nil
}

// UsesClassWeights tells whether a (valid) loss name weighs classes.
func UsesClassWeights(name string) bool {
	parts, _ := ParseLoss(name)
	return slices.Contains(parts, "wce") || slices.Contains(parts, "focal")
}

// LossByName returns the named loss with the default parameters and no
// class weights, for an output with the given final activation ("sigmoid"
// means one binary channel).
func LossByName(name, activation string) (Loss, error) {
	return NewLoss(LossSpec{Name: name}, activation, 0)
}

// NewLoss builds a loss for an output of the given channel count and final
// activation. A zero Focal or Tversky, which would make its loss
// identically 0, stands for the defaults.
func NewLoss(s LossSpec, activation string, channels int) (Loss, error) {
	if s.Focal == (Focal{}) {
		s.Focal = DefaultFocal
	}
	if s.Tversky == (Tversky{}) {
		s.Tversky = DefaultTversky
	}
	parts, err := ParseLoss(s.Name)
	if err != nil {
		return nil, err
	}
	binary := activation == "sigmoid"
	if s.ClassWeights != nil {
		want := channels
		if binary {
			want = 2
		}
		if len(s.ClassWeights) != want {
			return nil, fmt.Errorf("loss %s: %d class weights for %d classes", s.Name, len(s.ClassWeights), want)
		}
	}
	var terms []Loss
	for _, p := range parts {
		if p == "bce" && !binary {
			return nil, fmt.Errorf("loss %s needs a one-channel sigmoid output, the model ends in %q", s.Name, activation)
		}
		terms = append(terms, s.single(p, binary))
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return func(l, y *graph.Node) *graph.Node { return graph.Add(terms[0](l, y), terms[1](l, y)) }, nil
}

func (s LossSpec) single(name string, binary bool) Loss {
	return func(logits, labels *graph.Node) *graph.Node {
		b := newBatch(logits, labels, binary)
		switch name {
		case "wce":
			return weightedMean(b.nll, b.classWeights(s.ClassWeights))
		case "focal":
			// q = 1 − p_t; the floor keeps the gradient of q^γ finite for
			// γ < 1. (GoMLX has no gradient for Expm1, the exact form.)
			q := graph.MaxScalar(graph.OneMinus(graph.Exp(graph.Neg(b.nll))), 1e-7)
			term := graph.Mul(graph.PowScalar(q, s.Focal.Gamma), b.nll)
			return weightedMean(graph.Mul(term, b.focalAlpha(s.Focal.Alpha)), b.classWeights(s.ClassWeights))
		case "dice":
			return b.overlap(Tversky{Alpha: 0.5, Beta: 0.5})
		case "tversky":
			return b.overlap(s.Tversky)
		}
		return weightedMean(b.nll, b.valid) // crossentropy, bce
	}
}

// SparseCrossEntropy is the mean categorical cross-entropy of integer
// labels against logits [..., C], over the labelled pixels.
func SparseCrossEntropy(logits, labels *graph.Node) *graph.Node {
	b := newBatch(logits, labels, false)
	return weightedMean(b.nll, b.valid)
}

// batch holds what the losses need of one batch, with ignored pixels
// already zeroed.
type batch struct {
	binary bool
	// valid is 1 on labelled pixels and 0 on ignored ones, shaped like labels.
	valid *graph.Node
	// nll is −log p(true class) per pixel, 0 where ignored.
	nll *graph.Node
	// y is the one-hot truth [..., C], zero rows where ignored; for a
	// sigmoid output [..., 2]: background, object.
	y *graph.Node
	// p and t are predicted probabilities and truth for the overlap
	// losses, [..., K], zero where ignored: all C classes of a softmax, only
	// the object class (K = 1) of a sigmoid output.
	p, t *graph.Node
}

func newBatch(logits, labels *graph.Node, binary bool) *batch {
	dt := logits.DType()
	b := &batch{binary: binary, valid: graph.ConvertDType(graph.GreaterOrEqual(labels, graph.ScalarZero(labels.Graph(), labels.DType())), dt)}
	if binary {
		z := graph.Reshape(logits, labels.Shape().Dimensions...)
		obj := graph.Mul(graph.ConvertDType(labels, dt), b.valid)
		// max(z,0) − z·y + log(1 + e^−|z|): the stable sigmoid cross-entropy.
		bce := graph.Add(graph.Sub(graph.Max(z, graph.ZerosLike(z)), graph.Mul(z, obj)),
			graph.Log1P(graph.Exp(graph.Neg(graph.Abs(z)))))
		b.nll = graph.Mul(bce, b.valid)
		b.y = graph.Concatenate([]*graph.Node{graph.InsertAxes(graph.Sub(b.valid, obj), -1), graph.InsertAxes(obj, -1)}, -1)
		b.p = graph.InsertAxes(graph.Mul(graph.Sigmoid(z), b.valid), -1)
		b.t = graph.InsertAxes(obj, -1)
		return b
	}
	classes := logits.Shape().Dimensions[logits.Rank()-1]
	// OneHot gives an all-zero row for a negative label.
	b.y = graph.OneHot(labels, classes, dt)
	// Through log-softmax, so that confident wrong predictions give large
	// finite losses instead of log(0).
	b.nll = graph.Neg(graph.ReduceSum(graph.Mul(graph.LogSoftmax(logits, -1), b.y), -1))
	b.p = graph.Mul(graph.Softmax(logits, -1), graph.InsertAxes(b.valid, -1))
	b.t = b.y
	return b
}

// classWeights is each labelled pixel's class weight (valid when there
// are no weights), 0 where ignored.
func (b *batch) classWeights(w []float64) *graph.Node {
	if w == nil {
		return b.valid
	}
	return b.byClass(w)
}

// byClass looks up each pixel's value in w, one value per class of b.y;
// 0 where ignored.
func (b *batch) byClass(w []float64) *graph.Node {
	dims := make([]int, b.y.Rank())
	for i := range dims {
		dims[i] = 1
	}
	dims[len(dims)-1] = len(w)
	c := graph.Const(b.y.Graph(), tensors.FromFlatDataAndDimensions(w, dims...))
	return graph.ReduceSum(graph.Mul(b.y, graph.ConvertDType(c, b.y.DType())), -1)
}

// focalAlpha is α_t per pixel: α for objects and 1 − α for background
// under a sigmoid, α everywhere under a softmax.
func (b *batch) focalAlpha(alpha float64) *graph.Node {
	if !b.binary {
		return graph.Scalar(b.nll.Graph(), b.nll.DType(), alpha)
	}
	return b.byClass([]float64{1 - alpha, alpha})
}

// weightedMean is Σ w·term / Σ w: the mean over labelled pixels, each
// counted by its weight, and 0 for a batch with no labelled pixel.
func weightedMean(term, w *graph.Node) *graph.Node {
	total := graph.ReduceAllSum(w)
	return graph.Div(graph.ReduceAllSum(graph.Mul(term, w)), graph.MaxScalar(total, 1e-12))
}

// overlap is the Tversky loss over the whole batch, averaged over the
// channels of p and t. Its smoothing of ½ makes α = β = ½ exactly the Dice
// loss 1 − (2TP + 1)/(ΣP + ΣT + 1), and keeps both defined for a class
// absent from the batch.
func (b *batch) overlap(tv Tversky) *graph.Node {
	axes := make([]int, b.p.Rank()-1)
	for i := range axes {
		axes[i] = i
	}
	tp := graph.ReduceSum(graph.Mul(b.p, b.t), axes...)
	fp := graph.Sub(graph.ReduceSum(b.p, axes...), tp)
	fn := graph.Sub(graph.ReduceSum(b.t, axes...), tp)
	den := graph.AddScalar(graph.Add(tp, graph.Add(graph.MulScalar(fp, tv.Alpha), graph.MulScalar(fn, tv.Beta))), 0.5)
	return graph.ReduceAllMean(graph.OneMinus(graph.Div(graph.AddScalar(tp, 0.5), den)))
}

// Predictions turns logits into class ids of the labels' dtype: arg-max
// over several channels, z > 0 for one sigmoid channel.
func Predictions(logits *graph.Node, activation string, dtype dtypes.DType) *graph.Node {
	if activation == "sigmoid" {
		last := logits.Rank() - 1
		z := graph.Reshape(logits, logits.Shape().Dimensions[:last]...)
		return graph.ConvertDType(graph.GreaterThan(z, graph.ZerosLike(z)), dtype)
	}
	return graph.ArgMax(logits, -1, dtype)
}

// CorrectCount counts the labels (examples or pixels) predicted right.
func CorrectCount(logits, labels *graph.Node, activation string) *graph.Node {
	pred := Predictions(logits, activation, labels.DType())
	return graph.ReduceAllSum(graph.ConvertDType(graph.Equal(pred, labels), logits.DType()))
}
