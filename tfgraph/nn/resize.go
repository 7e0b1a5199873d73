package nn

import (
	"math"

	"github.com/gomlx/gomlx/pkg/core/graph"
)

// ResizeBilinear resizes x [N, H, W, C] to [N, height, width, C] with
// TensorFlow's half-pixel-centre bilinear weights (tf.image.resize, Keras'
// UpSampling2D and Resizing). Bilinear resizing is separable, so it is two
// products with small constant interpolation matrices, one per axis. That
// replaces GoMLX's gather-based Interpolate, whose gradient builds a
// malformed scatter when an axis is as small as the 2-pixel span (a 2×2
// bottleneck up-sampled), and whose backward pass scatters element by
// element; products reuse the engine's fast matmul both ways.
func ResizeBilinear(x *graph.Node, height, width int) *graph.Node {
	d := x.Shape().Dimensions
	h, w := d[1], d[2]
	g := x.Graph()
	y := x
	if h != height {
		// [N, H, W, C] → [N, W, C, H] · [H, height] → [N, height, W, C]
		y = graph.TransposeAllAxes(y, 0, 2, 3, 1)
		y = MatMul(y, graph.ConvertDType(graph.Const(g, interpolation(h, height)), x.DType()))
		y = graph.TransposeAllAxes(y, 0, 3, 1, 2)
	}
	if w != width {
		// [N, height, W, C] → [N, height, C, W] · [W, width] → [N, height, width, C]
		y = graph.TransposeAllAxes(y, 0, 1, 3, 2)
		y = MatMul(y, graph.ConvertDType(graph.Const(g, interpolation(w, width)), x.DType()))
		y = graph.TransposeAllAxes(y, 0, 1, 3, 2)
	}
	return y
}

// interpolation is the [in, out] matrix whose column o holds the weights of
// the input pixels that output pixel o blends: the source position is
// (o + ½)·in/out − ½, clamped to the edge pixels, as TensorFlow computes it.
func interpolation(in, out int) [][]float64 {
	m := make([][]float64, in)
	for i := range m {
		m[i] = make([]float64, out)
	}
	scale := float64(in) / float64(out)
	for o := range out {
		src := (float64(o)+0.5)*scale - 0.5
		lo := math.Floor(src)
		frac := src - lo
		i0 := max(int(lo), 0)
		i1 := min(int(math.Ceil(src)), in-1)
		i0 = min(i0, in-1)
		i1 = max(i1, 0)
		m[i0][o] += 1 - frac
		m[i1][o] += frac
	}
	return m
}
