package adapter

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// refResizeAxis linearly interpolates one axis: half-pixel centers
// (src = (dst+0.5)*in/out - 0.5, clamped) or aligned corners
// (src = dst*(in-1)/(out-1)).
func refResizeAxis(x array, axis, outSize int, alignCorners bool) array {
	in := x.dims[axis]
	dims := append([]int(nil), x.dims...)
	dims[axis] = outSize
	out := zerosArray(dims...)
	src := make([]int, len(dims))
	iterIndices(dims, func(idx []int) {
		var pos float64
		if alignCorners {
			if outSize > 1 {
				pos = float64(idx[axis]) * float64(in-1) / float64(outSize-1)
			}
		} else {
			pos = (float64(idx[axis])+0.5)*float64(in)/float64(outSize) - 0.5
		}
		pos = math.Min(math.Max(pos, 0), float64(in-1))
		lo := int(math.Floor(pos))
		hi := min(lo+1, in-1)
		frac := pos - float64(lo)
		copy(src, idx)
		src[axis] = lo
		v := (1 - frac) * x.at(src...)
		src[axis] = hi
		v += frac * x.at(src...)
		out.set(v, idx...)
	})
	return out
}

func bilinear(x *Node, outH, outW int, alignCorners bool) *Node {
	sizes := []int{NoInterpolation, outH, outW, NoInterpolation}
	return Interpolate(x, sizes...).Bilinear().HalfPixelCenters(!alignCorners).AlignCorner(alignCorners).Done()
}

// The gradient of graph.Interpolate(...).Bilinear() is a ScatterSum of
// partial windows along the resized axes; simplego gets it wrong for any
// axis but the first (see scatter.go), which the adapter fixes.
func TestBilinearResizeValuesAndGradients(t *testing.T) {
	be := testBackend(t)
	rng := rand.New(rand.NewPCG(51, 52))
	x := randArray(rng, 2, 5, 6, 2)
	cases := []struct{ outH, outW int }{
		{9, 6},  // height only
		{5, 11}, // width only
		{8, 9},  // both, upsampling
		{4, 4},  // both, downsampling
	}
	for _, tc := range cases {
		for _, align := range []bool{false, true} {
			t.Run(fmt.Sprintf("%dx%d_align=%v", tc.outH, tc.outW, align), func(t *testing.T) {
				got := execGraph(t, be, func(xs []*Node) []*Node {
					return []*Node{bilinear(xs[0], tc.outH, tc.outW, align)}
				}, x)[0]
				want := refResizeAxis(refResizeAxis(x, 1, tc.outH, align), 2, tc.outW, align)
				assertClose(t, "resize", got, want, 1e-12)
				checkGradient(t, be, func(xs []*Node) *Node { return bilinear(xs[0], tc.outH, tc.outW, align) }, x)
			})
		}
	}
}
