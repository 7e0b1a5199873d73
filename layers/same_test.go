package layers

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/tfgraph/adapter"
)

// applyOnce runs one layer on x [1, h, w, c] in float64.
func applyOnce(t *testing.T, l Layer, ctx *context.Context, x []float64, dims ...int) []float64 {
	t.Helper()
	backend, err := adapter.New("")
	if err != nil {
		t.Fatal(err)
	}
	out, err := context.ExecOnce(backend, ctx, func(ctx *context.Context, in *graph.Node) *graph.Node {
		return l.Apply(ctx, []*graph.Node{in})
	}, tensors.FromFlatDataAndDimensions(x, dims...))
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float64](out)
}

// TestSamePaddingWithStride checks pooling and depthwise convolution with
// "same" padding and stride 2 on an odd 3×3 window against TensorFlow's
// rule: the padding max((out-1)·s + k - in, 0) is split with the smaller
// half before, so on 6 pixels the windows start at 0, 2 and 4 (not at -1).
func TestSamePaddingWithStride(t *testing.T) {
	const n, k, s = 6, 3, 2
	x := make([]float64, n*n)
	for i := range x {
		x[i] = float64((i*7)%11) - 5
	}
	out := (n + s - 1) / s
	before := ((out-1)*s + k - n) / 2
	window := func(oy, ox int, visit func(v float64)) {
		for ky := 0; ky < k; ky++ {
			for kx := 0; kx < k; kx++ {
				iy, ix := oy*s+ky-before, ox*s+kx-before
				if iy >= 0 && iy < n && ix >= 0 && ix < n {
					visit(x[iy*n+ix])
				}
			}
		}
	}
	maxPool := applyOnce(t, &Pool2D{kind: "maxpool2d", Pool: Sq(k), Strides: Sq(s), Padding: "same"}, context.New(), x, 1, n, n, 1)
	avgPool := applyOnce(t, &Pool2D{kind: "avgpool2d", Pool: Sq(k), Strides: Sq(s), Padding: "same"}, context.New(), x, 1, n, n, 1)
	ctx := context.New()
	ones := make([]float64, k*k)
	for i := range ones {
		ones[i] = 1
	}
	ctx.VariableWithValue("depthwise_kernel", tensors.FromFlatDataAndDimensions(ones, k, k, 1, 1))
	sum := applyOnce(t, &DepthwiseConv2D{Kernel: Sq(k), Strides: Sq(s), Padding: "same", NoBias: true}, ctx, x, 1, n, n, 1)
	if len(maxPool) != out*out || len(avgPool) != out*out || len(sum) != out*out {
		t.Fatalf("outputs of %d, %d and %d values, want %d", len(maxPool), len(avgPool), len(sum), out*out)
	}
	for oy := 0; oy < out; oy++ {
		for ox := 0; ox < out; ox++ {
			hi, total, count := math.Inf(-1), 0.0, 0
			window(oy, ox, func(v float64) { hi, total, count = math.Max(hi, v), total+v, count+1 })
			i := oy*out + ox
			// TensorFlow averages over the pixels inside the image only.
			if maxPool[i] != hi || math.Abs(avgPool[i]-total/float64(count)) > 1e-12 || math.Abs(sum[i]-total) > 1e-12 {
				t.Errorf("output (%d, %d): max %g avg %g sum %g, want %g, %g, %g", oy, ox, maxPool[i], avgPool[i], sum[i], hi, total/float64(count), total)
			}
		}
	}
}

// TestReLUOptions checks Keras' ReLU formula with a cap, a slope and a
// threshold, including the point x = threshold, which maps to 0.
func TestReLUOptions(t *testing.T) {
	six := 6.0
	x := []float64{-2, 0, 0.5, 1, 3, 7}
	for _, tc := range []struct {
		l    *ReLU
		want []float64
	}{
		{&ReLU{}, []float64{0, 0, 0.5, 1, 3, 7}},
		{&ReLU{MaxValue: &six}, []float64{0, 0, 0.5, 1, 3, 6}},
		{&ReLU{NegativeSlope: 0.1}, []float64{-0.2, 0, 0.5, 1, 3, 7}},
		{&ReLU{NegativeSlope: 0.5, Threshold: 1, MaxValue: &six}, []float64{-1.5, -0.5, -0.25, 0, 3, 6}},
	} {
		got := applyOnce(t, tc.l, context.New(), x, 1, len(x))
		for i := range x {
			if math.Abs(got[i]-tc.want[i]) > 1e-12 {
				t.Errorf("%+v at %g: %g, want %g", *tc.l, x[i], got[i], tc.want[i])
			}
		}
	}
	if _, err := FromYAML("relu", nil); err != nil {
		t.Errorf("relu without options: %v", err)
	}
	bad := -1.0
	if err := checkLayer(&ReLU{MaxValue: &bad}); err == nil {
		t.Error("negative max_value: no error")
	}
}
