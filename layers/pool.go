package layers

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/tfgraph/nn"
)

// Pool2D is Keras' MaxPooling2D and AveragePooling2D; strides default to
// the pool size.
type Pool2D struct {
	kind    string
	Pool    Pair   `yaml:"pool"`
	Strides Pair   `yaml:"strides,omitempty"`
	Padding string `yaml:"padding,omitempty"`
}

func init() {
	Register("maxpool2d", func() Layer { return &Pool2D{kind: "maxpool2d"} })
	Register("avgpool2d", func() Layer { return &Pool2D{kind: "avgpool2d"} })
}

// MaxPool2D makes a max-pooling layer.
func MaxPool2D(pool int) *Pool2D { return &Pool2D{kind: "maxpool2d", Pool: Sq(pool)} }

// AvgPool2D makes an average-pooling layer.
func AvgPool2D(pool int) *Pool2D { return &Pool2D{kind: "avgpool2d", Pool: Sq(pool)} }

func (p *Pool2D) Kind() string { return p.kind }

func (p *Pool2D) validate() error {
	p.Pool = p.Pool.or(2)
	if err := p.Pool.positive("pool"); err != nil {
		return err
	}
	return checkPadding(p.Padding)
}

func (p *Pool2D) OutputShape(in [][]int) ([]int, error) {
	x, err := spatial(p.kind, in)
	if err != nil {
		return nil, err
	}
	s := p.Strides.or(0)
	if s == (Pair{}) {
		s = p.Pool
	}
	h := convOut(x[0], p.Pool[0], s[0], 1, p.Padding)
	w := convOut(x[1], p.Pool[1], s[1], 1, p.Padding)
	if h <= 0 || w <= 0 {
		return nil, fmt.Errorf("%s: input %v is smaller than the %v pool", p.kind, x, [2]int(p.Pool))
	}
	return []int{h, w, x[2]}, nil
}

func (p *Pool2D) Weights([][]int) []Weight { return nil }

func (p *Pool2D) MACs(in [][]int) int64 {
	out, _ := p.OutputShape(in)
	return prod(out) * int64(p.Pool[0]*p.Pool[1])
}

func (p *Pool2D) Apply(_ *context.Context, in []*graph.Node) *graph.Node {
	s := p.Strides
	if s == (Pair{}) {
		s = p.Pool
	}
	b := graph.MaxPool(in[0])
	if p.kind == "avgpool2d" {
		b = graph.MeanPool(in[0])
	}
	b = b.WindowPerAxis(p.Pool[0], p.Pool[1]).StridePerAxis(s[0], s[1])
	if p.Padding != "same" {
		return b.NoPadding().Done()
	}
	// GoMLX's PadSame centres the window as for stride 1; with a larger
	// stride TensorFlow puts the extra padding after, so windows differ.
	d := in[0].Shape().Dimensions
	return b.PaddingPerDim([][2]int{
		nn.SamePadding(d[1], p.Pool[0], s[0], 1),
		nn.SamePadding(d[2], p.Pool[1], s[1], 1),
	}).Done()
}
