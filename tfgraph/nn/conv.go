package nn

import (
	"runtime"
	"sync"
	"weak"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// GoMLX v0.26's gradient of a convolution w.r.t. its input pads the reverse
// convolution correctly only for odd kernel sizes, and the course's U-Net
// up-convolutions are 2×2. Convolutions built by Conv2D carry their
// settings here, and get the gradient below on every engine.
var convs sync.Map // weak.Pointer[graph.Node] → convParams

type convParams struct {
	strides, dilations [2]int
	pads               [2][2]int
	depthwise          bool // a C-group convolution, see DepthwiseConv2D
}

var nhwc = graph.ConvolveAxesConfig{
	InputBatch: 0, InputSpatial: []int{1, 2}, InputChannels: 3,
	KernelSpatial: []int{0, 1}, KernelInputChannels: 2, KernelOutputChannels: 3,
	OutputBatch: 0, OutputSpatial: []int{1, 2}, OutputChannels: 3,
}

func init() {
	generic := graph.VJPRegistration[graph.NodeTypeConvGeneral]
	graph.VJPRegistration[graph.NodeTypeConvGeneral] = func(node *graph.Node, vjps []*graph.Node, out shapes.Shape) []*graph.Node {
		p, ok := convs.Load(weak.Make(node))
		if !ok {
			return generic(node, vjps, out)
		}
		x, k, cp := node.Inputs()[0], node.Inputs()[1], p.(convParams)
		if cp.depthwise {
			return []*graph.Node{depthwiseInputGrad(x, k, vjps[0], cp), depthwiseKernelGrad(x, k, vjps[0], cp)}
		}
		return []*graph.Node{convInputGrad(x, k, vjps[0], cp), convKernelGrad(x, k, vjps[0], cp)}
	}
}

// Conv2D correlates x [N, H, W, C] with kernel [kh, kw, C, O] (no groups),
// with explicit padding [[top, bottom], [left, right]].
func Conv2D(x, kernel *graph.Node, strides, dilations [2]int, pads [2][2]int) *graph.Node {
	y := graph.ConvGeneral(x, kernel, nhwc, strides[:], pads[:], nil, dilations[:], 1, 1)
	return remember(y, convParams{strides: strides, dilations: dilations, pads: pads})
}

// remember marks y for the gradients below for as long as y lives.
func remember(y *graph.Node, p convParams) *graph.Node {
	key := weak.Make(y)
	convs.Store(key, p)
	runtime.AddCleanup(y, func(k weak.Pointer[graph.Node]) { convs.Delete(k) }, key)
	return y
}

// SamePadding is TensorFlow's "same" padding for one axis.
func SamePadding(in, kernel, stride, dilation int) [2]int {
	out := (in + stride - 1) / stride
	eff := (kernel-1)*dilation + 1
	total := max((out-1)*stride+eff-in, 0)
	return [2]int{total / 2, total - total/2}
}

// convInputGrad correlates dy, spread by the stride and padded to a "full"
// correlation, with the flipped kernel (in and out swapped); the result
// covers the padded input, which is then cut back to x's extent. The
// spreading is the convolution's input dilation rather than a dilated copy
// of dy: engines then run it as the strided convolution's own data
// gradient, without the three zeros in four that a stride of 2 puts in.
func convInputGrad(x, k, dy *graph.Node, p convParams) *graph.Node {
	flipped := graph.TransposeAllAxes(FlipAxis(FlipAxis(k, 0), 1), 0, 1, 3, 2)
	kd := k.Shape().Dimensions
	pads := make([][2]int, 2)
	for a := range 2 {
		eff := (kd[a]-1)*p.dilations[a] + 1
		pads[a] = [2]int{eff - 1, eff - 1}
	}
	dxPad := graph.ConvGeneral(dy, flipped, nhwc, []int{1, 1}, pads, p.strides[:], p.dilations[:], 1, 1)
	return cropToInput(dxPad, x, p)
}

// spreadForInput dilates dy by the stride and pads it by the kernel's
// extent less one, so that correlating it with the flipped kernel gives the
// gradient of the padded input.
func spreadForInput(dy, k *graph.Node, p convParams) *graph.Node {
	kd := k.Shape().Dimensions
	g := dy
	for a := range 2 {
		g = DilateAxis(g, a+1, p.strides[a])
		eff := (kd[a]-1)*p.dilations[a] + 1
		g = ZeroPadAxis(g, a+1, eff-1, eff-1)
	}
	return g
}

// cropToInput cuts the padded input's gradient back to x's extent.
func cropToInput(dxPad, x *graph.Node, p convParams) *graph.Node {
	for a := range 2 {
		axis := a + 1
		n := x.Shape().Dimensions[axis]
		// Input pixels past the last window get no gradient: zeros.
		if need, have := p.pads[a][0]+n, dxPad.Shape().Dimensions[axis]; have < need {
			dxPad = ZeroPadAxis(dxPad, axis, 0, need-have)
		}
		dxPad = graph.SliceAxis(dxPad, axis, graph.AxisRange(p.pads[a][0], p.pads[a][0]+n))
	}
	return dxPad
}

// convKernelGrad correlates the padded input with dy, contracting over the
// batch: batch and channels swap roles, and the stride becomes dy's
// dilation.
func convKernelGrad(x, k, dy *graph.Node, p convParams) *graph.Node {
	kd := k.Shape().Dimensions
	xp := x
	for a := 0; a < 2; a++ {
		xp = ZeroPadAxis(xp, a+1, p.pads[a][0], p.pads[a][1])
	}
	axes := graph.ConvolveAxesConfig{
		InputBatch: 3, InputSpatial: []int{1, 2}, InputChannels: 0,
		KernelSpatial: []int{1, 2}, KernelInputChannels: 0, KernelOutputChannels: 3,
		OutputBatch: 0, OutputSpatial: []int{1, 2}, OutputChannels: 3,
	}
	dk := graph.ConvGeneral(xp, dy, axes, p.dilations[:], [][2]int{{0, 0}, {0, 0}}, nil, p.strides[:], 1, 1)
	// dk is [C, kh', kw', O] with kh' ≥ kh when the input has pixels no
	// window reaches.
	for a := 0; a < 2; a++ {
		if dk.Shape().Dimensions[a+1] != kd[a] {
			dk = graph.SliceAxis(dk, a+1, graph.AxisRange(0, kd[a]))
		}
	}
	return graph.TransposeAllAxes(dk, 1, 2, 0, 3)
}
