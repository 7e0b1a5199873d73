package nn

import (
	"github.com/gomlx/gomlx/pkg/core/graph"
)

// DepthwiseConv2D convolves each channel c of x [N, H, W, C] with its own
// m filters: kernel [kh, kw, 1, C·m], output channel c·m+j from input
// channel c (a C-group convolution), with explicit padding.
//
// GoMLX differentiates a grouped convolution's kernel through a batch-group
// convolution, which the engines run one group at a time: a MobileNetV2 or
// Xception train step became thousands of one-channel convolutions (20 s
// where inference takes 0.4 s). These get their own gradient instead: the
// input gradient is itself one depthwise convolution, and the kernel
// gradient one product-and-sum per kernel tap over whole tensors.
func DepthwiseConv2D(x, kernel *graph.Node, strides, dilations [2]int, pads [2][2]int) *graph.Node {
	c := x.Shape().Dimensions[3]
	y := graph.ConvGeneral(x, kernel, nhwc, strides[:], pads[:], nil, dilations[:], c, 1)
	return remember(y, convParams{strides: strides, dilations: dilations, pads: pads, depthwise: true})
}

// depthwiseInputGrad is convInputGrad per group: dy spread by the stride and
// padded, correlated with the flipped filters, where group c now reads the
// m gradient channels of input channel c and writes that one channel.
func depthwiseInputGrad(x, k, dy *graph.Node, p convParams) *graph.Node {
	kd := k.Shape().Dimensions
	c := x.Shape().Dimensions[3]
	flipped := graph.Reshape(FlipAxis(FlipAxis(k, 0), 1), kd[0], kd[1], c, kd[3]/c)
	flipped = graph.TransposeAllAxes(flipped, 0, 1, 3, 2) // [kh, kw, m, C]
	dxPad := graph.ConvGeneral(spreadForInput(dy, k, p), flipped, nhwc, []int{1, 1}, [][2]int{{0, 0}, {0, 0}}, nil, p.dilations[:], c, 1)
	return cropToInput(dxPad, x, p)
}

// depthwiseKernelGrad sums, for each tap (i, j), the padded input pixels
// that tap saw times dy: dk[i, j, 0, c·m+q] = Σ x[n, h·s+i·d, w·s+j·d, c]·dy[n, h, w, c·m+q].
func depthwiseKernelGrad(x, k, dy *graph.Node, p convParams) *graph.Node {
	kd := k.Shape().Dimensions
	xd := x.Shape().Dimensions
	dd := dy.Shape().Dimensions
	c, m := xd[3], kd[3]/xd[3]
	xp := x
	for a := range 2 {
		xp = ZeroPadAxis(xp, a+1, p.pads[a][0], p.pads[a][1])
	}
	taps := make([]*graph.Node, 0, kd[0]*kd[1])
	for i := range kd[0] {
		for j := range kd[1] {
			y0, x0 := i*p.dilations[0], j*p.dilations[1]
			seen := graph.Slice(xp, graph.AxisRange(),
				graph.AxisRange(y0, y0+(dd[1]-1)*p.strides[0]+1).Stride(p.strides[0]),
				graph.AxisRange(x0, x0+(dd[2]-1)*p.strides[1]+1).Stride(p.strides[1]),
				graph.AxisRange())
			if m > 1 {
				seen = graph.Reshape(graph.BroadcastToDims(graph.Reshape(seen, dd[0], dd[1], dd[2], c, 1),
					dd[0], dd[1], dd[2], c, m), dd[0], dd[1], dd[2], c*m)
			}
			taps = append(taps, graph.ReduceSum(graph.Mul(seen, dy), 0, 1, 2))
		}
	}
	return graph.Reshape(graph.Stack(taps, 0), kd...)
}
