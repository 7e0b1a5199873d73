package adapter

import (
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
)

func TestScratchBilinear(t *testing.T) {
	be := testBackend(t)
	rng := rand.New(rand.NewPCG(1, 1))
	x := randArray(rng, 2, 5, 6, 2)
	for _, sizes := range [][]int{{-1, 8, -1, -1}, {-1, -1, 9, -1}, {-1, 8, 9, -1}, {-1, 3, 4, -1}} {
		for _, ac := range []bool{false, true} {
			t.Logf("sizes %v align %v", sizes, ac)
			checkGradient(t, be, func(xs []*Node) *Node {
				return Interpolate(xs[0], sizes...).Bilinear().AlignCorner(ac).Done()
			}, x)
		}
	}
}
