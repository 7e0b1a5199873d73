package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/datasets"
	"github.com/tfrun/tfrun/layers"
)

// hasBatchNorm says whether the model keeps moving statistics.
func (f *Fitter) hasBatchNorm() bool {
	for _, n := range f.Model.Nodes {
		if _, ok := n.Layer.(*layers.BatchNorm); ok {
			return true
		}
	}
	return false
}

// RecalibrateBN replaces every batch norm's moving statistics by their
// average over batches of train taken with the weights as they are now
// (train.bn_recalibration batches, drawn in a fixed shuffled order), so
// that validation, checkpoints and the saved model see statistics of the
// network that is evaluated rather than a slow average over the networks
// of the last few hundred steps. Models without batch norm are untouched.
func (f *Fitter) RecalibrateBN(train datasets.Source) error {
	batches := f.Opts.BNRecalibration
	if batches <= 0 || !f.hasBatchNorm() {
		return nil
	}
	if f.recalibrate == nil {
		var err error
		f.recalibrate, err = context.NewExec(f.Backend, f.Ctx, func(ctx *context.Context, x, w *graph.Node) *graph.Node {
			g := x.Graph()
			ctx.SetTraining(g, true)
			ctx.SetGraphParam(g, layers.RecalibrationWeight, w)
			// The statistics are updated as a side effect; a scalar output
			// keeps the logits from being copied out.
			return graph.ReduceAllSum(f.Model.Forward(ctx, x, true))
		})
		if err != nil {
			return err
		}
	}
	bs := f.Opts.BatchSize
	order := recalibrationOrder(train.Len(), batches*bs, f.Opts.Seed)
	inShape, labelShape := train.InputShape(), train.LabelShape()
	k := 0
	for b, err := range train.Batches(0, order, bs) {
		if err != nil {
			return fmt.Errorf("batch-norm recalibration: %w", err)
		}
		if b.N < 2 {
			// One example gives no variance over the batch of a pooled branch.
			continue
		}
		k++
		x, y := Tensors(b, inShape, labelShape)
		y.FinalizeAll()
		w := tensors.FromScalar(float32(1 / float64(k)))
		out, err := f.recalibrate.Exec(x, w)
		x.FinalizeAll()
		w.FinalizeAll()
		if err != nil {
			return fmt.Errorf("batch-norm recalibration: %w", err)
		}
		finalize(out)
	}
	return nil
}

// recalibrationOrder draws the examples of the recalibration batches: the
// same ones after every epoch, so that statistics differ between epochs
// only because the weights do.
func recalibrationOrder(n, want int, seed uint64) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(seed, 0x626e))
	rng.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
	return order[:min(n, want)]
}
