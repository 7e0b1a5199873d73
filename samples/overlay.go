package samples

import (
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"slices"

	"github.com/tfrun/tfrun/internal/atomicfile"
)

// palette colours classes 1, 2, … (cycling): distinct hues that stay
// visible over a grey image.
var palette = []color.RGBA{
	{230, 25, 75, 255}, {0, 130, 200, 255}, {60, 180, 75, 255}, {255, 225, 25, 255},
	{245, 130, 48, 255}, {145, 30, 180, 255}, {70, 240, 240, 255}, {240, 50, 230, 255},
	{210, 245, 60, 255}, {0, 128, 128, 255},
}

// maxOverlaySide bounds the PNG: a review image of a large scene is
// shrunk by an integer factor rather than made unopenable.
const maxOverlaySide = 4096

// Overlay writes a PNG for a person to review grown labels: the
// background (one value per pixel, stretched between its 2nd and 98th
// percentiles) in grey, grown pixels tinted with their class colour, and
// seed pixels in solid colour.
func Overlay(path string, width, height int, background []float32, labels []int32, seeds []Seed) error {
	lo, hi := stretch(background)
	isSeed := make([]bool, width*height)
	for _, s := range seeds {
		for _, p := range s.Pixels {
			isSeed[p] = true
		}
	}
	step := max(1, (max(width, height)+maxOverlaySide-1)/maxOverlaySide)
	img := image.NewRGBA(image.Rect(0, 0, (width+step-1)/step, (height+step-1)/step))
	for y := 0; y < height; y += step {
		for x := 0; x < width; x += step {
			p := y*width + x
			g := 0.0
			if v := float64(background[p]); hi > lo && !math.IsNaN(v) {
				g = max(0, min(1, (v-lo)/(hi-lo)))
			}
			c := color.RGBA{uint8(255 * g), uint8(255 * g), uint8(255 * g), 255}
			if k := labels[p]; k > 0 {
				pc := palette[(int(k)-1)%len(palette)]
				if !isSeed[p] {
					pc = blend(c, pc, 0.5)
				}
				c = pc
			}
			img.SetRGBA(x/step, y/step, c)
		}
	}
	return atomicfile.Write(path, func(w io.Writer) error { return png.Encode(w, img) })
}

func blend(a, b color.RGBA, t float64) color.RGBA {
	mix := func(u, v uint8) uint8 { return uint8(float64(u)*(1-t) + float64(v)*t) }
	return color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 255}
}

// stretch returns the 2nd and 98th percentiles of the finite values.
func stretch(v []float32) (float64, float64) {
	var s []float32
	for _, x := range v {
		if !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) {
			s = append(s, x)
		}
	}
	if len(s) == 0 {
		return 0, 0
	}
	slices.Sort(s)
	at := func(q float64) float64 { return float64(s[int(q*float64(len(s)-1))]) }
	return at(0.02), at(0.98)
}
