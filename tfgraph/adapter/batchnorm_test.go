package adapter

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// featureStats returns per-feature mean and biased variance.
func featureStats(x array, axis int) (mean, variance []float64) {
	c := x.dims[axis]
	mean, variance = make([]float64, c), make([]float64, c)
	count := float64(len(x.data) / c)
	iterIndices(x.dims, func(idx []int) { mean[idx[axis]] += x.at(idx...) / count })
	iterIndices(x.dims, func(idx []int) {
		d := x.at(idx...) - mean[idx[axis]]
		variance[idx[axis]] += d * d / count
	})
	return
}

func refBatchNorm(x array, scale, offset, mean, variance []float64, eps float64, axis int) array {
	out := zerosArray(x.dims...)
	iterIndices(x.dims, func(idx []int) {
		f := idx[axis]
		out.set((x.at(idx...)-mean[f])/math.Sqrt(variance[f]+eps)*scale[f]+offset[f], idx...)
	})
	return out
}

var batchNormCases = []struct {
	dims []int
	axis int
}{
	{[]int{3, 4, 5, 2}, 3},
	{[]int{2, 3, 4, 4}, 1},
	{[]int{6, 3}, 1},
	{[]int{4, 5}, 0},
}

// epsilon is a float32 in the backend API; 1e-3 is exact enough for the
// float64 reference when converted the same way.
var bnEpsilon = float64(float32(1e-3))

func TestBatchNormForTrainingValues(t *testing.T) {
	be := testBackend(t)
	rng := rand.New(rand.NewPCG(31, 32))
	for _, tc := range batchNormCases {
		t.Run(fmt.Sprintf("%v_axis%d", tc.dims, tc.axis), func(t *testing.T) {
			c := tc.dims[tc.axis]
			x, scale, offset := randArray(rng, tc.dims...), randArray(rng, c), randArray(rng, c)
			outs := execGraph(t, be, func(xs []*Node) []*Node {
				n, m, v := InternalBatchNormForTraining(xs[0], xs[1], xs[2], float32(bnEpsilon), tc.axis)
				return []*Node{n, m, v}
			}, x, scale, offset)
			mean, variance := featureStats(x, tc.axis)
			assertClose(t, "normalized", outs[0], refBatchNorm(x, scale.data, offset.data, mean, variance, bnEpsilon, tc.axis), 1e-12)
			assertClose(t, "mean", outs[1], array{dims: []int{c}, data: mean}, 1e-12)
			assertClose(t, "variance", outs[2], array{dims: []int{c}, data: variance}, 1e-12)
		})
	}
}

// GoMLX's BatchNormForTraining VJP propagates only the normalized output's
// adjoint (through BatchNormGradient), so the loss uses only that output.
func TestBatchNormForTrainingGradient(t *testing.T) {
	be := testBackend(t)
	rng := rand.New(rand.NewPCG(33, 34))
	for _, tc := range batchNormCases {
		t.Run(fmt.Sprintf("%v_axis%d", tc.dims, tc.axis), func(t *testing.T) {
			c := tc.dims[tc.axis]
			x, scale, offset := randArray(rng, tc.dims...), randArray(rng, c), randArray(rng, c)
			checkGradient(t, be, func(xs []*Node) *Node {
				n, _, _ := InternalBatchNormForTraining(xs[0], xs[1], xs[2], float32(bnEpsilon), tc.axis)
				return n
			}, x, scale, offset)
		})
	}
}

func TestBatchNormGradientValues(t *testing.T) {
	be := testBackend(t)
	rng := rand.New(rand.NewPCG(35, 36))
	tc := batchNormCases[1]
	c := tc.dims[tc.axis]
	x, scale, dy := randArray(rng, tc.dims...), randArray(rng, c), randArray(rng, tc.dims...)
	mean, variance := featureStats(x, tc.axis)
	outs := execOps(t, be, func(b backends.Builder, p []backends.Op) ([]backends.Op, error) {
		gx, gs, gb, err := b.BatchNormGradient(p[0], p[1], p[2], p[3], p[4], float32(bnEpsilon), tc.axis)
		return []backends.Op{gx, gs, gb}, err
	}, x, scale, array{dims: []int{c}, data: mean}, array{dims: []int{c}, data: variance}, dy)

	// Reference straight from the definitions, summing per feature.
	count := float64(len(x.data) / c)
	gScale, gOffset := make([]float64, c), make([]float64, c)
	iterIndices(x.dims, func(idx []int) {
		f := idx[tc.axis]
		xhat := (x.at(idx...) - mean[f]) / math.Sqrt(variance[f]+bnEpsilon)
		gOffset[f] += dy.at(idx...)
		gScale[f] += dy.at(idx...) * xhat
	})
	gx := zerosArray(x.dims...)
	iterIndices(x.dims, func(idx []int) {
		f := idx[tc.axis]
		inv := 1 / math.Sqrt(variance[f]+bnEpsilon)
		xhat := (x.at(idx...) - mean[f]) * inv
		gx.set(scale.data[f]*inv*(dy.at(idx...)-gOffset[f]/count-xhat*gScale[f]/count), idx...)
	})
	assertClose(t, "gradOperand", outs[0], gx, 1e-12)
	assertClose(t, "gradScale", outs[1], array{dims: []int{c}, data: gScale}, 1e-12)
	assertClose(t, "gradOffset", outs[2], array{dims: []int{c}, data: gOffset}, 1e-12)
}

func TestBatchNormForInferenceValues(t *testing.T) {
	be := testBackend(t)
	rng := rand.New(rand.NewPCG(37, 38))
	for _, tc := range batchNormCases {
		t.Run(fmt.Sprintf("%v_axis%d", tc.dims, tc.axis), func(t *testing.T) {
			c := tc.dims[tc.axis]
			x, scale, offset, mean := randArray(rng, tc.dims...), randArray(rng, c), randArray(rng, c), randArray(rng, c)
			variance := randArray(rng, c)
			for i := range variance.data {
				variance.data[i] = math.Abs(variance.data[i])
			}
			got := execGraph(t, be, func(xs []*Node) []*Node {
				return []*Node{InternalBatchNormForInference(xs[0], xs[1], xs[2], xs[3], xs[4], float32(bnEpsilon), tc.axis)}
			}, x, scale, offset, mean, variance)[0]
			assertClose(t, "BatchNormForInference", got, refBatchNorm(x, scale.data, offset.data, mean.data, variance.data, bnEpsilon, tc.axis), 1e-12)
		})
	}
}
