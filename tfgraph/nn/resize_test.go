package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/tfrun/tfrun/tfgraph/adapter"
)

// tfBilinear is tf.image.resize(method="bilinear") for one output pixel,
// written the way TensorFlow's kernel computes it (lower/upper source
// pixels and a lerp per axis), independently of the matrices under test.
func tfBilinear(px []float64, h, w, c, oy, ox, ch int, outH, outW int) float64 {
	axis := func(o, in, out int) (lo, hi int, lerp float64) {
		src := (float64(o)+0.5)*float64(in)/float64(out) - 0.5
		lo = max(int(math.Floor(src)), 0)
		hi = min(int(math.Ceil(src)), in-1)
		return lo, hi, src - math.Floor(src)
	}
	y0, y1, fy := axis(oy, h, outH)
	x0, x1, fx := axis(ox, w, outW)
	at := func(y, x int) float64 { return px[(y*w+x)*c+ch] }
	top := at(y0, x0) + (at(y0, x1)-at(y0, x0))*fx
	bottom := at(y1, x0) + (at(y1, x1)-at(y1, x0))*fx
	return top + (bottom-top)*fy
}

func TestResizeBilinearValuesAndGradient(t *testing.T) {
	backend, err := adapter.New("")
	if err != nil {
		t.Fatal(err)
	}
	// TensorFlow's own figure: [0, 1] resized to 4 is [0, .25, .75, 1].
	up := graph.MustNewExec(backend, func(x *graph.Node) *graph.Node { return ResizeBilinear(x, 1, 4) })
	got := tensors.MustCopyFlatData[float64](up.MustExec(tensors.FromFlatDataAndDimensions([]float64{0, 1}, 1, 1, 2, 1))[0])
	for i, want := range []float64{0, 0.25, 0.75, 1} {
		if math.Abs(got[i]-want) > 1e-12 {
			t.Fatalf("[0 1] → 4: %v, want [0 0.25 0.75 1]", got)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct{ n, h, w, c, outH, outW int }{
		{2, 2, 2, 3, 16, 16}, // a stride-8 bottleneck brought back to the input
		{1, 3, 5, 2, 7, 10},  // non-integer factors, non-square
		{2, 6, 4, 1, 3, 2},   // down-sampling
	} {
		xv := randData(rng, tc.n*tc.h*tc.w*tc.c)
		cv := randData(rng, tc.n*tc.outH*tc.outW*tc.c)
		resize := func(x *graph.Node) *graph.Node { return ResizeBilinear(x, tc.outH, tc.outW) }
		objective := func(x *graph.Node) *graph.Node {
			c := graph.Const(x.Graph(), tensors.FromFlatDataAndDimensions(cv, tc.n, tc.outH, tc.outW, tc.c))
			return graph.ReduceAllSum(graph.Mul(resize(x), c))
		}
		x := func(v []float64) *tensors.Tensor { return tensors.FromFlatDataAndDimensions(v, tc.n, tc.h, tc.w, tc.c) }
		out := graph.MustNewExec(backend, resize).MustExec(x(xv))[0]
		y := tensors.MustCopyFlatData[float64](out)
		per := tc.h * tc.w * tc.c
		for b := range tc.n {
			for i := range tc.outH * tc.outW * tc.c {
				oy, ox, ch := i/(tc.outW*tc.c), i/tc.c%tc.outW, i%tc.c
				want := tfBilinear(xv[b*per:(b+1)*per], tc.h, tc.w, tc.c, oy, ox, ch, tc.outH, tc.outW)
				if g := y[b*tc.outH*tc.outW*tc.c+i]; math.Abs(g-want) > 1e-12 {
					t.Fatalf("%+v: output %d of example %d = %g, want %g", tc, i, b, g, want)
				}
			}
		}
		grad := graph.MustNewExec(backend, func(x *graph.Node) *graph.Node { return graph.Gradient(objective(x), x)[0] })
		g := tensors.MustCopyFlatData[float64](grad.MustExec(x(xv))[0])
		value := graph.MustNewExec(backend, objective)
		for i := range xv {
			const eps = 1e-6
			orig := xv[i]
			xv[i] = orig + eps
			hi := value.MustExec(x(xv))[0].Value().(float64)
			xv[i] = orig - eps
			lo := value.MustExec(x(xv))[0].Value().(float64)
			xv[i] = orig
			if fd := (hi - lo) / (2 * eps); math.Abs(g[i]-fd) > 1e-6*math.Max(1, math.Abs(fd)) {
				t.Fatalf("%+v: gradient of input %d = %g, finite difference %g", tc, i, g[i], fd)
			}
		}
	}
}
