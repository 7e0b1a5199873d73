package layers

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/tfgraph/nn"
)

// Conv2DTranspose is Keras' transposed convolution (kernel [kh, kw,
// filters, in]), the gradient of a convolution with the same settings.
type Conv2DTranspose struct {
	Filters    int    `yaml:"filters"`
	Kernel     Pair   `yaml:"kernel"`
	Strides    Pair   `yaml:"strides,omitempty"`
	Padding    string `yaml:"padding,omitempty"`
	Activation string `yaml:"activation,omitempty"`
	NoBias     bool   `yaml:"no_bias,omitempty"`
}

func init() { Register("conv2dtranspose", func() Layer { return &Conv2DTranspose{} }) }

func (c *Conv2DTranspose) Kind() string { return "conv2dtranspose" }

func (c *Conv2DTranspose) validate() error {
	if c.Filters <= 0 {
		return fmt.Errorf("filters must be > 0, got %d", c.Filters)
	}
	if err := c.Kernel.positive("kernel"); err != nil {
		return err
	}
	if err := checkPadding(c.Padding); err != nil {
		return err
	}
	return checkActivation(c.Activation)
}

// outLen is TensorFlow's deconv_output_length.
func (c *Conv2DTranspose) outLen(in, k, s int) int {
	if c.Padding == "same" {
		return in * s
	}
	return in*s + max(k-s, 0)
}

func (c *Conv2DTranspose) OutputShape(in [][]int) ([]int, error) {
	x, err := spatial(c.Kind(), in)
	if err != nil {
		return nil, err
	}
	s := c.Strides.or(1)
	return []int{c.outLen(x[0], c.Kernel[0], s[0]), c.outLen(x[1], c.Kernel[1], s[1]), c.Filters}, nil
}

func (c *Conv2DTranspose) Weights(in [][]int) []Weight {
	cin := in[0][2]
	field := c.Kernel[0] * c.Kernel[1]
	ws := []Weight{{Name: "kernel", Shape: []int{c.Kernel[0], c.Kernel[1], c.Filters, cin},
		Init: "glorot_uniform", FanIn: field * c.Filters, FanOut: field * cin}}
	if !c.NoBias {
		ws = append(ws, Weight{Name: "bias", Shape: []int{c.Filters}, Init: "zeros"})
	}
	return ws
}

func (c *Conv2DTranspose) MACs(in [][]int) int64 {
	return prod(in[0]) * int64(c.Kernel[0]*c.Kernel[1]*c.Filters)
}

func (c *Conv2DTranspose) FinalActivation() string { return c.Activation }

// ApplyLinear spreads the input with stride-1 zeros, pads it by k-1 and
// correlates it with the spatially flipped kernel; then it crops (same) or
// extends (valid, k < s) the result to TensorFlow's output size.
func (c *Conv2DTranspose) ApplyLinear(ctx *context.Context, in []*graph.Node) *graph.Node {
	x := in[0]
	k := weight(ctx, x.Graph(), "kernel")
	s := c.Strides.or(1)
	kernel := graph.TransposeAllAxes(nn.FlipAxis(nn.FlipAxis(k, 0), 1), 0, 1, 3, 2)
	y := x
	for axis := 1; axis <= 2; axis++ {
		kk := c.Kernel[axis-1]
		y = nn.DilateAxis(y, axis, s[axis-1])
		y = nn.ZeroPadAxis(y, axis, kk-1, kk-1)
	}
	y = nn.Conv2D(y, kernel, [2]int{1, 1}, [2]int{1, 1}, [2][2]int{})
	for axis := 1; axis <= 2; axis++ {
		kk, st := c.Kernel[axis-1], s[axis-1]
		n := x.Shape().Dimensions[axis]
		full := (n-1)*st + kk
		want := c.outLen(n, kk, st)
		if c.Padding == "same" {
			before := max(kk-st, 0) / 2
			y = graph.SliceAxis(y, axis, graph.AxisRange(before, before+want))
		} else if want > full {
			y = nn.ZeroPadAxis(y, axis, 0, want-full)
		}
	}
	if !c.NoBias {
		y = nn.AddBias(y, weight(ctx, x.Graph(), "bias"))
	}
	return y
}

func (c *Conv2DTranspose) Apply(ctx *context.Context, in []*graph.Node) *graph.Node {
	return activate(c.Activation, c.ApplyLinear(ctx, in))
}
