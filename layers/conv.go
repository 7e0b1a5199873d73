package layers

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/tfgraph/nn"
)

// Conv2D is Keras' 2-D convolution on NHWC input with an HWIO kernel.
type Conv2D struct {
	Filters    int    `yaml:"filters"`
	Kernel     Pair   `yaml:"kernel"`
	Strides    Pair   `yaml:"strides,omitempty"`
	Dilation   Pair   `yaml:"dilation,omitempty"`
	Padding    string `yaml:"padding,omitempty"` // "valid" (Keras' default) or "same"
	Activation string `yaml:"activation,omitempty"`
	NoBias     bool   `yaml:"no_bias,omitempty"`
}

func init() { Register("conv2d", func() Layer { return &Conv2D{} }) }

func (c *Conv2D) Kind() string { return "conv2d" }

func (c *Conv2D) validate() error {
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

func checkPadding(p string) error {
	if p != "" && p != "valid" && p != "same" {
		return fmt.Errorf(`padding must be "valid" or "same", got %q`, p)
	}
	return nil
}

// convOut is the output length of one spatial axis, with Keras' rules.
func convOut(in, kernel, stride, dilation int, padding string) int {
	if padding == "same" {
		return (in + stride - 1) / stride
	}
	eff := (kernel-1)*dilation + 1
	if in < eff {
		return 0
	}
	return (in-eff)/stride + 1
}

func spatial(kind string, in [][]int) ([]int, error) {
	x, err := one(kind, in)
	if err != nil {
		return nil, err
	}
	if len(x) != 3 {
		return nil, fmt.Errorf("%s needs [height, width, channels] input, got %v", kind, x)
	}
	return x, nil
}

func (c *Conv2D) OutputShape(in [][]int) ([]int, error) {
	x, err := spatial(c.Kind(), in)
	if err != nil {
		return nil, err
	}
	s, d := c.Strides.or(1), c.Dilation.or(1)
	h := convOut(x[0], c.Kernel[0], s[0], d[0], c.Padding)
	w := convOut(x[1], c.Kernel[1], s[1], d[1], c.Padding)
	if h <= 0 || w <= 0 {
		return nil, fmt.Errorf("conv2d: input %v is smaller than the %v kernel", x, [2]int(c.Kernel))
	}
	return []int{h, w, c.Filters}, nil
}

func (c *Conv2D) Weights(in [][]int) []Weight {
	cin := in[0][2]
	field := c.Kernel[0] * c.Kernel[1]
	ws := []Weight{{Name: "kernel", Shape: []int{c.Kernel[0], c.Kernel[1], cin, c.Filters},
		Init: "glorot_uniform", FanIn: field * cin, FanOut: field * c.Filters}}
	if !c.NoBias {
		ws = append(ws, Weight{Name: "bias", Shape: []int{c.Filters}, Init: "zeros"})
	}
	return ws
}

func (c *Conv2D) MACs(in [][]int) int64 {
	out, err := c.OutputShape(in)
	if err != nil {
		return 0
	}
	return prod(out) * int64(c.Kernel[0]*c.Kernel[1]*in[0][2])
}

func (c *Conv2D) FinalActivation() string { return c.Activation }

func (c *Conv2D) ApplyLinear(ctx *context.Context, in []*graph.Node) *graph.Node {
	x := in[0]
	s, d := c.Strides.or(1), c.Dilation.or(1)
	pads := [2][2]int{}
	if c.Padding == "same" {
		for a := 0; a < 2; a++ {
			pads[a] = nn.SamePadding(x.Shape().Dimensions[a+1], c.Kernel[a], s[a], d[a])
		}
	}
	y := nn.Conv2D(x, weight(ctx, x.Graph(), "kernel"), s, d, pads)
	if !c.NoBias {
		y = nn.AddBias(y, weight(ctx, x.Graph(), "bias"))
	}
	return y
}

func (c *Conv2D) Apply(ctx *context.Context, in []*graph.Node) *graph.Node {
	return activate(c.Activation, c.ApplyLinear(ctx, in))
}
