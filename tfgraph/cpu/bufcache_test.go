package cpu

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/tfrun/tfrun/tfgraph/nn"
)

func TestBufCache(t *testing.T) {
	be := newProfiled(t)
	defer be.Finalize()
	c := newBufCache()
	s := shapes.Make(dtypes.Float32, 2, 3)
	buf, _, err := be.NewSharedBuffer(0, s)
	if err != nil {
		t.Fatal(err)
	}
	if c.put(buf, s) {
		t.Fatal("a cache without a limit took a buffer")
	}
	c.raise(int64(s.Memory()))
	if !c.put(buf, s) {
		t.Fatal("a cache with room refused a buffer")
	}
	if c.put(buf, s) {
		t.Fatal("the cache took the same buffer twice")
	}
	if got := c.take(shapes.Make(dtypes.Float32, 3, 2)); got != nil {
		t.Fatal("a buffer came back under another shape of the same size")
	}
	if got := c.take(s); got != buf {
		t.Fatal("the cached buffer did not come back")
	}
	if got := c.take(s); got != nil {
		t.Fatal("one buffer came back twice")
	}
	c.put(buf, s)
	var drained []backends.Buffer
	c.drain(func(b backends.Buffer) { drained = append(drained, b) })
	if len(drained) != 1 || drained[0] != buf || c.bytes != 0 || c.take(s) != nil {
		t.Fatalf("drain handed back %d buffers and left %d bytes", len(drained), c.bytes)
	}
	_ = be.adapter.BufferFinalize(buf)
}

// TestBufferReuse runs a computation again and again on one backend, its
// outputs kept and finalized alternately: buffers the cache hands out again
// must never be ones a caller still holds, and the values must not depend
// on what a reused buffer held.
func TestBufferReuse(t *testing.T) {
	be := newProfiled(t)
	defer be.Finalize()
	fn := func(xs []*Node) []*Node {
		pads := [2][2]int{nn.SamePadding(9, 3, 1, 1), nn.SamePadding(7, 3, 1, 1)}
		y := nn.Relu(nn.Conv2D(xs[0], xs[1], [2]int{1, 1}, [2]int{1, 1}, pads))
		return []*Node{y, ReduceSum(Mul(y, y), 0, 1, 2), Add(xs[0], xs[0])}
	}
	exec, err := NewExec(be, fn)
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	rng := rand.New(rand.NewPCG(4, 4))
	var kept [][]*tensors.Tensor
	var want [][][]float32
	for i := range 6 {
		x, k := randTensor(rng, 2, 9, 7, 3), randTensor(rng, 3, 3, 3, 5)
		ref := execute(t, be, fn, []*tensors.Tensor{x, k})
		outs, err := exec.Exec(x, k)
		if err != nil {
			t.Fatal(err)
		}
		for j, o := range outs {
			if got := tensors.MustCopyFlatData[float32](o); !slices.Equal(got, ref[j]) {
				t.Fatalf("run %d output %d differs from a fresh executable's", i, j)
			}
		}
		if i%2 == 0 {
			kept, want = append(kept, outs), append(want, ref)
			continue
		}
		for _, o := range outs {
			o.FinalizeAll()
		}
	}
	for i, outs := range kept {
		for j, o := range outs {
			if got := tensors.MustCopyFlatData[float32](o); !slices.Equal(got, want[i][j]) {
				t.Fatalf("kept output %d of run %d changed", j, 2*i)
			}
		}
	}
}

// TestCacheServesShapesInTurn runs a chain whose values take a different
// shape at each step, each dead soon after the next is made, as an
// inference passes through its resolutions: from the third run on (the
// first ends before the cache may keep anything) every buffer must come
// from the cache, though all of them together are more than twice what a
// run holds at once.
func TestCacheServesShapesInTurn(t *testing.T) {
	be := newProfiled(t)
	defer be.Finalize()
	exec, err := NewExec(be, func(x *Node) *Node {
		// Transposes of a non-square tensor: every shape has as many
		// elements, and no shape serves another.
		for _, n := range []int{2, 4, 8, 16, 32, 64} {
			x = Reshape(x, n, -1)
			x = Sqrt(Abs(AddScalar(Transpose(x, 0, 1), 1)))
		}
		// A native reduction: a delegated one would take the buffer over.
		return ReduceSum(x, 1)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	x := randTensor(rand.New(rand.NewPCG(1, 3)), 128, 1024)
	for i := range 4 {
		be.cache.mu.Lock()
		before := be.cache.misses
		be.cache.mu.Unlock()
		outs, err := exec.Exec(x)
		if err != nil {
			t.Fatal(err)
		}
		outs[0].FinalizeAll()
		be.cache.mu.Lock()
		missed := be.cache.misses - before
		be.cache.mu.Unlock()
		if i > 1 && missed > 0 {
			t.Errorf("run %d: %d buffers were not in the cache", i, missed)
		}
	}
}
