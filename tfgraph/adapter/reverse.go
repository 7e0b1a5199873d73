package adapter

import (
	"github.com/gomlx/gomlx/backends"
)

// Reverse implements backends.Builder by gathering each reversed axis with
// the index list n-1, ..., 0.
func (b *Builder) Reverse(x backends.Op, axes ...int) (backends.Op, error) {
	c := b.compose()
	out := reverseOps(c, x, axes)
	if c.err == nil && out == x {
		out = c.identity(x)
	}
	return c.result("Reverse", out)
}

func reverseOps(c *composer, x backends.Op, axes []int) backends.Op {
	dims := c.dims(x)
	if c.err != nil {
		return nil
	}
	rank := len(dims)
	// Reversing an axis twice is the identity.
	flip := make([]bool, rank)
	for _, axis := range axes {
		if axis < 0 || axis >= rank {
			c.failf("axis %d out of range for rank %d", axis, rank)
			return nil
		}
		flip[axis] = !flip[axis]
	}
	for axis, f := range flip {
		if f && dims[axis] > 1 {
			x = reverseAxis(c, x, dims, axis)
		}
	}
	return x
}

// reverseAxis gathers along the leading axis of a [n, rest] view (after
// moving the axis to the front): it is the most basic Gather form, so it
// relies on nothing but row gathering.
func reverseAxis(c *composer, x backends.Op, dims []int, axis int) backends.Op {
	rank := len(dims)
	n := dims[axis]
	perm := make([]int, 0, rank)
	perm = append(perm, axis)
	for i := range rank {
		if i != axis {
			perm = append(perm, i)
		}
	}
	y := c.transpose(x, perm...)
	rest := product(dims) / n
	y = c.reshape(y, n, rest)

	indices := make([]int32, n)
	for i := range indices {
		indices[i] = int32(n - 1 - i)
	}
	idx := c.call(func() (backends.Op, error) { return c.b.Constant(indices, n, 1) })
	y = c.call(func() (backends.Op, error) {
		return c.b.Gather(y, idx, 1, []int{1}, []int{0}, []int{0}, []int{1, rest}, false)
	})

	movedDims := make([]int, rank)
	for i, p := range perm {
		movedDims[i] = dims[p]
	}
	y = c.reshape(y, movedDims...)
	inverse := make([]int, rank)
	for i, p := range perm {
		inverse[p] = i
	}
	return c.transpose(y, inverse...)
}
