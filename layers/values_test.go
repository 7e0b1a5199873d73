package layers

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/tfgraph/adapter"
)

// TestDepthwiseChannelOrder checks Keras' channel order: output channel
// c·m+j is input channel c convolved with kernel[:, :, c, j].
func TestDepthwiseChannelOrder(t *testing.T) {
	backend, err := adapter.New("")
	if err != nil {
		t.Fatal(err)
	}
	const h, w, c, m = 3, 3, 2, 2
	x := make([]float64, h*w*c)
	for i := range x {
		x[i] = float64(i%7) - 3
	}
	k := make([]float64, 1*1*c*m)
	for i := range k {
		k[i] = float64(i + 1) // kernel[0,0,ci,j] = ci·m + j + 1
	}
	ctx := context.New()
	ctx.VariableWithValue("depthwise_kernel", tensors.FromFlatDataAndDimensions(k, 1, 1, c, m))
	l := &DepthwiseConv2D{Kernel: Sq(1), Multiplier: m, NoBias: true}
	out, err := context.ExecOnce(backend, ctx, func(ctx *context.Context, in *graph.Node) *graph.Node {
		return l.Apply(ctx, []*graph.Node{in})
	}, tensors.FromFlatDataAndDimensions(x, 1, h, w, c))
	if err != nil {
		t.Fatal(err)
	}
	got := tensors.MustCopyFlatData[float64](out)
	for p := 0; p < h*w; p++ {
		for ci := 0; ci < c; ci++ {
			for j := 0; j < m; j++ {
				want := x[p*c+ci] * k[ci*m+j]
				if g := got[p*c*m+ci*m+j]; g != want {
					t.Fatalf("pixel %d channel %d·%d+%d: %g, want %g", p, ci, m, j, g, want)
				}
			}
		}
	}
}

// TestBatchNormStatistics checks training normalisation and the moving
// averages against Keras' update rule.
func TestBatchNormStatistics(t *testing.T) {
	backend, err := adapter.New("")
	if err != nil {
		t.Fatal(err)
	}
	x := []float32{1, 10, 3, 20, 5, 30, 7, 40} // 4 pixels, 2 channels
	ctx := context.New()
	l := &BatchNorm{Momentum: 0.9}
	for _, w := range l.Weights([][]int{{2, 2, 2}}) {
		v := ctx.VariableWithValue(w.Name, tensors.FromFlatDataAndDimensions([]float32{0, 0}, 2))
		if w.Init == "ones" {
			v.MustSetValue(tensors.FromFlatDataAndDimensions([]float32{1, 1}, 2))
		}
		v.Trainable = !w.Frozen
	}
	out, err := context.ExecOnce(backend, ctx, func(ctx *context.Context, in *graph.Node) *graph.Node {
		ctx.SetTraining(in.Graph(), true)
		return l.Apply(ctx, []*graph.Node{in})
	}, tensors.FromFlatDataAndDimensions(x, 1, 2, 2, 2))
	if err != nil {
		t.Fatal(err)
	}
	y := tensors.MustCopyFlatData[float32](out)
	// Channel 0: mean 4, biased variance 5; channel 1: mean 25, variance 125.
	for i, v := range y {
		mean, variance := 4.0, 5.0
		if i%2 == 1 {
			mean, variance = 25, 125
		}
		want := (float64(x[i]) - mean) / math.Sqrt(variance+1e-3)
		if math.Abs(float64(v)-want) > 1e-5 {
			t.Errorf("y[%d] = %g, want %g", i, v, want)
		}
	}
	mm := tensors.MustCopyFlatData[float32](ctx.GetVariable("moving_mean").MustValue())
	mv := tensors.MustCopyFlatData[float32](ctx.GetVariable("moving_variance").MustValue())
	// 0.9·old + 0.1·batch; the variance is the unbiased one (×4/3).
	if math.Abs(float64(mm[0])-0.4) > 1e-6 || math.Abs(float64(mm[1])-2.5) > 1e-5 {
		t.Errorf("moving mean %v, want [0.4 2.5]", mm)
	}
	if math.Abs(float64(mv[0])-(0.9+0.1*5*4/3.0)) > 1e-5 || math.Abs(float64(mv[1])-(0.9+0.1*125*4/3.0)) > 1e-4 {
		t.Errorf("moving variance %v", mv)
	}
}

// TestConv2DTransposeDefinition scatters each input pixel times the kernel,
// as TensorFlow's conv2d_transpose defines it, and crops for "same".
func TestConv2DTransposeDefinition(t *testing.T) {
	backend, err := adapter.New("")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		k, s    int
		padding string
	}{{3, 2, "same"}, {2, 2, "same"}, {3, 2, "valid"}, {1, 3, "valid"}, {4, 1, "same"}} {
		const h, w, cin, cout = 3, 4, 2, 3
		l := &Conv2DTranspose{Filters: cout, Kernel: Sq(tc.k), Strides: Sq(tc.s), Padding: tc.padding, NoBias: true}
		out, err := l.OutputShape([][]int{{h, w, cin}})
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float64, h*w*cin)
		for i := range x {
			x[i] = float64(i%5) - 2
		}
		kern := make([]float64, tc.k*tc.k*cout*cin)
		for i := range kern {
			kern[i] = float64(i%7) - 3
		}
		ctx := context.New()
		ctx.VariableWithValue("kernel", tensors.FromFlatDataAndDimensions(kern, tc.k, tc.k, cout, cin))
		res, err := context.ExecOnce(backend, ctx, func(ctx *context.Context, in *graph.Node) *graph.Node {
			return l.Apply(ctx, []*graph.Node{in})
		}, tensors.FromFlatDataAndDimensions(x, 1, h, w, cin))
		if err != nil {
			t.Fatal(err)
		}
		got := tensors.MustCopyFlatData[float64](res)
		fullH, fullW := (h-1)*tc.s+tc.k, (w-1)*tc.s+tc.k
		full := make([]float64, max(fullH, out[0]+tc.k)*max(fullW, out[1]+tc.k)*cout)
		fw := max(fullW, out[1]+tc.k)
		for i := 0; i < h; i++ {
			for j := 0; j < w; j++ {
				for a := 0; a < tc.k; a++ {
					for b := 0; b < tc.k; b++ {
						for o := 0; o < cout; o++ {
							for ci := 0; ci < cin; ci++ {
								full[((i*tc.s+a)*fw+j*tc.s+b)*cout+o] += x[(i*w+j)*cin+ci] * kern[((a*tc.k+b)*cout+o)*cin+ci]
							}
						}
					}
				}
			}
		}
		top, left := 0, 0
		if tc.padding == "same" {
			top, left = max(tc.k-tc.s, 0)/2, max(tc.k-tc.s, 0)/2
		}
		for i := 0; i < out[0]; i++ {
			for j := 0; j < out[1]; j++ {
				for o := 0; o < cout; o++ {
					want := full[((i+top)*fw+j+left)*cout+o]
					if g := got[(i*out[1]+j)*cout+o]; g != want {
						t.Fatalf("k%d s%d %s: out[%d,%d,%d] = %g, want %g", tc.k, tc.s, tc.padding, i, j, o, g, want)
					}
				}
			}
		}
	}
}
