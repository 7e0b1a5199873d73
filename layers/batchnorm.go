package layers

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// BatchNorm is Keras' BatchNormalization over the last (channel) axis. In
// training it normalises with the batch's statistics and moves the stored
// ones towards them; otherwise it uses the stored ones.
type BatchNorm struct {
	// Momentum of the moving statistics; Keras' default 0.99 when unset.
	Momentum float64 `yaml:"momentum,omitempty"`
	// Epsilon added to the variance; Keras' default 0.001 when unset.
	Epsilon float64 `yaml:"epsilon,omitempty"`
	NoScale bool    `yaml:"no_scale,omitempty"`
	NoShift bool    `yaml:"no_shift,omitempty"`
}

func init() { Register("batchnorm", func() Layer { return &BatchNorm{} }) }

func (b *BatchNorm) Kind() string { return "batchnorm" }

func (b *BatchNorm) validate() error {
	if b.Momentum < 0 || b.Momentum >= 1 {
		return fmt.Errorf("momentum must be in [0, 1), got %g", b.Momentum)
	}
	if b.Epsilon < 0 {
		return fmt.Errorf("epsilon must be ≥ 0, got %g", b.Epsilon)
	}
	return nil
}

func (b *BatchNorm) momentum() float64 {
	if b.Momentum == 0 {
		return 0.99
	}
	return b.Momentum
}

func (b *BatchNorm) epsilon() float64 {
	if b.Epsilon == 0 {
		return 1e-3
	}
	return b.Epsilon
}

// RecalibrationWeight is the graph parameter that turns a training-mode
// graph into one that re-estimates the moving statistics without training:
// its value, a scalar node w, replaces the momentum update with
// stored·(1−w) + batch·w. Fed w = 1/k on the k-th batch, the stored
// statistics end as the plain average over the batches seen (Wu and
// Johnson's "precise BN", 2021), which a momentum of 0.99 reaches only
// after hundreds of steps: from-scratch networks whose early layers start
// with tiny variances otherwise keep a stored variance far above the true
// one and collapse to a constant output in inference.
const RecalibrationWeight = "batchnorm_recalibration_weight"

func (b *BatchNorm) OutputShape(in [][]int) ([]int, error) { return one(b.Kind(), in) }

// Weights are in Keras' order: gamma, beta, moving mean, moving variance.
func (b *BatchNorm) Weights(in [][]int) []Weight {
	c := []int{in[0][len(in[0])-1]}
	var ws []Weight
	if !b.NoScale {
		ws = append(ws, Weight{Name: "gamma", Shape: c, Init: "ones"})
	}
	if !b.NoShift {
		ws = append(ws, Weight{Name: "beta", Shape: c, Init: "zeros"})
	}
	return append(ws,
		Weight{Name: "moving_mean", Shape: c, Init: "zeros", Frozen: true},
		Weight{Name: "moving_variance", Shape: c, Init: "ones", Frozen: true})
}

func (b *BatchNorm) MACs(in [][]int) int64 { return 2 * prod(in[0]) }

func (b *BatchNorm) Apply(ctx *context.Context, in []*graph.Node) *graph.Node {
	x := in[0]
	g := x.Graph()
	axes := make([]int, x.Rank()-1)
	for i := range axes {
		axes[i] = i
	}
	meanVar, varVar := ctx.GetVariable("moving_mean"), ctx.GetVariable("moving_variance")
	if !ctx.IsTraining(g) {
		return b.affine(ctx, x, meanVar.ValueGraph(g), varVar.ValueGraph(g))
	}
	// The statistics carry no gradient of their own: normalize's custom
	// gradient accounts for them, in two sums and one pass, where
	// differentiating the mean and variance ops took several passes more.
	xs := graph.StopGradient(x)
	mean := graph.ReduceMean(xs, axes...)
	centred := graph.Sub(xs, graph.ExpandLeftToRank(mean, x.Rank()))
	variance := graph.ReduceMean(graph.Square(centred), axes...)
	// The stored variance is the unbiased estimate, as TensorFlow's fused
	// kernel and PyTorch keep it.
	n := float64(x.Shape().Size() / x.Shape().Dimensions[x.Rank()-1])
	unbiased := variance
	if n > 1 {
		unbiased = graph.MulScalar(variance, n/(n-1))
	}
	m := b.momentum()
	update := func(v *context.Variable, batch *graph.Node) {
		old := v.ValueGraph(g)
		if w, ok := ctx.GetGraphParam(g, RecalibrationWeight); ok {
			w := w.(*graph.Node)
			v.SetValueGraph(graph.Add(graph.Mul(old, graph.OneMinus(w)), graph.Mul(batch, w)))
			return
		}
		v.SetValueGraph(graph.Add(graph.MulScalar(old, m), graph.MulScalar(batch, 1-m)))
	}
	update(meanVar, mean)
	update(varVar, unbiased)
	inv := graph.Inverse(graph.Sqrt(graph.AddScalar(variance, b.epsilon())))
	xhat := normalize(x, mean, inv, axes)
	y := xhat
	if !b.NoScale {
		y = graph.Mul(y, graph.ExpandLeftToRank(weight(ctx, g, "gamma"), x.Rank()))
	}
	if !b.NoShift {
		y = graph.Add(y, graph.ExpandLeftToRank(weight(ctx, g, "beta"), x.Rank()))
	}
	return y
}

// normalize returns (x - mean)·inv, mean and inv being the batch's own
// statistics over axes (without gradients), with the gradient of batch
// normalization: for an output gradient v, inv·(v - mean(v) - x̂·mean(v·x̂)).
func normalize(x, mean, inv *graph.Node, axes []int) *graph.Node {
	r := x.Rank()
	xhat := graph.Mul(graph.Sub(x, graph.ExpandLeftToRank(mean, r)), graph.ExpandLeftToRank(inv, r))
	// The identity's gradient is the projection; the product above then
	// scales it by inv on its way to x.
	return graph.IdentityWithCustomGradient(xhat, func(xhat, v *graph.Node) *graph.Node {
		m1 := graph.ExpandLeftToRank(graph.ReduceMean(v, axes...), r)
		m2 := graph.ExpandLeftToRank(graph.ReduceMean(graph.Mul(v, xhat), axes...), r)
		return graph.Sub(graph.Sub(v, m1), graph.Mul(xhat, m2))
	})
}

// affine normalizes x with stored statistics as one scale and shift per
// channel, the form the CPU engine folds into the convolution before it.
func (b *BatchNorm) affine(ctx *context.Context, x, mean, variance *graph.Node) *graph.Node {
	g := x.Graph()
	// 1/sqrt rather than Rsqrt, which GoMLX cannot differentiate.
	std := graph.Sqrt(graph.AddScalar(variance, b.epsilon()))
	inv := graph.Div(graph.OnesLike(std), std)
	if !b.NoScale {
		inv = graph.Mul(inv, weight(ctx, g, "gamma"))
	}
	shift := graph.Neg(graph.Mul(mean, inv))
	if !b.NoShift {
		shift = graph.Add(shift, weight(ctx, g, "beta"))
	}
	return graph.Add(graph.Mul(x, graph.ExpandLeftToRank(inv, x.Rank())), graph.ExpandLeftToRank(shift, x.Rank()))
}
