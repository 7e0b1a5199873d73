package sheet

import (
	"image"
	"image/color"
)

// QuicklookSize bounds a quicklook's longer side in pixels.
const QuicklookSize = 1024

// palette colours classes 0, 1, ... (repeating after ten); nodata is
// transparent.
var palette = []color.NRGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255}, {148, 103, 189, 255},
	{140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255}, {188, 189, 34, 255}, {23, 190, 207, 255},
}

// quicklook samples every step-th row and column of a class map as it
// streams past, so it never holds more than the picture itself.
type quicklook struct {
	step int
	img  *image.NRGBA
}

func newQuicklook(width, height int) *quicklook {
	step := max((max(width, height)+QuicklookSize-1)/QuicklookSize, 1)
	w, h := (width+step-1)/step, (height+step-1)/step
	return &quicklook{step: step, img: image.NewNRGBA(image.Rect(0, 0, w, h))}
}

// add takes rows [y0, y0+rows) of the class map, width wide, −1 for nodata.
func (q *quicklook) add(y0, rows, width int, classes []int32) {
	first := (y0 + q.step - 1) / q.step * q.step
	for y := first; y < y0+rows; y += q.step {
		row := classes[(y-y0)*width:]
		for x := 0; x < width; x += q.step {
			if c := row[x]; c >= 0 {
				q.img.SetNRGBA(x/q.step, y/q.step, palette[int(c)%len(palette)])
			}
		}
	}
}
