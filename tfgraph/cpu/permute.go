package cpu

// permute returns a row-major copy of src (of shape dims) with its axes
// reordered, in a slice from scratchFloats: axis i of the result is axis
// perm[i] of src.
func permute(src []float32, dims, perm []int) []float32 {
	dst := scratchFloats.get(len(src))
	permuteInto(dst, src, dims, perm)
	return dst
}

// permuteInto is permute writing into dst.
func permuteInto(dst, src []float32, dims, perm []int) {
	rank := len(dims)
	if rank == 0 {
		copy(dst, src)
		return
	}
	srcStrides := rowMajorStrides(dims)
	outDims := make([]int, rank)
	strides := make([]int, rank) // source stride of each result axis
	for i, p := range perm {
		outDims[i], strides[i] = dims[p], srcStrides[p]
	}
	copyStrided(dst, src, outDims, strides)
}

// copyStrided fills dst, row-major over dims, from src read with the given
// element strides. Large copies are split by rows over the kernel threads:
// they are memory-bound, and one core does not saturate the memory bus.
func copyStrided(dst, src []float32, dims, strides []int) {
	copyStridedFrom(dst, src, 0, dims, strides)
}

// copyStridedFrom is copyStrided with the first element read at src[base],
// so strides may be negative.
func copyStridedFrom(dst, src []float32, base int, dims, strides []int) {
	rank := len(dims)
	if rank == 0 {
		copy(dst, src[base:base+1])
		return
	}
	rows := len(dst) / max(dims[rank-1], 1)
	if len(dst) < eltMinParallel || rows < 2 {
		copyRows(dst, src, base, dims, strides, 0, rows)
		return
	}
	parallel(rows, func(lo, hi int) { copyRows(dst, src, base, dims, strides, lo, hi) })
}

// copyRows is copyStridedFrom for the rows [lo, hi) of dst, a row being a
// run along the last axis.
func copyRows(dst, src []float32, base int, dims, strides []int, lo, hi int) {
	rank := len(dims)
	inner, innerStride := dims[rank-1], strides[rank-1]
	idx := make([]int, rank)
	off := base
	for a, r := rank-2, lo; a >= 0; a-- {
		idx[a] = r % dims[a]
		r /= dims[a]
		off += idx[a] * strides[a]
	}
	for n := lo * inner; n < hi*inner; n += inner {
		row := dst[n : n+inner]
		if innerStride == 1 {
			copy(row, src[off:off+inner])
		} else {
			o := off
			for j := range row {
				row[j] = src[o]
				o += innerStride
			}
		}
		for a := rank - 2; a >= 0; a-- {
			idx[a]++
			off += strides[a]
			if idx[a] < dims[a] {
				break
			}
			off -= idx[a] * strides[a]
			idx[a] = 0
		}
	}
}

func rowMajorStrides(dims []int) []int {
	strides := make([]int, len(dims))
	s := 1
	for i := len(dims) - 1; i >= 0; i-- {
		strides[i] = s
		s *= dims[i]
	}
	return strides
}
