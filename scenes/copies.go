package scenes

import (
	"fmt"
	"strings"
)

// Copy is a fixed rotation or flip of a chip. The course's regular_crop
// adds turned copies of each training patch; unlike random augmentation
// they are extra examples, the same every epoch.
type Copy int

const (
	Original Copy = iota
	Rot90         // a quarter turn anticlockwise, as numpy.rot90
	Rot180
	Rot270
	HFlip // left-right
	VFlip // top-bottom
)

var copyNames = []string{"original", "rot90", "rot180", "rot270", "hflip", "vflip"}

func (c Copy) String() string { return copyNames[c] }

// ParseCopies reads copy names; the original is always kept.
func ParseCopies(names []string) ([]Copy, error) {
	var out []Copy
	seen := map[Copy]bool{}
	for _, n := range names {
		k := -1
		for i, cn := range copyNames[1:] {
			if n == cn {
				k = i + 1
			}
		}
		if k < 0 {
			return nil, fmt.Errorf("copies: unknown copy %q (known: %s)", n, strings.Join(copyNames[1:], ", "))
		}
		if !seen[Copy(k)] {
			out = append(out, Copy(k))
			seen[Copy(k)] = true
		}
	}
	return out, nil
}

// withCopies returns the chips followed by each copy of each chip.
func withCopies(chips []Chip, copies []Copy) []Chip {
	out := append([]Chip(nil), chips...)
	for _, cp := range copies {
		for _, c := range chips {
			c.Copy = cp
			out = append(out, c)
		}
	}
	return out
}

// source returns the (row, col) of an s×s chip that lands on (i, j) of the
// copy.
func (c Copy) source(i, j, s int) (int, int) {
	switch c {
	case Rot90:
		return j, s - 1 - i
	case Rot180:
		return s - 1 - i, s - 1 - j
	case Rot270:
		return s - 1 - j, i
	case HFlip:
		return i, s - 1 - j
	case VFlip:
		return s - 1 - i, j
	}
	return i, j
}

// apply turns an s×s chip of ch channels, x [s, s, ch] and y [s, s], in
// place.
func (c Copy) apply(x []float32, y []int32, s, ch int) {
	if c == Original {
		return
	}
	tx, ty := make([]float32, len(x)), make([]int32, len(y))
	for i := range s {
		for j := range s {
			si, sj := c.source(i, j, s)
			copy(tx[(i*s+j)*ch:(i*s+j+1)*ch], x[(si*s+sj)*ch:(si*s+sj+1)*ch])
			ty[i*s+j] = y[si*s+sj]
		}
	}
	copy(x, tx)
	copy(y, ty)
}
