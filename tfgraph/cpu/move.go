package cpu

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// Data movement on float32: general broadcasts (those a fused program
// cannot stream), transposes, slices and concatenations. Each is one
// strided copy.

// stridedOp writes its output, row-major over dims, from its input read at
// offset with the given strides (0 along broadcast axes).
type stridedOp struct {
	name    string
	dims    []int
	strides []int
	offset  int
}

func (s *stridedOp) String() string { return fmt.Sprintf("%s to %v", s.name, s.dims) }

func (s *stridedOp) run(ins, outs []any) error {
	copyStrided(outs[0].([]float32), ins[0].([]float32)[s.offset:], s.dims, s.strides)
	return nil
}

func isF32(n *node) bool {
	return n.outs[0].shape.DType == dtypes.Float32 && n.outs[0].shape.Size() > 0
}

// newBroadcast copies x along the output axes it does not map to.
func newBroadcast(n *node, axes []int) nativeOp {
	if !isF32(n) {
		return nil
	}
	in, out := n.inputs[0].shape.Dimensions, n.outs[0].shape.Dimensions
	inStrides := rowMajorStrides(in)
	strides := make([]int, len(out))
	for i, a := range axes {
		if in[i] != 1 {
			strides[a] = inStrides[i]
		}
	}
	return &stridedOp{name: "BroadcastInDim", dims: out, strides: strides}
}

func newTranspose(n *node, perm []int) nativeOp {
	if !isF32(n) {
		return nil
	}
	in := n.inputs[0].shape.Dimensions
	inStrides := rowMajorStrides(in)
	strides := make([]int, len(perm))
	for i, p := range perm {
		strides[i] = inStrides[p]
	}
	return &stridedOp{name: "Transpose", dims: n.outs[0].shape.Dimensions, strides: strides}
}

func newSlice(n *node, p sliceParams) nativeOp {
	if !isF32(n) || len(p.starts) != n.inputs[0].shape.Rank() {
		return nil
	}
	inStrides := rowMajorStrides(n.inputs[0].shape.Dimensions)
	op := &stridedOp{name: "Slice", dims: n.outs[0].shape.Dimensions, strides: make([]int, len(p.starts))}
	for i, s := range p.starts {
		step := 1
		if i < len(p.strides) {
			step = p.strides[i]
		}
		op.offset += s * inStrides[i]
		op.strides[i] = step * inStrides[i]
	}
	return op
}

// concatOp joins its inputs along an axis: each input is a run of
// row-major blocks, one per index of the axes before it.
type concatOp struct {
	outer int   // product of the dims before the axis
	sizes []int // each input's elements per outer index
}

func newConcat(n *node, axis int) nativeOp {
	if !isF32(n) {
		return nil
	}
	dims := n.outs[0].shape.Dimensions
	op := &concatOp{outer: 1}
	for _, d := range dims[:axis] {
		op.outer *= d
	}
	for _, in := range n.inputs {
		if in.shape.DType != dtypes.Float32 {
			return nil
		}
		op.sizes = append(op.sizes, in.shape.Size()/op.outer)
	}
	return op
}

func (c *concatOp) String() string {
	return fmt.Sprintf("Concatenate %d inputs x %d", len(c.sizes), c.outer)
}

func (c *concatOp) run(ins, outs []any) error {
	out := outs[0].([]float32)
	row := len(out) / c.outer // elements per outer index
	copyRows := func(lo, hi int) {
		at := lo * row
		for o := lo; o < hi; o++ {
			for i, size := range c.sizes {
				at += copy(out[at:at+size], ins[i].([]float32)[o*size:(o+1)*size])
			}
		}
	}
	if len(out) < eltMinParallel {
		copyRows(0, c.outer)
		return nil
	}
	parallel(c.outer, copyRows)
	return nil
}

// paddedSliceOp is a Slice of a zero-padded tensor read from the tensor
// itself: positions in the padding read as zero. tfrun's depthwise kernel
// gradient (package nn) pads the input by the dilated kernel's reach and
// slices it once per kernel tap; DeepLab's dilation-18 branch padded a
// 16x16 map to 52x52, ten times its size, for nine slices as large as the
// map.
type paddedSliceOp struct {
	dims, inDims    []int // output and unpadded input
	starts, strides []int // per axis, in unpadded input coordinates
}

// newPaddedSlice returns the op slicing p out of in padded by pads, for
// float32 values.
func newPaddedSlice(n *node, in *value, pads [][2]int, p sliceParams) nativeOp {
	if !isF32(n) || len(p.starts) != in.shape.Rank() {
		return nil
	}
	op := &paddedSliceOp{dims: n.outs[0].shape.Dimensions, inDims: in.shape.Dimensions}
	for a, s := range p.starts {
		step := 1
		if a < len(p.strides) && p.strides[a] > 0 {
			step = p.strides[a]
		}
		op.starts, op.strides = append(op.starts, s-pads[a][0]), append(op.strides, step)
	}
	return op
}

func (s *paddedSliceOp) String() string { return fmt.Sprintf("Slice of padding to %v", s.dims) }

func (s *paddedSliceOp) run(ins, outs []any) error {
	x, out := ins[0].([]float32), outs[0].([]float32)
	rank := len(s.dims)
	inSt := rowMajorStrides(s.inDims)
	last := rank - 1
	inner := s.dims[last]
	rows := len(out) / max(inner, 1)
	// Whether the last axis reads inside the input all along.
	lo, hi := s.starts[last], s.starts[last]+(inner-1)*s.strides[last]
	whole := lo >= 0 && hi < s.inDims[last]
	copyRowsOf := func(r0, r1 int) {
		for r := r0; r < r1; r++ {
			row := out[r*inner : (r+1)*inner]
			off, inside := 0, true
			for a, q := last-1, r; a >= 0; a-- {
				c := s.starts[a] + (q%s.dims[a])*s.strides[a]
				q /= s.dims[a]
				if c < 0 || c >= s.inDims[a] {
					inside = false
					break
				}
				off += c * inSt[a]
			}
			switch {
			case !inside:
				clear(row)
			case whole && s.strides[last] == 1:
				copy(row, x[off+lo:off+lo+inner])
			default:
				for j := range row {
					c := s.starts[last] + j*s.strides[last]
					if c >= 0 && c < s.inDims[last] {
						row[j] = x[off+c]
					} else {
						row[j] = 0
					}
				}
			}
		}
	}
	if len(out) < eltMinParallel || rows < 2 {
		copyRowsOf(0, rows)
		return nil
	}
	parallel(rows, copyRowsOf)
	return nil
}
