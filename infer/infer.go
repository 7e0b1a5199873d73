// Package infer runs trained models: class probabilities for batches of
// inputs, and evaluation against labels.
package infer

import (
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/datasets"
	"github.com/tfrun/tfrun/internal/dims"
	"github.com/tfrun/tfrun/metrics"
	"github.com/tfrun/tfrun/models"
	"github.com/tfrun/tfrun/tfgraph/nn"
)

// Runner holds compiled inference graphs of one model; graphs are compiled
// once per batch shape and reused.
type Runner struct {
	model    *models.Model
	classes  int
	predict  *context.Exec
	evaluate *context.Exec
}

// NewRunner prepares inference for a model whose variables are in ctx;
// loss names the loss Evaluate reports ("" for cross-entropy).
func NewRunner(backend backends.Backend, m *models.Model, ctx *context.Context, loss string) (*Runner, error) {
	lossFn, err := nn.LossByName(loss, m.OutputActivation())
	if err != nil {
		return nil, err
	}
	return NewRunnerWithLoss(backend, m, ctx, lossFn)
}

// NewRunnerWithLoss is NewRunner with a built loss, e.g. one with class
// weights, so that validation reports the loss training minimises.
func NewRunnerWithLoss(backend backends.Backend, m *models.Model, ctx *context.Context, lossFn nn.Loss) (*Runner, error) {
	act := m.OutputActivation()
	var err error
	r := &Runner{model: m, classes: m.Output.Shape[len(m.Output.Shape)-1]}
	if act == "sigmoid" && r.classes == 1 {
		// One sigmoid channel scores two classes: background and object.
		r.classes = 2
	}
	r.predict, err = context.NewExec(backend, ctx, func(ctx *context.Context, x *graph.Node) *graph.Node {
		return m.Forward(ctx, x, false)
	})
	if err != nil {
		return nil, err
	}
	r.evaluate, err = context.NewExec(backend, ctx, func(ctx *context.Context, x, y *graph.Node) []*graph.Node {
		logits := m.Forward(ctx, x, true)
		n := float64(x.Shape().Dimensions[0])
		return []*graph.Node{graph.MulScalar(lossFn(logits, y), n), nn.Predictions(logits, act, y.DType())}
	})
	return r, err
}

// Predict returns the model's output for n examples of the model's input
// shape, as [n, classes] row-major.
func (r *Runner) Predict(x []float32, n int) ([]float32, error) {
	in := r.model.Input.Shape
	if want := n * dims.Product(in); len(x) != want {
		return nil, fmt.Errorf("predict: %d values for %d examples of shape %v (want %d)", len(x), n, in, want)
	}
	t := tensors.FromFlatDataAndDimensions(x, append([]int{n}, in...)...)
	defer t.FinalizeAll()
	out, err := r.predict.Exec(t)
	if err != nil {
		return nil, err
	}
	defer out[0].FinalizeAll()
	return tensors.CopyFlatData[float32](out[0])
}

// Eval is the outcome of evaluating on labelled data.
type Eval struct {
	Loss      float64
	Confusion *metrics.Confusion
}

// Evaluate runs the model over data in batches and accumulates the mean
// loss and the confusion matrix.
func (r *Runner) Evaluate(data datasets.Source, batch int) (*Eval, error) {
	in, labels := data.InputShape(), data.LabelShape()
	if !slices.Equal(in, r.model.Input.Shape) {
		return nil, fmt.Errorf("evaluate: examples of shape %v, the model takes %v", in, r.model.Input.Shape)
	}
	ev := &Eval{Confusion: metrics.NewConfusion(r.classes)}
	n := 0
	for b, err := range data.Batches(0, nil, batch) {
		if err != nil {
			return nil, err
		}
		x := tensors.FromFlatDataAndDimensions(b.X, append([]int{b.N}, in...)...)
		y := tensors.FromFlatDataAndDimensions(b.Y, append([]int{b.N}, labels...)...)
		out, err := r.evaluate.Exec(x, y)
		x.FinalizeAll()
		y.FinalizeAll()
		if err != nil {
			return nil, err
		}
		ev.Loss += float64(out[0].Value().(float32))
		pred, err := tensors.CopyFlatData[int32](out[1])
		out[0].FinalizeAll()
		out[1].FinalizeAll()
		if err != nil {
			return nil, err
		}
		if err := ev.Confusion.Add(b.Y, pred); err != nil {
			return nil, err
		}
		n += b.N
	}
	if n > 0 {
		ev.Loss /= float64(n)
	}
	return ev, nil
}
