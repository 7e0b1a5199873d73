package adapter

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

var sharedBackend = sync.OnceValues(func() (backends.Backend, error) { return New("") })

func testBackend(t testing.TB) *Backend {
	t.Helper()
	be, err := sharedBackend()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return be.(*Backend)
}

// array is a float64 tensor kept on the host, the currency of the tests.
type array struct {
	dims []int
	data []float64
}

func randArray(rng *rand.Rand, dims ...int) array {
	a := array{dims: dims, data: make([]float64, product(dims))}
	for i := range a.data {
		a.data[i] = rng.NormFloat64()
	}
	return a
}

func (a array) tensor() *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(append([]float64(nil), a.data...), a.dims...)
}

func (a array) strides() []int {
	s := make([]int, len(a.dims))
	acc := 1
	for i := len(a.dims) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= a.dims[i]
	}
	return s
}

func (a array) at(idx ...int) float64 {
	off := 0
	for i, st := range a.strides() {
		off += idx[i] * st
	}
	return a.data[off]
}

func zerosArray(dims ...int) array {
	return array{dims: dims, data: make([]float64, product(dims))}
}

func (a array) set(v float64, idx ...int) {
	off := 0
	for i, st := range a.strides() {
		off += idx[i] * st
	}
	a.data[off] = v
}

func (a array) add(v float64, idx ...int) {
	off := 0
	for i, st := range a.strides() {
		off += idx[i] * st
	}
	a.data[off] += v
}

func toArray(t testing.TB, tensor *tensors.Tensor) array {
	t.Helper()
	if tensor.DType() != dtypes.Float64 {
		t.Fatalf("expected float64 output, got %s", tensor.Shape())
	}
	return array{dims: tensor.Shape().Dimensions, data: tensors.MustCopyFlatData[float64](tensor)}
}

// execGraph runs fn on the backend with the arrays as parameters.
func execGraph(t testing.TB, be backends.Backend, fn func(xs []*Node) []*Node, inputs ...array) []array {
	t.Helper()
	exec, err := NewExec(be, fn)
	if err != nil {
		t.Fatalf("NewExec: %v", err)
	}
	defer exec.Finalize()
	args := make([]any, len(inputs))
	for i, in := range inputs {
		args[i] = in.tensor()
	}
	outs, err := exec.Exec(args...)
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	res := make([]array, len(outs))
	for i, o := range outs {
		res[i] = toArray(t, o)
	}
	return res
}

// execOps builds a computation directly on the backend builder: this reaches
// ops (like SelectAndScatter) that the graph package only uses internally.
func execOps(t testing.TB, be backends.Backend, build func(b backends.Builder, params []backends.Op) ([]backends.Op, error),
	inputs ...array) []array {
	t.Helper()
	b := be.Builder(t.Name())
	params := make([]backends.Op, len(inputs))
	buffers := make([]backends.Buffer, len(inputs))
	for i, in := range inputs {
		shape := shapes.Make(dtypes.Float64, in.dims...)
		p, err := b.Parameter(fmt.Sprintf("p%d", i), shape, nil)
		if err != nil {
			t.Fatalf("Parameter: %v", err)
		}
		params[i] = p
		buffers[i], err = be.BufferFromFlatData(0, append([]float64(nil), in.data...), shape)
		if err != nil {
			t.Fatalf("BufferFromFlatData: %v", err)
		}
	}
	outs, err := build(b, params)
	if err != nil {
		t.Fatalf("building: %v", err)
	}
	exe, err := b.Compile(outs, nil)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	defer exe.Finalize()
	results, err := exe.Execute(buffers, make([]bool, len(buffers)), 0)
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	res := make([]array, len(results))
	for i, r := range results {
		shape, err := be.BufferShape(r)
		if err != nil {
			t.Fatal(err)
		}
		flat := make([]float64, shape.Size())
		if err := be.BufferToFlatData(r, flat); err != nil {
			t.Fatal(err)
		}
		res[i] = array{dims: shape.Dimensions, data: flat}
		_ = be.BufferFinalize(r)
	}
	return res
}

func assertClose(t testing.TB, name string, got, want array, tol float64) {
	t.Helper()
	if len(got.dims) != len(want.dims) {
		t.Fatalf("%s: got dims %v, want %v", name, got.dims, want.dims)
	}
	for i := range got.dims {
		if got.dims[i] != want.dims[i] {
			t.Fatalf("%s: got dims %v, want %v", name, got.dims, want.dims)
		}
	}
	bad := 0
	for i := range got.data {
		g, w := got.data[i], want.data[i]
		if (math.IsInf(w, 0) || math.IsNaN(w)) && (g == w || math.IsNaN(g) && math.IsNaN(w)) {
			continue
		}
		if math.Abs(g-w) > tol*math.Max(1, math.Abs(w)) {
			if bad < 5 {
				t.Errorf("%s: flat index %d: got %.12g, want %.12g", name, i, g, w)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values differ (dims %v)", name, bad, len(got.data), got.dims)
	}
}

// fdMaxElements bounds how many elements per input are finite-differenced,
// keeping the package's tests fast on small machines.
const fdMaxElements = 200

// checkGradient compares graph.Gradient of L = sum(w * fn(xs)), with fixed
// random weights w, against central finite differences (eps 1e-6) for every
// element of small inputs and a random sample of larger ones. The bound is
// |analytic - numeric| <= 1e-6 * max(1, |analytic|, |numeric|).
func checkGradient(t *testing.T, be backends.Backend, fn func(xs []*Node) *Node, inputs ...array) {
	t.Helper()
	loss := func(xs []*Node) *Node {
		out := fn(xs)
		if out.DType() != dtypes.Float64 {
			panic("checkGradient needs float64 outputs")
		}
		wRng := rand.New(rand.NewPCG(7, 11))
		w := randArray(wRng, out.Shape().Dimensions...)
		return ReduceAllSum(Mul(out, Const(out.Graph(), w.tensor())))
	}
	withGrads := execGraph(t, be, func(xs []*Node) []*Node {
		l := loss(xs)
		return append([]*Node{l}, Gradient(l, xs...)...)
	}, inputs...)

	lossExec, err := NewExec(be, func(xs []*Node) *Node { return loss(xs) })
	if err != nil {
		t.Fatal(err)
	}
	defer lossExec.Finalize()
	evalLoss := func(args []array) float64 {
		anyArgs := make([]any, len(args))
		for i, a := range args {
			anyArgs[i] = a.tensor()
		}
		out, err := lossExec.Exec(anyArgs...)
		if err != nil {
			t.Fatalf("loss Exec: %v", err)
		}
		return toArray(t, out[0]).data[0]
	}

	const eps = 1e-6
	rng := rand.New(rand.NewPCG(3, 5))
	args := make([]array, len(inputs))
	for i, in := range inputs {
		args[i] = array{dims: in.dims, data: append([]float64(nil), in.data...)}
	}
	failures := 0
	for i := range inputs {
		grad := withGrads[1+i]
		n := len(args[i].data)
		elems := make([]int, 0, n)
		if n <= fdMaxElements {
			for j := range n {
				elems = append(elems, j)
			}
		} else {
			elems = rng.Perm(n)[:fdMaxElements]
		}
		for _, j := range elems {
			orig := args[i].data[j]
			args[i].data[j] = orig + eps
			plus := evalLoss(args)
			args[i].data[j] = orig - eps
			minus := evalLoss(args)
			args[i].data[j] = orig
			numeric := (plus - minus) / (2 * eps)
			analytic := grad.data[j]
			if math.Abs(analytic-numeric) > 1e-6*math.Max(1, math.Max(math.Abs(analytic), math.Abs(numeric))) {
				if failures < 8 {
					t.Errorf("gradient of input #%d (dims %v) at flat index %d: analytic %.10g, numeric %.10g",
						i, inputs[i].dims, j, analytic, numeric)
				}
				failures++
			}
		}
	}
	if failures > 0 {
		t.Errorf("%d gradient elements out of tolerance", failures)
	}
}
