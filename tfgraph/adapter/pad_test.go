package adapter

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// refPad is the XLA definition: element i of an axis lands at
// Start + i*(Interior+1); positions outside [0, outDim) are dropped.
func refPad(x array, fill float64, cfg []backends.PadAxis) array {
	rank := len(x.dims)
	full := make([]backends.PadAxis, rank)
	copy(full, cfg)
	outDims := make([]int, rank)
	for i, n := range x.dims {
		outDims[i] = n + full[i].Start + full[i].End + max(n-1, 0)*full[i].Interior
	}
	out := zerosArray(outDims...)
	for i := range out.data {
		out.data[i] = fill
	}
	src := make([]int, rank)
	iterIndices(out.dims, func(idx []int) {
		for a := range rank {
			j := idx[a] - full[a].Start
			step := full[a].Interior + 1
			if j < 0 || j%step != 0 || j/step >= x.dims[a] {
				return
			}
			src[a] = j / step
		}
		out.set(x.at(src...), idx...)
	})
	return out
}

func TestPadValues(t *testing.T) {
	be := testBackend(t)
	rng := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		dims []int
		cfg  []backends.PadAxis
	}{
		{[]int{5}, []backends.PadAxis{{Start: 2, End: 3}}},
		{[]int{5}, []backends.PadAxis{{Start: -2, End: -1}}},
		{[]int{5}, []backends.PadAxis{{Interior: 2}}},
		{[]int{5}, []backends.PadAxis{{Start: -1, End: 2, Interior: 1}}},
		{[]int{5}, []backends.PadAxis{{Start: 3, End: -4, Interior: 1}}}, // crop into the interior fill
		{[]int{3, 4}, []backends.PadAxis{{Start: 1, End: 0}, {Start: 0, End: 2, Interior: 1}}},
		{[]int{3, 4}, []backends.PadAxis{{Start: -1, End: 1}}}, // fewer configs than axes
		{[]int{2, 3, 4}, []backends.PadAxis{{}, {Start: -1, End: -1, Interior: 3}, {Start: 2, End: -2, Interior: 2}}},
		{[]int{2, 1, 3}, []backends.PadAxis{{Interior: 1}, {Start: 1, End: 1, Interior: 5}, {}}},
		{[]int{2, 3}, nil},
	}
	for i, tc := range cases {
		t.Run(fmt.Sprintf("%d_%v_%v", i, tc.dims, tc.cfg), func(t *testing.T) {
			x := randArray(rng, tc.dims...)
			const fill = 7.5
			got := execGraph(t, be, func(xs []*Node) []*Node {
				return []*Node{Pad(xs[0], Scalar(xs[0].Graph(), xs[0].DType(), fill), tc.cfg...)}
			}, x)[0]
			assertClose(t, "Pad", got, refPad(x, fill, tc.cfg), 0)
		})
	}
}

func TestPadErrors(t *testing.T) {
	be := testBackend(t)
	b := be.Builder("pad_errors")
	defer func() { _, _ = b.Compile(nil, nil) }()
	x, err := b.Constant([]float64{1, 2, 3}, 3)
	if err != nil {
		t.Fatal(err)
	}
	fill, _ := b.Constant([]float64{0})
	if _, err := b.Pad(x, fill, backends.PadAxis{Start: -2, End: -2}); err == nil {
		t.Error("cropping more than the axis should fail")
	}
	if _, err := b.Pad(x, fill, backends.PadAxis{Interior: -1}); err == nil {
		t.Error("negative interior should fail")
	}
	if _, err := b.Pad(x, fill, backends.PadAxis{}, backends.PadAxis{}); err == nil {
		t.Error("more configs than axes should fail")
	}
	fillVec, _ := b.Constant([]float64{0, 0}, 2)
	if _, err := b.Pad(x, fillVec, backends.PadAxis{Start: 1}); err == nil {
		t.Error("non-scalar fill should fail")
	}
}

// Slice's gradient is a Pad with Start/End and, for strided slices, Interior;
// GoMLX defines no gradient for Pad itself, so this is how Pad's
// differentiation path gets exercised.
func TestPadGradientThroughSlice(t *testing.T) {
	be := testBackend(t)
	rng := rand.New(rand.NewPCG(3, 4))
	x := randArray(rng, 4, 7, 3)
	checkGradient(t, be, func(xs []*Node) *Node {
		a := Slice(xs[0], AxisRange(1, 4), AxisRange(1).Stride(2), AxisRange(0, 2))
		b := Slice(xs[0], AxisRange().Stride(3), AxisRange(2, 7).Stride(3))
		return Concatenate([]*Node{Reshape(a, -1), Reshape(Mul(b, b), -1)}, 0)
	}, x)
}

func refReverse(x array, axes []int) array {
	out := zerosArray(x.dims...)
	src := make([]int, len(x.dims))
	iterIndices(x.dims, func(idx []int) {
		copy(src, idx)
		for _, a := range axes {
			src[a] = x.dims[a] - 1 - idx[a]
		}
		out.set(x.at(src...), idx...)
	})
	return out
}

func TestReverseValues(t *testing.T) {
	be := testBackend(t)
	rng := rand.New(rand.NewPCG(5, 6))
	cases := []struct {
		dims []int
		axes []int
	}{
		{[]int{6}, []int{0}},
		{[]int{3, 4}, []int{1}},
		{[]int{3, 4}, []int{0, 1}},
		{[]int{2, 3, 4, 5}, []int{1, 2}},
		{[]int{2, 1, 4}, []int{1, 2}},
		{[]int{3, 4}, nil},
	}
	for i, tc := range cases {
		t.Run(fmt.Sprintf("%d_%v_%v", i, tc.dims, tc.axes), func(t *testing.T) {
			x := randArray(rng, tc.dims...)
			got := execGraph(t, be, func(xs []*Node) []*Node {
				return []*Node{Reverse(xs[0], tc.axes...)}
			}, x)[0]
			assertClose(t, "Reverse", got, refReverse(x, tc.axes), 0)
		})
	}
}

// A graph may output a composite op's input next to the op itself: the
// no-op forms must still be distinct nodes or simplego's Compile rejects the
// repeated output.
func TestNoOpFormsAreFreshNodes(t *testing.T) {
	be := testBackend(t)
	x := array{dims: []int{2, 2}, data: []float64{1, 2, 3, 4}}
	outs := execGraph(t, be, func(xs []*Node) []*Node {
		g := xs[0].Graph()
		return []*Node{xs[0], Pad(xs[0], ScalarZero(g, xs[0].DType())), Reverse(xs[0])}
	}, x)
	for i, o := range outs {
		assertClose(t, fmt.Sprintf("output %d", i), o, x, 0)
	}
}
