package adapter

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// BenchmarkConv3x3 compares simplego's own ConvGeneral with the adapter's
// im2col one on a [8,28,28,32] -> 32 channels 3x3 "same" convolution forward.
func BenchmarkConv3x3(b *testing.B) {
	randF32 := func(rng *rand.Rand, dims ...int) *tensors.Tensor {
		flat := make([]float32, product(dims))
		for i := range flat {
			flat[i] = float32(rng.NormFloat64())
		}
		return tensors.FromFlatDataAndDimensions(flat, dims...)
	}
	const flops = 2 * 8 * 28 * 28 * 32 * 3 * 3 * 32

	be := testBackend(b)
	for _, bc := range []struct {
		name    string
		backend backends.Backend
	}{
		{"simplego", be.Inner()},
		{"adapter", be},
	} {
		b.Run(bc.name, func(b *testing.B) {
			// Tensors get tied to the backend they are used on: fresh ones per backend.
			rng := rand.New(rand.NewPCG(71, 72))
			x, k := randF32(rng, 8, 28, 28, 32), randF32(rng, 3, 3, 32, 32)
			exec, err := NewExec(bc.backend, func(x, k *Node) *Node {
				// Explicit strides: simplego rejects unset ones.
				return Convolve(x, k).StridePerAxis(1, 1).PadSame().Done()
			})
			if err != nil {
				b.Fatal(err)
			}
			defer exec.Finalize()
			if _, err := exec.Exec(x, k); err != nil { // compile outside the timing
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				outs, err := exec.Exec(x, k)
				if err != nil {
					b.Fatal(err)
				}
				outs[0].FinalizeAll()
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
