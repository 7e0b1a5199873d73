package adapter

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
)

func TestScratchScatterGather(t *testing.T) {
	be := testBackend(t)
	rng := rand.New(rand.NewPCG(1, 1))
	for _, axis := range []int{0, 1, 2} {
		dims := []int{4, 5, 6}
		sliceSizes := append([]int(nil), dims...)
		sliceSizes[axis] = 2
		nIdx := 3
		starts := []float64{0, 2, 1}
		operand := randArray(rng, dims...)
		upd := randArray(rng, append([]int{nIdx}, sliceSizes...)...)
		idxArr := array{dims: []int{nIdx, 1}, data: starts}
		// Gather
		outs := execOps(t, be, func(b backends.Builder, p []backends.Op) ([]backends.Op, error) {
			idx, _ := b.ConvertDType(p[1], 3) // Int32
			g, err := b.Gather(p[0], idx, 1, []int{1, 2, 3}, nil, []int{axis}, sliceSizes, false)
			if err != nil {
				return nil, err
			}
			zero, _ := b.Constant(make([]float64, 4*5*6), dims...)
			s, err := b.ScatterSum(zero, idx, p[2], 1, []int{1, 2, 3}, nil, []int{axis}, false, false)
			return []backends.Op{g, s}, err
		}, operand, idxArr, upd)
		// reference gather
		wantG := zerosArray(append([]int{nIdx}, sliceSizes...)...)
		wantS := zerosArray(dims...)
		for i := 0; i < nIdx; i++ {
			iterIndices(sliceSizes, func(w []int) {
				src := append([]int(nil), w...)
				src[axis] += int(starts[i])
				wantG.set(operand.at(src...), append([]int{i}, w...)...)
				wantS.add(upd.at(append([]int{i}, w...)...), src...)
			})
		}
		t.Logf("axis %d", axis)
		assertClose(t, "gather", outs[0], wantG, 1e-12)
		assertClose(t, "scatter", outs[1], wantS, 1e-12)
	}
}
