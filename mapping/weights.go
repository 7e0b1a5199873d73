package mapping

import "math"

// weights is how much each pixel of a window counts in the blend
// ([winH·winW]), and the rectangle where that is non-zero: the part of
// the window that contributes to the map.
type weights struct {
	w      []float32
	region rect
}

// gaussianFloor keeps the Gaussian's corners above zero, so that a pixel
// only a window's corner reaches still has a defined blend.
const gaussianFloor = 1e-6

func blendWeights(b Blend, l layout) weights {
	w := make([]float32, l.winW*l.winH)
	full := rect{0, 0, l.winW, l.winH}
	switch b {
	case Center:
		c := l.cell()
		for y := c.y0; y < c.y1; y++ {
			for x := c.x0; x < c.x1; x++ {
				w[y*l.winW+x] = 1
			}
		}
		return weights{w, c}
	case Gaussian:
		gx, gy := gaussian(l.winW), gaussian(l.winH)
		for y := range l.winH {
			for x := range l.winW {
				w[y*l.winW+x] = float32(max(gy[y]*gx[x], gaussianFloor))
			}
		}
		return weights{w, full}
	default:
		for i := range w {
			w[i] = 1
		}
		return weights{w, full}
	}
}

// gaussian is exp(−d²/2σ²) of each pixel centre's distance d to the
// middle of n pixels, with σ = n/8 (nnU-Net's choice): the weight falls to
// 1% three quarters of the way out and to 0.03% at the edge.
func gaussian(n int) []float64 {
	sigma := float64(n) / 8
	g := make([]float64, n)
	for i := range g {
		d := float64(i) + 0.5 - float64(n)/2
		g[i] = math.Exp(-d * d / (2 * sigma * sigma))
	}
	return g
}
