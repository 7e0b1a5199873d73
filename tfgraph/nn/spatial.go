package nn

import "github.com/gomlx/gomlx/pkg/core/graph"

// These spatial helpers are built from Reshape, Concatenate and Slice only,
// whose gradients GoMLX defines; its Pad and Reverse have none.

// ZeroPadAxis adds before and after zeros along one axis.
func ZeroPadAxis(x *graph.Node, axis, before, after int) *graph.Node {
	if before == 0 && after == 0 {
		return x
	}
	zeros := func(n int) *graph.Node {
		s := x.Shape().Clone()
		s.Dimensions[axis] = n
		return graph.Zeros(x.Graph(), s)
	}
	var parts []*graph.Node
	if before > 0 {
		parts = append(parts, zeros(before))
	}
	parts = append(parts, x)
	if after > 0 {
		parts = append(parts, zeros(after))
	}
	return graph.Concatenate(parts, axis)
}

// DilateAxis puts stride-1 zeros between consecutive elements of one axis:
// n elements become (n-1)·stride+1.
func DilateAxis(x *graph.Node, axis, stride int) *graph.Node {
	if stride == 1 {
		return x
	}
	d := x.Shape().Dimensions
	// [.., n, ..] → [.., n, 1, ..] joined with zeros to [.., n, stride, ..],
	// then flattened and trimmed of the trailing zeros.
	withUnit := append(append(append([]int{}, d[:axis+1]...), 1), d[axis+1:]...)
	y := graph.Reshape(x, withUnit...)
	y = ZeroPadAxis(y, axis+1, 0, stride-1)
	flat := append(append(append([]int{}, d[:axis]...), d[axis]*stride), d[axis+1:]...)
	y = graph.Reshape(y, flat...)
	return graph.SliceAxis(y, axis, graph.AxisRange(0, (d[axis]-1)*stride+1))
}

// FlipAxis reverses one axis by slicing out each element and joining them
// in reverse order; meant for short axes such as kernel rows.
func FlipAxis(x *graph.Node, axis int) *graph.Node {
	n := x.Shape().Dimensions[axis]
	if n == 1 {
		return x
	}
	parts := make([]*graph.Node, n)
	for i := range parts {
		parts[n-1-i] = graph.SliceAxis(x, axis, graph.AxisRange(i, i+1))
	}
	return graph.Concatenate(parts, axis)
}
