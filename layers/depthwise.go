package layers

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/tfgraph/nn"
)

// DepthwiseConv2D convolves each input channel with its own Multiplier
// kernels (Keras' layer; kernel [kh, kw, C, multiplier]).
type DepthwiseConv2D struct {
	Kernel     Pair   `yaml:"kernel"`
	Multiplier int    `yaml:"multiplier,omitempty"`
	Strides    Pair   `yaml:"strides,omitempty"`
	Dilation   Pair   `yaml:"dilation,omitempty"`
	Padding    string `yaml:"padding,omitempty"`
	Activation string `yaml:"activation,omitempty"`
	NoBias     bool   `yaml:"no_bias,omitempty"`
}

// SeparableConv2D is a depthwise convolution followed by a 1×1 convolution
// to Filters channels (Keras' layer; the bias belongs to the pointwise step).
type SeparableConv2D struct {
	Filters    int    `yaml:"filters"`
	Kernel     Pair   `yaml:"kernel"`
	Multiplier int    `yaml:"multiplier,omitempty"`
	Strides    Pair   `yaml:"strides,omitempty"`
	Dilation   Pair   `yaml:"dilation,omitempty"`
	Padding    string `yaml:"padding,omitempty"`
	Activation string `yaml:"activation,omitempty"`
	NoBias     bool   `yaml:"no_bias,omitempty"`
}

func init() {
	Register("depthwiseconv2d", func() Layer { return &DepthwiseConv2D{} })
	Register("separableconv2d", func() Layer { return &SeparableConv2D{} })
}

func multiplier(m int) int {
	if m == 0 {
		return 1
	}
	return m
}

// depthwise runs the grouped convolution, reshaping Keras' [kh, kw, C, m]
// kernel to the [kh, kw, 1, C·m] one of a C-group convolution: output
// channel c·m+j belongs to input channel c in both.
func depthwise(x, kernel *graph.Node, strides, dilation Pair, padding string) *graph.Node {
	kd := kernel.Shape().Dimensions
	k := graph.Reshape(kernel, kd[0], kd[1], 1, kd[2]*kd[3])
	var pads [2][2]int
	if padding == "same" {
		// TensorFlow's split of the padding, which GoMLX's PadSame gets
		// wrong for strides above 1.
		xd := x.Shape().Dimensions
		pads = [2][2]int{
			nn.SamePadding(xd[1], kd[0], strides[0], dilation[0]),
			nn.SamePadding(xd[2], kd[1], strides[1], dilation[1]),
		}
	}
	return nn.DepthwiseConv2D(x, k, [2]int(strides), [2]int(dilation), pads)
}

func (d *DepthwiseConv2D) Kind() string { return "depthwiseconv2d" }
func (d *DepthwiseConv2D) validate() error {
	if err := d.Kernel.positive("kernel"); err != nil {
		return err
	}
	if d.Multiplier < 0 {
		return fmt.Errorf("multiplier must be > 0, got %d", d.Multiplier)
	}
	if err := checkPadding(d.Padding); err != nil {
		return err
	}
	return checkActivation(d.Activation)
}
func (d *DepthwiseConv2D) OutputShape(in [][]int) ([]int, error) {
	x, err := spatial(d.Kind(), in)
	if err != nil {
		return nil, err
	}
	s, dl := d.Strides.or(1), d.Dilation.or(1)
	h := convOut(x[0], d.Kernel[0], s[0], dl[0], d.Padding)
	w := convOut(x[1], d.Kernel[1], s[1], dl[1], d.Padding)
	if h <= 0 || w <= 0 {
		return nil, fmt.Errorf("depthwiseconv2d: input %v is smaller than the %v kernel", x, [2]int(d.Kernel))
	}
	return []int{h, w, x[2] * multiplier(d.Multiplier)}, nil
}
func (d *DepthwiseConv2D) Weights(in [][]int) []Weight {
	c, m := in[0][2], multiplier(d.Multiplier)
	field := d.Kernel[0] * d.Kernel[1]
	ws := []Weight{{Name: "depthwise_kernel", Shape: []int{d.Kernel[0], d.Kernel[1], c, m},
		Init: "glorot_uniform", FanIn: field * c, FanOut: field * m}}
	if !d.NoBias {
		ws = append(ws, Weight{Name: "bias", Shape: []int{c * m}, Init: "zeros"})
	}
	return ws
}
func (d *DepthwiseConv2D) MACs(in [][]int) int64 {
	out, err := d.OutputShape(in)
	if err != nil {
		return 0
	}
	return prod(out) * int64(d.Kernel[0]*d.Kernel[1])
}
func (d *DepthwiseConv2D) FinalActivation() string { return d.Activation }
func (d *DepthwiseConv2D) ApplyLinear(ctx *context.Context, in []*graph.Node) *graph.Node {
	x := in[0]
	y := depthwise(x, weight(ctx, x.Graph(), "depthwise_kernel"), d.Strides.or(1), d.Dilation.or(1), d.Padding)
	if !d.NoBias {
		y = nn.AddBias(y, weight(ctx, x.Graph(), "bias"))
	}
	return y
}
func (d *DepthwiseConv2D) Apply(ctx *context.Context, in []*graph.Node) *graph.Node {
	return activate(d.Activation, d.ApplyLinear(ctx, in))
}

func (s *SeparableConv2D) Kind() string { return "separableconv2d" }
func (s *SeparableConv2D) depthwise() *DepthwiseConv2D {
	return &DepthwiseConv2D{Kernel: s.Kernel, Multiplier: s.Multiplier, Strides: s.Strides, Dilation: s.Dilation, Padding: s.Padding, NoBias: true}
}
func (s *SeparableConv2D) validate() error {
	if s.Filters <= 0 {
		return fmt.Errorf("filters must be > 0, got %d", s.Filters)
	}
	if err := s.depthwise().validate(); err != nil {
		return err
	}
	return checkActivation(s.Activation)
}
func (s *SeparableConv2D) OutputShape(in [][]int) ([]int, error) {
	out, err := s.depthwise().OutputShape(in)
	if err != nil {
		return nil, fmt.Errorf("separableconv2d: %v", err)
	}
	return withLast(out, s.Filters), nil
}
func (s *SeparableConv2D) Weights(in [][]int) []Weight {
	ws := s.depthwise().Weights(in)
	mid := in[0][2] * multiplier(s.Multiplier)
	ws = append(ws, Weight{Name: "pointwise_kernel", Shape: []int{1, 1, mid, s.Filters}, Init: "glorot_uniform", FanIn: mid, FanOut: s.Filters})
	if !s.NoBias {
		ws = append(ws, Weight{Name: "bias", Shape: []int{s.Filters}, Init: "zeros"})
	}
	return ws
}
func (s *SeparableConv2D) MACs(in [][]int) int64 {
	out, err := s.OutputShape(in)
	if err != nil {
		return 0
	}
	mid := in[0][2] * multiplier(s.Multiplier)
	return s.depthwise().MACs(in) + prod(out)*int64(mid)
}
func (s *SeparableConv2D) FinalActivation() string { return s.Activation }
func (s *SeparableConv2D) ApplyLinear(ctx *context.Context, in []*graph.Node) *graph.Node {
	x := in[0]
	g := x.Graph()
	y := depthwise(x, weight(ctx, g, "depthwise_kernel"), s.Strides.or(1), s.Dilation.or(1), s.Padding)
	pk := weight(ctx, g, "pointwise_kernel")
	pd := pk.Shape().Dimensions
	y = nn.MatMul(y, graph.Reshape(pk, pd[2], pd[3]))
	if !s.NoBias {
		y = nn.AddBias(y, weight(ctx, g, "bias"))
	}
	return y
}
func (s *SeparableConv2D) Apply(ctx *context.Context, in []*graph.Node) *graph.Node {
	return activate(s.Activation, s.ApplyLinear(ctx, in))
}
