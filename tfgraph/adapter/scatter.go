package adapter

import (
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/shapeinference"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// simplego v0.26 scatters each update window by walking the operand with an
// iterator that wraps every non-inserted axis at the operand's full dimension,
// starting from the scatter position. That only matches the window when every
// non-inserted axis except the outermost one starts at 0 and is covered in
// full: scattering a partial window along a non-leading axis (what the
// gradient of GatherSlices, and so of bilinear resizing along the width, asks
// for) adds the values at the wrong positions. Gather is unaffected.
//
// The adapter passes safe scatters through and rewrites the others into a
// sequence of safe ones: windows are padded to full size along non-indexed
// axes (with the combiner's identity), and the indexed axes are split into
// one scatter per window offset so that each becomes an inserted (size-1)
// axis.

// ScatterSum implements backends.Builder.
func (b *Builder) ScatterSum(operand, indices, updates backends.Op, indexVectorAxis int,
	updateWindowAxes, insertedWindowAxes, scatterAxesToOperandAxes []int, indicesAreSorted, uniqueIndices bool) (
	backends.Op, error) {
	return b.scatter(backends.OpTypeScatterSum, operand, indices, updates, indexVectorAxis,
		updateWindowAxes, insertedWindowAxes, scatterAxesToOperandAxes, indicesAreSorted, uniqueIndices)
}

// ScatterMax implements backends.Builder.
func (b *Builder) ScatterMax(operand, indices, updates backends.Op, indexVectorAxis int,
	updateWindowAxes, insertedWindowAxes, scatterAxesToOperandAxes []int, indicesAreSorted, uniqueIndices bool) (
	backends.Op, error) {
	return b.scatter(backends.OpTypeScatterMax, operand, indices, updates, indexVectorAxis,
		updateWindowAxes, insertedWindowAxes, scatterAxesToOperandAxes, indicesAreSorted, uniqueIndices)
}

// ScatterMin implements backends.Builder.
func (b *Builder) ScatterMin(operand, indices, updates backends.Op, indexVectorAxis int,
	updateWindowAxes, insertedWindowAxes, scatterAxesToOperandAxes []int, indicesAreSorted, uniqueIndices bool) (
	backends.Op, error) {
	return b.scatter(backends.OpTypeScatterMin, operand, indices, updates, indexVectorAxis,
		updateWindowAxes, insertedWindowAxes, scatterAxesToOperandAxes, indicesAreSorted, uniqueIndices)
}

func (b *Builder) innerScatter(opType backends.OpType) func(operand, indices, updates backends.Op, indexVectorAxis int,
	updateWindowAxes, insertedWindowAxes, scatterAxesToOperandAxes []int, indicesAreSorted, uniqueIndices bool) (
	backends.Op, error) {
	switch opType {
	case backends.OpTypeScatterMax:
		return b.Builder.ScatterMax
	case backends.OpTypeScatterMin:
		return b.Builder.ScatterMin
	default:
		return b.Builder.ScatterSum
	}
}

func (b *Builder) scatter(opType backends.OpType, operand, indices, updates backends.Op, indexVectorAxis int,
	updateWindowAxes, insertedWindowAxes, scatterAxesToOperandAxes []int, sorted, unique bool) (backends.Op, error) {
	c := b.compose()
	opShape, idxShape, updShape := c.shape(operand), c.shape(indices), c.shape(updates)
	if c.err != nil {
		return c.result(opType.String(), nil)
	}
	if _, err := shapeinference.ScatterOp(opShape, idxShape, updShape, indexVectorAxis, updateWindowAxes,
		insertedWindowAxes, scatterAxesToOperandAxes); err != nil {
		c.err = err
		return c.result(opType.String(), nil)
	}
	inner := b.innerScatter(opType)
	rank := opShape.Rank()
	dims := opShape.Dimensions

	// Window size per operand axis, in operand order.
	inserted := make([]bool, rank)
	for _, a := range insertedWindowAxes {
		inserted[a] = true
	}
	indexed := make([]bool, rank)
	for _, a := range scatterAxesToOperandAxes {
		if indexed[a] {
			c.failf("operand axis %d is scattered to twice in %v", a, scatterAxesToOperandAxes)
			return c.result(opType.String(), nil)
		}
		indexed[a] = true
	}
	window := make([]int, rank)
	var nonInserted []int
	for a := range rank {
		window[a] = 1
		if !inserted[a] {
			nonInserted = append(nonInserted, a)
		}
	}
	for i, a := range nonInserted {
		window[a] = updShape.Dimensions[updateWindowAxes[i]]
	}

	safe := true
	for _, a := range nonInserted[min(1, len(nonInserted)):] {
		if indexed[a] || window[a] != dims[a] {
			safe = false
		}
	}
	if safe {
		return inner(operand, indices, updates, indexVectorAxis, updateWindowAxes, insertedWindowAxes,
			scatterAxesToOperandAxes, sorted, unique)
	}

	// Indices to [batch, indexVector].
	idxRank := idxShape.Rank()
	idx := indices
	if indexVectorAxis == idxRank {
		idx = c.reshape(idx, append(slices.Clone(idxShape.Dimensions), 1)...)
		idxRank++
	}
	idxDims := c.dims(idx)
	if c.err != nil {
		return c.result(opType.String(), nil)
	}
	var batchDims []int
	idxPerm := make([]int, 0, idxRank)
	for a := range idxRank {
		if a != indexVectorAxis {
			idxPerm = append(idxPerm, a)
			batchDims = append(batchDims, idxDims[a])
		}
	}
	idxPerm = append(idxPerm, indexVectorAxis)
	numIndexed := len(scatterAxesToOperandAxes)
	batch := product(batchDims)
	idx = c.transpose(idx, idxPerm...)
	idx = c.reshape(idx, batch, numIndexed)

	// Updates to [batch, window per operand axis...].
	isWindowAxis := make([]bool, updShape.Rank())
	for _, a := range updateWindowAxes {
		isWindowAxis[a] = true
	}
	updPerm := make([]int, 0, updShape.Rank())
	var updBatchDims []int
	for a := range updShape.Rank() {
		if !isWindowAxis[a] {
			updPerm = append(updPerm, a)
			updBatchDims = append(updBatchDims, updShape.Dimensions[a])
		}
	}
	if !slices.Equal(updBatchDims, batchDims) {
		c.failf("updates batch dimensions %v do not match indices batch dimensions %v", updBatchDims, batchDims)
		return c.result(opType.String(), nil)
	}
	updPerm = append(updPerm, updateWindowAxes...)
	upd := c.transpose(updates, updPerm...)
	upd = c.reshape(upd, append([]int{batch}, window...)...)

	dtype := opShape.DType
	var identity backends.Op
	switch opType {
	case backends.OpTypeScatterMax:
		identity = c.lowest(dtype)
	case backends.OpTypeScatterMin:
		identity = c.highest(dtype)
	default:
		identity = c.scalar(dtype, 0)
	}

	// XLA skips a window that does not fit the operand; splitting it would
	// apply its in-bounds part, so out-of-range windows are neutralized here
	// and their indices clamped.
	idxDType := c.shape(idx).DType
	zeroIdx := c.scalar(idxDType, 0)
	maxStart := make([]float64, numIndexed)
	for k, a := range scatterAxesToOperandAxes {
		maxStart[k] = float64(dims[a] - window[a])
	}
	maxStartOp := c.call(func() (backends.Op, error) { return c.b.Constant(maxStart, 1, numIndexed) })
	maxStartOp = c.call(func() (backends.Op, error) { return c.b.ConvertDType(maxStartOp, idxDType) })
	inRange := c.binary(c.b.LogicalAnd,
		c.binary(c.b.GreaterOrEqual, idx, zeroIdx), c.binary(c.b.LessOrEqual, idx, maxStartOp))
	valid := c.call(func() (backends.Op, error) { return c.b.ReduceLogicalAnd(inRange, 1) })
	valid = c.call(func() (backends.Op, error) {
		return c.b.BroadcastInDim(valid, shapes.Make(dtypes.Bool, append([]int{batch}, window...)...), []int{0})
	})
	upd = c.where(valid, upd, identity)
	idx = c.binary(c.b.Min, c.binary(c.b.Max, idx, zeroIdx), maxStartOp)

	// Full windows along non-indexed axes.
	padCfg := make([]backends.PadAxis, rank+1)
	for a := range rank {
		if !indexed[a] {
			padCfg[1+a].End = dims[a] - window[a]
		}
	}
	upd = c.pad(upd, identity, padCfg...)
	fullWindow := make([]int, rank)
	var splitAxes, splitSizes, restDims []int
	var insertedNew []int
	for a := range rank {
		if indexed[a] {
			fullWindow[a] = window[a]
			insertedNew = append(insertedNew, a)
			if window[a] > 1 {
				splitAxes = append(splitAxes, a)
				splitSizes = append(splitSizes, window[a])
			}
		} else {
			fullWindow[a] = dims[a]
			restDims = append(restDims, dims[a])
		}
	}
	windowAxesNew := make([]int, len(restDims))
	for i := range windowAxesNew {
		windowAxesNew[i] = 1 + i
	}
	updDims := append([]int{batch}, fullWindow...)

	out := operand
	iterIndices(splitSizes, func(offset []int) {
		starts := make([]int, rank+1)
		limits := slices.Clone(updDims)
		offsets := make([]float64, numIndexed)
		for i, a := range splitAxes {
			starts[1+a], limits[1+a] = offset[i], offset[i]+1
			offsets[slices.Index(scatterAxesToOperandAxes, a)] = float64(offset[i])
		}
		piece := sliceUnlessFull(c, upd, updDims, starts, limits, slices.Repeat([]int{1}, rank+1))
		piece = c.reshape(piece, append([]int{batch}, restDims...)...)
		pieceIdx := idx
		if len(splitAxes) > 0 {
			off := c.call(func() (backends.Op, error) { return c.b.Constant(offsets, 1, numIndexed) })
			off = c.call(func() (backends.Op, error) { return c.b.ConvertDType(off, idxDType) })
			pieceIdx = c.add(idx, off)
		}
		out = c.call(func() (backends.Op, error) {
			return inner(out, pieceIdx, piece, 1, windowAxesNew, insertedNew, scatterAxesToOperandAxes, false, false)
		})
	})
	return c.result(opType.String(), out)
}
