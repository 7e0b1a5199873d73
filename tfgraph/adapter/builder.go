package adapter

import (
	"fmt"
	"math"
	"reflect"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// Builder wraps simplego's Builder. Everything not defined on Builder itself
// is simplego's; Compile in particular is delegated unchanged, since all the
// ops in the graph are simplego ops.
type Builder struct {
	backends.Builder
}

var _ backends.Builder = (*Builder)(nil)

// composer chains calls to the inner builder and keeps the first error, so
// composite ops read as straight-line code. Once an error is recorded every
// further call is a no-op returning nil.
type composer struct {
	b   *Builder
	err error
}

func (b *Builder) compose() *composer { return &composer{b: b} }

func (c *composer) failf(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf(format, args...)
	}
}

// result returns op, or the first recorded error prefixed by the op name.
func (c *composer) result(name string, op backends.Op) (backends.Op, error) {
	if c.err != nil {
		return nil, fmt.Errorf("adapter %s: %w", name, c.err)
	}
	return op, nil
}

func (c *composer) call(f func() (backends.Op, error)) backends.Op {
	if c.err != nil {
		return nil
	}
	op, err := f()
	if err != nil {
		c.err = err
		return nil
	}
	return op
}

func (c *composer) shape(x backends.Op) shapes.Shape {
	if c.err != nil || x == nil {
		return shapes.Invalid()
	}
	s, err := c.b.OpShape(x)
	if err != nil {
		c.err = err
		return shapes.Invalid()
	}
	return s
}

func (c *composer) dims(x backends.Op) []int {
	return slices.Clone(c.shape(x).Dimensions)
}

// scalar creates a float constant of the given dtype; float64 is exact for
// every value used by the composite ops (small integers and ±Inf).
func (c *composer) scalar(dtype dtypes.DType, v float64) backends.Op {
	op := c.call(func() (backends.Op, error) { return c.b.Constant([]float64{v}) })
	if dtype == dtypes.Float64 {
		return op
	}
	return c.call(func() (backends.Op, error) { return c.b.ConvertDType(op, dtype) })
}

// intScalar creates an exact integer constant; float64 cannot hold every
// int64/uint64 extreme.
func (c *composer) intScalar(dtype dtypes.DType, signed int64, unsigned uint64) backends.Op {
	if c.err != nil {
		return nil
	}
	flat := reflect.MakeSlice(reflect.SliceOf(dtype.GoType()), 1, 1)
	if dtype.IsUnsigned() {
		flat.Index(0).SetUint(unsigned)
	} else {
		flat.Index(0).SetInt(signed)
	}
	return c.call(func() (backends.Op, error) { return c.b.Constant(flat.Interface()) })
}

// lowest and highest are the identities of Max and Min for dtype.
func (c *composer) lowest(dtype dtypes.DType) backends.Op {
	switch {
	case dtype.IsFloat():
		return c.scalar(dtype, math.Inf(-1))
	case dtype.IsInt():
		bits := 8 * int(dtype.Size())
		return c.intScalar(dtype, math.MinInt64>>(64-bits), 0)
	}
	c.failf("no lowest value for dtype %s", dtype)
	return nil
}

func (c *composer) highest(dtype dtypes.DType) backends.Op {
	switch {
	case dtype.IsFloat():
		return c.scalar(dtype, math.Inf(1))
	case dtype.IsInt():
		bits := 8 * int(dtype.Size())
		return c.intScalar(dtype, math.MaxInt64>>(64-bits), math.MaxUint64>>(64-bits))
	}
	c.failf("no highest value for dtype %s", dtype)
	return nil
}

func (c *composer) broadcastScalar(s backends.Op, dtype dtypes.DType, dims []int) backends.Op {
	return c.call(func() (backends.Op, error) {
		return c.b.BroadcastInDim(s, shapes.Make(dtype, dims...), nil)
	})
}

// slice accepts nil strides (all 1), which simplego's Slice rejects.
func (c *composer) slice(x backends.Op, starts, limits, strides []int) backends.Op {
	if strides == nil {
		strides = slices.Repeat([]int{1}, len(starts))
	}
	return c.call(func() (backends.Op, error) { return c.b.Slice(x, starts, limits, strides) })
}

// concat skips the op for a single operand; callers never return the
// operand of a composite op unchanged, so no output can alias an input.
func (c *composer) concat(axis int, xs ...backends.Op) backends.Op {
	if len(xs) == 1 {
		return xs[0]
	}
	return c.call(func() (backends.Op, error) { return c.b.Concatenate(axis, xs...) })
}

func (c *composer) reshape(x backends.Op, dims ...int) backends.Op {
	if c.err == nil && slices.Equal(c.shape(x).Dimensions, dims) {
		return x
	}
	return c.call(func() (backends.Op, error) { return c.b.Reshape(x, dims...) })
}

// transpose validates the permutation itself because simplego's Transpose
// panics on a bad one instead of returning an error.
func (c *composer) transpose(x backends.Op, perm ...int) backends.Op {
	if c.err != nil {
		return nil
	}
	rank := c.shape(x).Rank()
	if len(perm) != rank {
		c.failf("transpose permutation %v for rank %d", perm, rank)
		return nil
	}
	seen := make([]bool, rank)
	identity := true
	for i, p := range perm {
		if p < 0 || p >= rank || seen[p] {
			c.failf("invalid transpose permutation %v", perm)
			return nil
		}
		seen[p] = true
		identity = identity && p == i
	}
	if identity {
		return x
	}
	return c.call(func() (backends.Op, error) { return c.b.Transpose(x, perm...) })
}

func (c *composer) identity(x backends.Op) backends.Op {
	return c.call(func() (backends.Op, error) { return c.b.Identity(x) })
}

func (c *composer) binary(f func(a, b backends.Op) (backends.Op, error), a, b backends.Op) backends.Op {
	return c.call(func() (backends.Op, error) { return f(a, b) })
}

func (c *composer) add(a, b backends.Op) backends.Op { return c.binary(c.b.Add, a, b) }
func (c *composer) sub(a, b backends.Op) backends.Op { return c.binary(c.b.Sub, a, b) }
func (c *composer) mul(a, b backends.Op) backends.Op { return c.binary(c.b.Mul, a, b) }

func (c *composer) where(cond, onTrue, onFalse backends.Op) backends.Op {
	return c.call(func() (backends.Op, error) { return c.b.Where(cond, onTrue, onFalse) })
}

// reduceSum over no axes is the identity here, unlike the backend op where
// an empty axes list means "all axes".
func (c *composer) reduceSum(x backends.Op, axes ...int) backends.Op {
	if len(axes) == 0 {
		return x
	}
	return c.call(func() (backends.Op, error) { return c.b.ReduceSum(x, axes...) })
}

// pad is the adapter's own Pad (simplego has none).
func (c *composer) pad(x, fill backends.Op, cfg ...backends.PadAxis) backends.Op {
	if c.err != nil {
		return nil
	}
	return padOps(c, x, fill, cfg)
}

// iterIndices calls fn for each multi-index of dims in row-major order.
func iterIndices(dims []int, fn func(idx []int)) {
	total := 1
	for _, d := range dims {
		total *= d
	}
	if total == 0 {
		return
	}
	idx := make([]int, len(dims))
	for range total {
		fn(idx)
		for axis := len(dims) - 1; axis >= 0; axis-- {
			idx[axis]++
			if idx[axis] < dims[axis] {
				break
			}
			idx[axis] = 0
		}
	}
}

func product(xs []int) int {
	p := 1
	for _, x := range xs {
		p *= x
	}
	return p
}
