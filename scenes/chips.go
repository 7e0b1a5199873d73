package scenes

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Region limits chips to columns Cols[0] ≤ x < Cols[1] and rows
// Rows[0] ≤ y < Rows[1] of the scene; an empty range is the whole axis.
// Training on the west half of a 900-wide scene is {cols: [0, 450]}.
type Region struct {
	Cols []int `yaml:"cols,flow,omitempty"`
	Rows []int `yaml:"rows,flow,omitempty"`
}

// rect resolves the region inside a width×height scene.
func (g Region) rect(width, height int) (Rect, error) {
	x0, x1, err := span("cols", g.Cols, width)
	if err != nil {
		return Rect{}, err
	}
	y0, y1, err := span("rows", g.Rows, height)
	if err != nil {
		return Rect{}, err
	}
	return Rect{X: x0, Y: y0, W: x1 - x0, H: y1 - y0}, nil
}

func span(axis string, r []int, n int) (int, int, error) {
	switch {
	case len(r) == 0:
		return 0, n, nil
	case len(r) != 2 || r[0] < 0 || r[1] > n || r[0] >= r[1]:
		return 0, 0, fmt.Errorf("region %s %v: want [first, end) with 0 ≤ first < end ≤ %d", axis, r, n)
	}
	return r[0], r[1], nil
}

// Split holds out whole square blocks of the region for validation. A chip
// belongs to a set only when every block it touches is in that set; chips
// straddling both are dropped, so no pixel of a training chip is in a
// validation chip however much chips overlap.
//
// The region is cut into W/Block × H/Block blocks (rounded down, at least
// one), spread evenly: each is at least Block pixels on a side, and there
// is no sliver at the region's edge that no chip could fit in.
type Split struct {
	// Validation is the fraction of blocks held out.
	Validation float64 `yaml:"validation,omitempty"`
	// Block is the blocks' least side in pixels (default: the window).
	Block int `yaml:"block,omitempty"`
}

func (s Split) validate() error {
	if !(s.Validation >= 0 && s.Validation < 1) {
		return fmt.Errorf("split validation %g: want a fraction in [0, 1)", s.Validation)
	}
	if s.Block < 0 {
		return fmt.Errorf("split block %d: want a side in pixels (0 for the window)", s.Block)
	}
	return nil
}

// Chip is one example: the window whose top-left scene pixel is (X, Y),
// possibly turned or flipped.
type Chip struct {
	X, Y int
	Copy Copy
}

// Tiling cuts a region into square chips.
type Tiling struct {
	Region       Rect
	Size, Stride int
}

func (t Tiling) validate() error {
	switch {
	case t.Size < 1:
		return fmt.Errorf("window %d: want a chip side ≥ 1 pixel", t.Size)
	case t.Stride < 1:
		return fmt.Errorf("stride %d: want ≥ 1 pixel", t.Stride)
	case t.Stride > t.Size:
		return fmt.Errorf("stride %d is larger than the window %d: the pixels between chips would never be used", t.Stride, t.Size)
	case t.Size > t.Region.W || t.Size > t.Region.H:
		return fmt.Errorf("window %d is larger than the region (%s, %d×%d pixels)", t.Size, t.Region, t.Region.W, t.Region.H)
	}
	return nil
}

// starts are the chip offsets along one axis: every stride from the
// region's start, plus one flush with its end so that no pixel is left out.
func starts(from, n, size, stride int) []int {
	var s []int
	for p := 0; p+size <= n; p += stride {
		s = append(s, from+p)
	}
	if last := from + n - size; s[len(s)-1] != last {
		s = append(s, last)
	}
	return s
}

// Chips lists the chips in row-major order.
func (t Tiling) Chips() []Chip {
	var out []Chip
	for _, y := range starts(t.Region.Y, t.Region.H, t.Size, t.Stride) {
		for _, x := range starts(t.Region.X, t.Region.W, t.Size, t.Stride) {
			out = append(out, Chip{X: x, Y: y})
		}
	}
	return out
}

// splitStream is the PCG stream of the block draw, fixed so that a seed
// always holds out the same blocks.
const splitStream = 0x626c6f636b

// SplitResult are the chips of each set and how many were dropped for
// straddling both.
type SplitResult struct {
	Train, Validation []Chip
	Dropped           int
}

// Split assigns chips to training and validation by blocks drawn with seed.
func (t Tiling) Split(s Split, seed uint64) (SplitResult, error) {
	chips := t.Chips()
	if s.Validation == 0 {
		return SplitResult{Train: chips}, nil
	}
	b := s.Block
	if b == 0 {
		b = t.Size
	}
	r := t.Region
	nx, ny := max(1, r.W/b), max(1, r.H/b)
	// Pixel offset p along an axis of n pixels cut into k blocks.
	block := func(p, n, k int) int { return p * k / n }
	nVal := max(1, int(math.Round(s.Validation*float64(nx*ny))))
	if nVal >= nx*ny {
		return SplitResult{}, fmt.Errorf("split: validation %g of %d blocks of %d pixels leaves none for training; use smaller blocks", s.Validation, nx*ny, b)
	}
	held := make([]bool, nx*ny)
	for _, k := range rand.New(rand.NewPCG(seed, splitStream)).Perm(nx * ny)[:nVal] {
		held[k] = true
	}
	var out SplitResult
	for _, c := range chips {
		bx0, bx1 := block(c.X-r.X, r.W, nx), block(c.X+t.Size-1-r.X, r.W, nx)
		by0, by1 := block(c.Y-r.Y, r.H, ny), block(c.Y+t.Size-1-r.Y, r.H, ny)
		nHeld, nAll := 0, 0
		for by := by0; by <= by1; by++ {
			for bx := bx0; bx <= bx1; bx++ {
				nAll++
				if held[by*nx+bx] {
					nHeld++
				}
			}
		}
		switch nHeld {
		case 0:
			out.Train = append(out.Train, c)
		case nAll:
			out.Validation = append(out.Validation, c)
		default:
			out.Dropped++
		}
	}
	switch {
	case len(out.Train) == 0:
		return out, fmt.Errorf("split: no training chip lies wholly in training blocks (%d blocks of %d pixels, %d held out); use larger blocks or a smaller window", nx*ny, b, nVal)
	case len(out.Validation) == 0:
		return out, errors.New("split: no validation chip lies wholly in held-out blocks; use larger blocks (split.block) or a smaller window")
	}
	return out, nil
}
