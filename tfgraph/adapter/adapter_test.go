package adapter

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

func TestSanitizeConfig(t *testing.T) {
	cases := []struct {
		in, want string
		fails    bool
	}{
		{in: "", want: "ops_sequential"},
		{in: "parallelism=1", want: "parallelism=0"},
		{in: "parallelism=0", want: "parallelism=0"},
		{in: "parallelism=4", want: "parallelism=4,ops_sequential"},
		{in: "parallelism=-1", want: "parallelism=-1"},
		{in: "parallelism=-1,ops_parallel", want: "ops_parallel,parallelism=-1"},
		{in: "dotgeneral_large, parallelism=1", want: "dotgeneral_large,parallelism=0"},
		{in: "ops_sequential,parallelism=3", want: "ops_sequential,parallelism=3"},
		{in: "parallelism=2,ops_parallel", fails: true},
		{in: "ops_parallel", fails: true},
		{in: "parallelism=x", fails: true},
		{in: "parallelism", fails: true},
	}
	for _, tc := range cases {
		got, err := sanitizeConfig(tc.in)
		if tc.fails {
			if err == nil {
				t.Errorf("sanitizeConfig(%q) = %q, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("sanitizeConfig(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := New("no_such_option"); err == nil {
		t.Error("unknown simplego options must still be rejected")
	}
}

func TestBackendIdentity(t *testing.T) {
	be := testBackend(t)
	if be.Name() != "tfrun-go" || be.String() != "tfrun-go" {
		t.Errorf("Name()=%q String()=%q", be.Name(), be.String())
	}
	if d := be.Description(); !strings.Contains(d, "simplego") || !strings.Contains(d, "adapter") {
		t.Errorf("Description() = %q should mention simplego and the adapter", d)
	}
	caps := be.Capabilities()
	for _, op := range overriddenOps {
		if !caps.Operations[op] {
			t.Errorf("capabilities miss %s", op)
		}
	}
	if !caps.Operations[backends.OpTypeDotGeneral] || !caps.DTypes[dtypes.Float32] {
		t.Error("capabilities must keep simplego's own ops and dtypes")
	}
	if inner := be.Inner().Capabilities(); inner.Operations[backends.OpTypePad] {
		t.Error("cloning capabilities must not modify simplego's")
	}
}

func TestRegisteredAsTfrun(t *testing.T) {
	be, err := backends.NewWithConfig("tfrun:parallelism=1")
	if err != nil {
		t.Fatal(err)
	}
	defer be.Finalize()
	if _, ok := be.(*Backend); !ok {
		t.Fatalf("GOMLX_BACKEND=tfrun gives %T", be)
	}
}

// Under parallelism=1 simplego v0.26 deadlocks as soon as a few large
// DotGenerals (the blocked "large" path: here 512x512 outputs, above
// simplego's 16 blocks threshold) are ready at once; through the adapter they
// must complete.
func TestParallelismOneDoesNotDeadlock(t *testing.T) {
	be, err := New("parallelism=1")
	if err != nil {
		t.Fatal(err)
	}
	defer be.Finalize()
	done := make(chan error, 1)
	go func() {
		_, err := ExecOnce(be, func(g *Graph) *Node {
			var sum *Node
			for i := range 4 {
				a := AddScalar(IotaFull(g, shapes.Make(dtypes.Float32, 512, 128)), float64(i))
				b := IotaFull(g, shapes.Make(dtypes.Float32, 128, 512))
				s := ReduceAllSum(Dot(a, b))
				if sum == nil {
					sum = s
				} else {
					sum = Add(sum, s)
				}
			}
			return sum
		})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("parallelism=1 execution did not finish in 30s (deadlock)")
	}
}

// A tiny float32 conv net (conv, batch norm, relu, max pool, mean pool,
// dense) trained for a few steps: forward and backward must run, and the loss
// must go down.
func TestFloat32ConvNetSmoke(t *testing.T) {
	be := testBackend(t)
	rng := rand.New(rand.NewPCG(61, 62))
	randF32 := func(scale float64, dims ...int) *tensors.Tensor {
		flat := make([]float32, product(dims))
		for i := range flat {
			flat[i] = float32(rng.NormFloat64() * scale)
		}
		return tensors.FromFlatDataAndDimensions(flat, dims...)
	}
	images := randF32(1, 4, 8, 8, 3)
	labels := randF32(1, 4, 2)
	k1, k2, dense := randF32(0.3, 3, 3, 3, 8), randF32(0.3, 3, 3, 8, 8), randF32(0.3, 8, 2)

	step, err := NewExec(be, func(in []*Node) []*Node {
		x, y, k1, k2, w := in[0], in[1], in[2], in[3], in[4]
		g := x.Graph()
		h := Convolve(x, k1).PadSame().Done()
		ones, zeros := Ones(g, shapes.Make(dtypes.Float32, 8)), Zeros(g, shapes.Make(dtypes.Float32, 8))
		h, _, _ = InternalBatchNormForTraining(h, ones, zeros, 1e-3, -1)
		h = MaxPool(Max(h, ZerosLike(h))).Window(2).Done()
		h = Convolve(h, k2).Strides(2).PadSame().Done()
		h = MeanPool(h).Window(2).Done() // [4, 1, 1, 8]
		pred := Dot(Reshape(h, 4, 8), w)
		loss := ReduceAllMean(Square(Sub(pred, y)))
		grads := Gradient(loss, k1, k2, w)
		lr := Scalar(g, dtypes.Float32, 0.005)
		return []*Node{loss, Sub(k1, Mul(lr, grads[0])), Sub(k2, Mul(lr, grads[1])), Sub(w, Mul(lr, grads[2]))}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer step.Finalize()
	var first, last float32
	for i := range 5 {
		outs, err := step.Exec(images, labels, k1, k2, dense)
		if err != nil {
			t.Fatal(err)
		}
		loss := tensors.MustCopyFlatData[float32](outs[0])[0]
		t.Logf("step %d loss %v", i, loss)
		if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
			t.Fatalf("step %d: loss %v", i, loss)
		}
		if i == 0 {
			first = loss
		}
		last = loss
		k1, k2, dense = outs[1], outs[2], outs[3]
	}
	if !(last < first) {
		t.Errorf("loss did not decrease: %v -> %v", first, last)
	}
}
