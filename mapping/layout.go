package mapping

import "fmt"

// layout places windows over a sheet. Window (r, c) has its top-left pixel
// at (c·strideX − marginX, r·strideY − marginY): the margins (half the
// overlap) start the first window off the sheet, so that the cells
// [c·strideX, (c+1)·strideX) × [r·strideY, (r+1)·strideY) tile the sheet
// exactly and every pixel sits inside some window's central part. Pixels
// off the sheet are filled by reflection.
type layout struct {
	width, height    int // sheet
	winW, winH       int
	strideX, strideY int
	marginX, marginY int
	cols, rows       int // windows across and down
}

func newLayout(width, height, winW, winH, overlap int) (layout, error) {
	if overlap < 0 || overlap >= min(winW, winH) {
		return layout{}, fmt.Errorf("overlap %d: want 0 ≤ overlap < the window's %d×%d", overlap, winW, winH)
	}
	l := layout{width: width, height: height, winW: winW, winH: winH,
		strideX: winW - overlap, strideY: winH - overlap, marginX: overlap / 2, marginY: overlap / 2}
	l.cols = ceilDiv(width, l.strideX)
	l.rows = ceilDiv(height, l.strideY)
	return l, nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// origin is the sheet position of window (r, c)'s top-left pixel.
func (l layout) origin(r, c int) (x0, y0 int) {
	return c*l.strideX - l.marginX, r*l.strideY - l.marginY
}

// cell is the part of a window, in window coordinates, that is its own:
// the central stride×stride block.
func (l layout) cell() rect {
	return rect{l.marginX, l.marginY, l.marginX + l.strideX, l.marginY + l.strideY}
}

// rect is a half-open pixel rectangle [x0, x1) × [y0, y1).
type rect struct{ x0, y0, x1, y1 int }

// reflect maps a coordinate off a line of n pixels back onto it as a
// mirror does, without repeating the edge pixel (numpy's "reflect"),
// folding as often as needed for windows larger than the sheet.
func reflect(i, n int) int {
	if n == 1 {
		return 0
	}
	period := 2 * (n - 1)
	i %= period
	if i < 0 {
		i += period
	}
	if i >= n {
		i = period - i
	}
	return i
}
