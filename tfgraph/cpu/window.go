package cpu

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/tfrun/tfrun/tfgraph/cpu/kernels"
)

// Pooling and its gradient, and reductions over leading or trailing axes,
// on float32. Axes at the end of the tensor that a window neither spans
// nor strides nor pads (the channels of NHWC pooling) are handled as one
// contiguous vector per window position.

// window is a pooling geometry over the outer axes of a tensor, the inner
// axes being a contiguous vector of length lanes.
type window struct {
	in, out          []int // outer dims of the operand and of the result
	size, stride, lo []int
	lanes            int
}

// newWindow returns the geometry, or nil when dilations are used or
// padding is negative.
func newWindow(in, out shapes.Shape, size, strides, baseDil, winDil []int, pads [][2]int) *window {
	rank := in.Rank()
	for i := range rank {
		if (i < len(baseDil) && baseDil[i] > 1) || (i < len(winDil) && winDil[i] > 1) {
			return nil
		}
		if i < len(pads) && (pads[i][0] < 0 || pads[i][1] < 0) {
			return nil
		}
	}
	stride := orOnes(strides, rank)
	pad := func(i int) [2]int {
		if i < len(pads) {
			return pads[i]
		}
		return [2]int{}
	}
	outer := rank
	for outer > 0 && size[outer-1] == 1 && stride[outer-1] == 1 && pad(outer-1) == [2]int{} {
		outer--
	}
	w := &window{lanes: 1}
	for i := range rank {
		if i >= outer {
			w.lanes *= in.Dimensions[i]
			continue
		}
		w.in, w.out = append(w.in, in.Dimensions[i]), append(w.out, out.Dimensions[i])
		w.size, w.stride, w.lo = append(w.size, size[i]), append(w.stride, stride[i]), append(w.lo, pad(i)[0])
	}
	return w
}

// outerCount is the number of window positions.
func (w *window) outerCount() int {
	n := 1
	for _, d := range w.out {
		n *= d
	}
	return n
}

// visit calls f for each in-range element of the window at output
// position pos (a flat index over w.out), with the element's offset.
// scratch holds 2*len(w.out) ints.
func (w *window) visit(pos int, scratch []int, f func(off int)) {
	r := len(w.out)
	start, idx := scratch[:r], scratch[r:2*r]
	clear(idx)
	for a := r - 1; a >= 0; a-- {
		start[a] = (pos%w.out[a])*w.stride[a] - w.lo[a]
		pos /= w.out[a]
	}
	for {
		off, inside := 0, true
		for a := range r {
			i := start[a] + idx[a]
			inside = inside && i >= 0 && i < w.in[a]
			off = off*w.in[a] + i
		}
		if inside {
			f(off * w.lanes)
		}
		a := r - 1
		for ; a >= 0; a-- {
			idx[a]++
			if idx[a] < w.size[a] {
				break
			}
			idx[a] = 0
		}
		if a < 0 {
			return
		}
	}
}

// parallel splits [0, n) into contiguous chunks over the kernel threads.
func parallel(n int, f func(lo, hi int)) {
	workers := min(kernels.Threads(), n)
	if workers <= 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	per := (n + workers - 1) / workers
	for w := range workers {
		wg.Go(func() { f(w*per, min(n, (w+1)*per)) })
	}
	wg.Wait()
}

type reduceWindowOp struct {
	w   *window
	typ backends.ReduceOpType
}

func newReduceWindow(n *node, typ backends.ReduceOpType, size, strides, baseDil, winDil []int, pads [][2]int) nativeOp {
	in, out := n.inputs[0].shape, n.outs[0].shape
	if in.DType != dtypes.Float32 || out.Size() == 0 || len(size) != in.Rank() {
		return nil
	}
	switch typ {
	case backends.ReduceOpMax, backends.ReduceOpMin, backends.ReduceOpSum:
	default:
		return nil
	}
	w := newWindow(in, out, size, strides, baseDil, winDil, pads)
	if w == nil {
		return nil
	}
	return &reduceWindowOp{w: w, typ: typ}
}

func (r *reduceWindowOp) String() string {
	return fmt.Sprintf("ReduceWindow %s %v window %v stride %v x %d", r.typ, r.w.in, r.w.size, r.w.stride, r.w.lanes)
}

func (r *reduceWindowOp) run(ins, outs []any) error {
	x, y := ins[0].([]float32), outs[0].([]float32)
	lanes := r.w.lanes
	init := float32(0)
	switch r.typ {
	case backends.ReduceOpMax:
		init = float32(math.Inf(-1))
	case backends.ReduceOpMin:
		init = float32(math.Inf(1))
	}
	parallel(r.w.outerCount(), func(lo, hi int) {
		scratch := make([]int, 2*len(r.w.out))
		for pos := lo; pos < hi; pos++ {
			acc := y[pos*lanes : (pos+1)*lanes]
			for i := range acc {
				acc[i] = init
			}
			r.w.visit(pos, scratch, func(off int) {
				v := x[off : off+lanes]
				switch r.typ {
				case backends.ReduceOpMax:
					for i, e := range v {
						acc[i] = max(acc[i], e)
					}
				case backends.ReduceOpMin:
					for i, e := range v {
						acc[i] = min(acc[i], e)
					}
				default:
					for i, e := range v {
						acc[i] += e
					}
				}
			})
		}
	})
	return nil
}

// selectScatterOp routes each window's source value to the position of the
// window's maximum (or minimum), the first one in row-major order on ties;
// padding is never selected.
type selectScatterOp struct {
	w     *window
	isMax bool
	// split is how the windows may be spread over threads: by any position
	// when windows do not overlap, by the first outer axis when they do
	// not overlap along it, or not at all.
	split int
}

func newSelectScatter(n *node, isMax bool, size, strides []int, pads [][2]int) nativeOp {
	x, src := n.inputs[0].shape, n.inputs[1].shape
	if x.DType != dtypes.Float32 || src.DType != dtypes.Float32 || x.Size() == 0 || len(size) != x.Rank() {
		return nil
	}
	w := newWindow(x, src, size, strides, nil, nil, pads)
	if w == nil {
		return nil
	}
	op := &selectScatterOp{w: w, isMax: isMax}
	overlap := false
	for a := range w.size {
		overlap = overlap || w.stride[a] < w.size[a]
	}
	switch {
	case !overlap:
		op.split = w.outerCount()
	case len(w.size) > 0 && w.size[0] == 1 && w.stride[0] == 1:
		op.split = w.out[0]
	default:
		op.split = 1
	}
	return op
}

func (s *selectScatterOp) String() string {
	kind := "Max"
	if !s.isMax {
		kind = "Min"
	}
	return fmt.Sprintf("SelectAndScatter%s %v window %v stride %v x %d", kind, s.w.in, s.w.size, s.w.stride, s.w.lanes)
}

func (s *selectScatterOp) run(ins, outs []any) error {
	x, src, out := ins[0].([]float32), ins[1].([]float32), outs[0].([]float32)
	clear(out)
	lanes := s.w.lanes
	perSplit := s.w.outerCount() / s.split
	parallel(s.split, func(lo, hi int) {
		best := make([]float32, lanes)
		at := make([]int, lanes)
		scratch := make([]int, 2*len(s.w.out))
		for pos := lo * perSplit; pos < hi*perSplit; pos++ {
			for i := range at {
				at[i] = -1
			}
			s.w.visit(pos, scratch, func(off int) {
				v := x[off : off+lanes]
				if s.isMax {
					for i, e := range v {
						if at[i] < 0 || e > best[i] {
							best[i], at[i] = e, off+i
						}
					}
					return
				}
				for i, e := range v {
					if at[i] < 0 || e < best[i] {
						best[i], at[i] = e, off+i
					}
				}
			})
			g := src[pos*lanes : (pos+1)*lanes]
			for i, a := range at {
				if a >= 0 {
					out[a] += g[i]
				}
			}
		}
	})
	return nil
}

// reduceOp sums (or takes the max or min of) axes of a float32 tensor,
// accumulating sums in float64. The axes after the last reduced one are
// kept whole as vectors of lanes; reducing only leading axes (a bias
// gradient) or only trailing ones has a loop of its own.
type reduceOp struct {
	typ             backends.ReduceOpType
	mode            reduceMode
	rows, cols      int   // leading or trailing: the reduced and kept extents
	outer, outerSt  []int // general: kept axes before the last reduced one
	red, redSt      []int // general: reduced axes
	lanes           int   // general: elements after the last reduced axis
	inDims, outDims []int
}

type reduceMode int

const (
	reduceLeading reduceMode = iota
	reduceTrailing
	reduceGeneral
)

func newReduce(n *node, typ backends.ReduceOpType, axes []int) nativeOp {
	in := n.inputs[0].shape
	if in.DType != dtypes.Float32 || in.Size() == 0 || len(axes) == 0 {
		return nil
	}
	sorted := slices.Sorted(slices.Values(axes))
	r := &reduceOp{typ: typ, rows: 1, cols: 1, lanes: 1, inDims: in.Dimensions, outDims: n.outs[0].shape.Dimensions}
	k, rank := len(sorted), in.Rank()
	switch {
	case sorted[0] == 0 && sorted[k-1] == k-1:
		r.mode = reduceLeading
		for i, d := range in.Dimensions {
			if i < k {
				r.rows *= d
			} else {
				r.cols *= d
			}
		}
	case sorted[0] == rank-k && sorted[k-1] == rank-1:
		r.mode = reduceTrailing
		for i, d := range in.Dimensions {
			if i < rank-k {
				r.rows *= d
			} else {
				r.cols *= d
			}
		}
	default:
		r.mode = reduceGeneral
		st := rowMajorStrides(in.Dimensions)
		last := sorted[k-1]
		for a, d := range in.Dimensions {
			switch {
			case a > last:
				r.lanes *= d
			case slices.Contains(sorted, a):
				r.red, r.redSt = append(r.red, d), append(r.redSt, st[a])
			default:
				r.outer, r.outerSt = append(r.outer, d), append(r.outerSt, st[a])
			}
		}
	}
	return r
}

func (r *reduceOp) String() string {
	return fmt.Sprintf("Reduce%s %v to %v", r.typ, r.inDims, r.outDims)
}

func (r *reduceOp) combine(acc, v float64) float64 {
	switch r.typ {
	case backends.ReduceOpMax:
		return max(acc, v)
	case backends.ReduceOpMin:
		return min(acc, v)
	}
	return acc + v
}

// accumulate combines each value of xs into acc, element by element; the
// switch is outside the loops, which the compiler then keeps tight.
func (r *reduceOp) accumulate(acc []float64, xs []float32) {
	acc = acc[:len(xs)]
	switch r.typ {
	case backends.ReduceOpMax:
		for j, v := range xs {
			acc[j] = max(acc[j], float64(v))
		}
	case backends.ReduceOpMin:
		for j, v := range xs {
			acc[j] = min(acc[j], float64(v))
		}
	default:
		for j, v := range xs {
			acc[j] += float64(v)
		}
	}
}

func (r *reduceOp) init() float64 {
	switch r.typ {
	case backends.ReduceOpMax:
		return math.Inf(-1)
	case backends.ReduceOpMin:
		return math.Inf(1)
	}
	return 0
}

func (r *reduceOp) run(ins, outs []any) error {
	x, y := ins[0].([]float32), outs[0].([]float32)
	switch r.mode {
	case reduceGeneral:
		r.general(x, y)
		return nil
	case reduceTrailing:
		parallel(r.rows, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				acc := r.init()
				for _, v := range x[i*r.cols : (i+1)*r.cols] {
					acc = r.combine(acc, float64(v))
				}
				y[i] = float32(acc)
			}
		})
		return nil
	}
	workers := min(kernels.Threads(), r.rows)
	parts := make([][]float64, workers)
	per := (r.rows + workers - 1) / workers
	parallel(workers, func(lo, hi int) {
		for w := lo; w < hi; w++ {
			acc := make([]float64, r.cols)
			for i := range acc {
				acc[i] = r.init()
			}
			for i := w * per; i < min(r.rows, (w+1)*per); i++ {
				r.accumulate(acc, x[i*r.cols:(i+1)*r.cols])
			}
			parts[w] = acc
		}
	})
	for j := range y {
		acc := r.init()
		for _, p := range parts {
			acc = r.combine(acc, p[j])
		}
		y[j] = float32(acc)
	}
	return nil
}

// general reduces, for each kept position before the last reduced axis,
// every reduced position's vector of lanes.
func (r *reduceOp) general(x, y []float32) {
	count := 1
	for _, d := range r.outer {
		count *= d
	}
	parallel(count, func(lo, hi int) {
		acc := make([]float64, r.lanes)
		idx := make([]int, len(r.red))
		for pos := lo; pos < hi; pos++ {
			base, p := 0, pos
			for a := len(r.outer) - 1; a >= 0; a-- {
				base += (p % r.outer[a]) * r.outerSt[a]
				p /= r.outer[a]
			}
			for j := range acc {
				acc[j] = r.init()
			}
			clear(idx)
			off := base
			for {
				r.accumulate(acc, x[off:off+r.lanes])
				a := len(idx) - 1
				for ; a >= 0; a-- {
					idx[a]++
					off += r.redSt[a]
					if idx[a] < r.red[a] {
						break
					}
					off -= idx[a] * r.redSt[a]
					idx[a] = 0
				}
				if a < 0 {
					break
				}
			}
			for j, v := range acc {
				y[pos*r.lanes+j] = float32(v)
			}
		}
	})
}
