package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/tfrun/tfrun/tfgraph/adapter"
)

func randData(rng *rand.Rand, n int) []float64 {
	d := make([]float64, n)
	for i := range d {
		d[i] = rng.Float64()*2 - 1
	}
	return d
}

// TestMatMulGradient checks MatMul's two-product gradient against central
// finite differences of a random-weighted sum of its output, in float64.
func TestMatMulGradient(t *testing.T) {
	backend, err := adapter.New("")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	const b, h, k, n = 2, 3, 5, 4 // x is rank 3 to cover the reshape path
	xv, wv, cv := randData(rng, b*h*k), randData(rng, k*n), randData(rng, b*h*n)
	objective := func(x, w *graph.Node) *graph.Node {
		c := graph.Const(x.Graph(), tensors.FromFlatDataAndDimensions(cv, b, h, n))
		return graph.ReduceAllSum(graph.Mul(MatMul(x, w), c))
	}
	exec := graph.MustNewExec(backend, func(x, w *graph.Node) []*graph.Node {
		loss := objective(x, w)
		return append([]*graph.Node{loss}, graph.Gradient(loss, x, w)...)
	})
	value := graph.MustNewExec(backend, objective)
	eval := func(x, w []float64) float64 {
		out := value.MustExec(tensors.FromFlatDataAndDimensions(x, b, h, k), tensors.FromFlatDataAndDimensions(w, k, n))
		return out[0].Value().(float64)
	}
	out := exec.MustExec(tensors.FromFlatDataAndDimensions(xv, b, h, k), tensors.FromFlatDataAndDimensions(wv, k, n))
	grads := [][]float64{tensors.MustCopyFlatData[float64](out[1]), tensors.MustCopyFlatData[float64](out[2])}
	for which, vals := range [][]float64{xv, wv} {
		for i := range vals {
			const eps = 1e-6
			orig := vals[i]
			vals[i] = orig + eps
			up := eval(xv, wv)
			vals[i] = orig - eps
			down := eval(xv, wv)
			vals[i] = orig
			fd := (up - down) / (2 * eps)
			if got := grads[which][i]; math.Abs(got-fd) > 1e-6*math.Max(1, math.Abs(fd)) {
				t.Fatalf("input %d element %d: gradient %g, finite difference %g", which, i, got, fd)
			}
		}
	}
	// The generic GoMLX gradient must still serve products tfrun did not mark.
	generic := graph.MustNewExec(backend, func(x, w *graph.Node) []*graph.Node {
		y := graph.DotGeneral(x, []int{2}, nil, w, []int{0}, nil)
		c := graph.Const(x.Graph(), tensors.FromFlatDataAndDimensions(cv, b, h, n))
		return graph.Gradient(graph.ReduceAllSum(graph.Mul(y, c)), x, w)
	})
	gout := generic.MustExec(tensors.FromFlatDataAndDimensions(xv, b, h, k), tensors.FromFlatDataAndDimensions(wv, k, n))
	for which := range grads {
		g := tensors.MustCopyFlatData[float64](gout[which])
		for i := range g {
			if math.Abs(g[i]-grads[which][i]) > 1e-12 {
				t.Fatalf("input %d element %d: generic gradient %g, MatMul's %g", which, i, g[i], grads[which][i])
			}
		}
	}
}

func TestSparseCrossEntropyAndCorrectCount(t *testing.T) {
	backend, err := adapter.New("")
	if err != nil {
		t.Fatal(err)
	}
	logits := []float32{2, 0, 0, 0, 3, 0}
	labels := []int32{0, 2}
	out := graph.MustNewExec(backend, func(l, y *graph.Node) []*graph.Node {
		return []*graph.Node{SparseCrossEntropy(l, y), CorrectCount(l, y, "softmax")}
	}).MustExec(tensors.FromFlatDataAndDimensions(logits, 2, 3), tensors.FromFlatDataAndDimensions(labels, 2))
	// Row 1: -log(e²/(e²+2)); row 2: -log(1/(2+e³)).
	want := (-math.Log(math.Exp(2)/(math.Exp(2)+2)) - math.Log(1/(2+math.Exp(3)))) / 2
	if got := float64(out[0].Value().(float32)); math.Abs(got-want) > 1e-5 {
		t.Errorf("cross-entropy %g, want %g", got, want)
	}
	if got := out[1].Value().(float32); got != 1 {
		t.Errorf("correct count %g, want 1", got)
	}
}

// TestBinaryLosses checks BCE and Dice against direct formulas, and their
// gradients against finite differences, in float64.
func TestBinaryLosses(t *testing.T) {
	backend, err := adapter.New("")
	if err != nil {
		t.Fatal(err)
	}
	z := []float64{-2, 0.5, 3, -0.1, 1.5, -4}
	y := []int32{0, 1, 1, 1, 0, 0}
	var bce, inter, sp, sy float64
	for i := range z {
		p := 1 / (1 + math.Exp(-z[i]))
		bce -= float64(y[i])*math.Log(p) + (1-float64(y[i]))*math.Log(1-p)
		inter += p * float64(y[i])
		sp += p
		sy += float64(y[i])
	}
	bce /= float64(len(z))
	diceLoss := 1 - (2*inter+1)/(sp+sy+1)
	labels := tensors.FromFlatDataAndDimensions(y, 2, 3)
	for name, want := range map[string]float64{"bce": bce, "dice": diceLoss, "bce+dice": bce + diceLoss} {
		loss, err := LossByName(name, "sigmoid")
		if err != nil {
			t.Fatal(err)
		}
		value := graph.MustNewExec(backend, func(l, lab *graph.Node) *graph.Node { return loss(l, lab) })
		grad := graph.MustNewExec(backend, func(l, lab *graph.Node) *graph.Node { return graph.Gradient(loss(l, lab), l)[0] })
		at := func(v []float64) float64 {
			return value.MustExec(tensors.FromFlatDataAndDimensions(v, 2, 3, 1), labels)[0].Value().(float64)
		}
		if got := at(z); math.Abs(got-want) > 1e-12 {
			t.Errorf("%s = %g, want %g", name, got, want)
		}
		g := tensors.MustCopyFlatData[float64](grad.MustExec(tensors.FromFlatDataAndDimensions(z, 2, 3, 1), labels)[0])
		for i := range z {
			const eps = 1e-6
			zp, zm := append([]float64{}, z...), append([]float64{}, z...)
			zp[i] += eps
			zm[i] -= eps
			if fd := (at(zp) - at(zm)) / (2 * eps); math.Abs(g[i]-fd) > 1e-7 {
				t.Errorf("%s gradient[%d] = %g, finite difference %g", name, i, g[i], fd)
			}
		}
	}
	if _, err := LossByName("bce", "softmax"); err == nil {
		t.Error("bce on a softmax output: no error")
	}
}
