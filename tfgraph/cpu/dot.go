package cpu

import (
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/tfrun/tfrun/tfgraph/cpu/kernels"
)

// DotGeneral implements backends.Builder. Float32 products run as one
// matrix product per batch entry on kernels.Sgemm.
func (b *Builder) DotGeneral(lhs backends.Op, lhsContractingAxes, lhsBatchAxes []int,
	rhs backends.Op, rhsContractingAxes, rhsBatchAxes []int) (backends.Op, error) {
	lc, lb := slices.Clone(lhsContractingAxes), slices.Clone(lhsBatchAxes)
	rc, rb := slices.Clone(rhsContractingAxes), slices.Clone(rhsBatchAxes)
	v, err := b.record1(backends.OpTypeDotGeneral, ops{lhs, rhs}, func(d bb, in ops) (backends.Op, error) {
		return d.DotGeneral(in[0], lc, lb, in[1], rc, rb)
	})
	if err != nil {
		return nil, err
	}
	l, r := v.node.inputs[0].shape, v.node.inputs[1].shape
	if op := newDot(l, lc, lb, r, rc, rb, v.shape); op != nil {
		v.node.native = op
	}
	return v, nil
}

// matrixView says how an operand is read as a batch of matrices.
type matrixView struct {
	dims  []int
	perm  []int // nil: read in place; otherwise copy the axes in this order first
	trans bool  // in place, stored as the transpose of the wanted matrix
}

type dotOp struct {
	lhs, rhs       matrixView // lhs as [batch, m, k], rhs as [batch, k, n]
	batch, m, n, k int
}

// newDot plans a native DotGeneral, or returns nil when the adapter should
// run it.
func newDot(l shapes.Shape, lc, lb []int, r shapes.Shape, rc, rb []int, out shapes.Shape) *dotOp {
	if l.DType != dtypes.Float32 || r.DType != dtypes.Float32 || out.DType != dtypes.Float32 || out.Size() == 0 {
		return nil
	}
	lf, rf := freeAxes(l.Rank(), lc, lb), freeAxes(r.Rank(), rc, rb)
	d := &dotOp{batch: 1, m: 1, n: 1, k: 1}
	for _, a := range lb {
		d.batch *= l.Dimensions[a]
	}
	for _, a := range lf {
		d.m *= l.Dimensions[a]
	}
	for _, a := range rf {
		d.n *= r.Dimensions[a]
	}
	for _, a := range lc {
		d.k *= l.Dimensions[a]
	}
	d.lhs = viewOf(l.Dimensions, lb, lf, lc)
	d.rhs = viewOf(r.Dimensions, rb, rc, rf)
	return d
}

// freeAxes lists the axes that are neither contracted nor batch, in order.
func freeAxes(rank int, contracting, batch []int) []int {
	var free []int
	for a := range rank {
		if !slices.Contains(contracting, a) && !slices.Contains(batch, a) {
			free = append(free, a)
		}
	}
	return free
}

// viewOf plans reading an operand as [batch, rows, cols] given which axes
// make each: in place when its memory order is batch, rows, cols (plain) or
// batch, cols, rows (transposed), each group in the given order; otherwise
// through a copy.
func viewOf(dims []int, batch, rows, cols []int) matrixView {
	v := matrixView{dims: dims}
	plain := slices.Concat(batch, rows, cols)
	if isIdentity(plain) {
		return v
	}
	if isIdentity(slices.Concat(batch, cols, rows)) {
		v.trans = true
		return v
	}
	v.perm = plain
	return v
}

func isIdentity(perm []int) bool {
	for i, p := range perm {
		if p != i {
			return false
		}
	}
	return true
}

func (d *dotOp) run(in, outs []any) error {
	a, b, out := in[0].([]float32), in[1].([]float32), outs[0].([]float32)
	if d.lhs.perm != nil {
		a = permute(a, d.lhs.dims, d.lhs.perm)
		defer scratchFloats.put(a)
	}
	if d.rhs.perm != nil {
		b = permute(b, d.rhs.dims, d.rhs.perm)
		defer scratchFloats.put(b)
	}
	lda, ldb := d.k, d.n
	if d.lhs.trans {
		lda = d.m
	}
	if d.rhs.trans {
		ldb = d.k
	}
	for i := range d.batch {
		kernels.Sgemm(d.lhs.trans, d.rhs.trans, d.m, d.n, d.k, 1, a[i*d.m*d.k:(i+1)*d.m*d.k], lda,
			b[i*d.k*d.n:(i+1)*d.k*d.n], ldb, 0, out[i*d.m*d.n:(i+1)*d.m*d.n], d.n)
	}
	return nil
}

func (d *dotOp) String() string {
	return fmt.Sprintf("DotGeneral %dx[%d,%d]x[%d,%d]", d.batch, d.m, d.k, d.k, d.n)
}
