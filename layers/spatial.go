package layers

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/tfgraph/nn"
	"gopkg.in/yaml.v3"
)

// ZeroPadding2D pads height and width with zeros, as Keras' layer does.
type ZeroPadding2D struct {
	// Padding is [top, bottom, left, right]; YAML may give one number for
	// all four sides or [vertical, horizontal].
	Padding Ints `yaml:"padding,flow"`
}

// Ints is a list of integers that YAML may also give as a single number.
type Ints []int

func (v *Ints) UnmarshalYAML(n *yaml.Node) error {
	var one int
	if err := n.Decode(&one); err == nil {
		*v = Ints{one}
		return nil
	}
	var many []int
	if err := n.Decode(&many); err != nil {
		return fmt.Errorf("line %d: want a number or a list of numbers", n.Line)
	}
	*v = many
	return nil
}

// GlobalAvgPool2D averages over height and width: [H, W, C] → [C].
type GlobalAvgPool2D struct{}

// UpSampling2D enlarges height and width by integer factors, by nearest
// neighbour or bilinearly (TensorFlow's half-pixel centres, as Keras).
type UpSampling2D struct {
	Size          Pair   `yaml:"size"`
	Interpolation string `yaml:"interpolation,omitempty"` // "nearest" (default) or "bilinear"
}

// Resizing resizes height and width to a fixed size bilinearly (Keras'
// preprocessing layer).
type Resizing struct {
	Height int `yaml:"height"`
	Width  int `yaml:"width"`
}

// Rescaling computes x·scale + offset (Keras' preprocessing layer).
type Rescaling struct {
	Scale  float64 `yaml:"scale"`
	Offset float64 `yaml:"offset,omitempty"`
}

// Reshape gives each example a new shape with the same number of values.
type Reshape struct {
	Target []int `yaml:"target,flow"`
}

func init() {
	Register("zeropadding2d", func() Layer { return &ZeroPadding2D{} })
	Register("globalavgpool2d", func() Layer { return &GlobalAvgPool2D{} })
	Register("upsampling2d", func() Layer { return &UpSampling2D{} })
	Register("resizing", func() Layer { return &Resizing{} })
	Register("rescaling", func() Layer { return &Rescaling{} })
	Register("reshape", func() Layer { return &Reshape{} })
}

func (z *ZeroPadding2D) Kind() string { return "zeropadding2d" }

// sides expands the YAML forms to top, bottom, left, right.
func (z *ZeroPadding2D) sides() [4]int {
	switch p := z.Padding; len(p) {
	case 1:
		return [4]int{p[0], p[0], p[0], p[0]}
	case 2:
		return [4]int{p[0], p[0], p[1], p[1]}
	case 4:
		return [4]int{p[0], p[1], p[2], p[3]}
	}
	return [4]int{1, 1, 1, 1}
}

func (z *ZeroPadding2D) validate() error {
	if n := len(z.Padding); n != 0 && n != 1 && n != 2 && n != 4 {
		return fmt.Errorf("padding wants 1, 2 or 4 numbers, got %v", z.Padding)
	}
	for _, p := range z.Padding {
		if p < 0 {
			return fmt.Errorf("padding must be ≥ 0, got %v", z.Padding)
		}
	}
	return nil
}

func (z *ZeroPadding2D) OutputShape(in [][]int) ([]int, error) {
	x, err := spatial(z.Kind(), in)
	if err != nil {
		return nil, err
	}
	s := z.sides()
	return []int{x[0] + s[0] + s[1], x[1] + s[2] + s[3], x[2]}, nil
}
func (z *ZeroPadding2D) Weights([][]int) []Weight { return nil }
func (z *ZeroPadding2D) MACs([][]int) int64       { return 0 }
func (z *ZeroPadding2D) Apply(_ *context.Context, in []*graph.Node) *graph.Node {
	s := z.sides()
	x := nn.ZeroPadAxis(in[0], 1, s[0], s[1])
	return nn.ZeroPadAxis(x, 2, s[2], s[3])
}

func (g *GlobalAvgPool2D) Kind() string { return "globalavgpool2d" }
func (g *GlobalAvgPool2D) OutputShape(in [][]int) ([]int, error) {
	x, err := spatial(g.Kind(), in)
	if err != nil {
		return nil, err
	}
	return []int{x[2]}, nil
}
func (g *GlobalAvgPool2D) Weights([][]int) []Weight { return nil }
func (g *GlobalAvgPool2D) MACs(in [][]int) int64    { return prod(in[0]) }
func (g *GlobalAvgPool2D) Apply(_ *context.Context, in []*graph.Node) *graph.Node {
	return graph.ReduceMean(in[0], 1, 2)
}

func (u *UpSampling2D) Kind() string { return "upsampling2d" }
func (u *UpSampling2D) validate() error {
	u.Size = u.Size.or(2)
	if err := u.Size.positive("size"); err != nil {
		return err
	}
	if u.Interpolation != "" && u.Interpolation != "nearest" && u.Interpolation != "bilinear" {
		return fmt.Errorf(`interpolation must be "nearest" or "bilinear", got %q`, u.Interpolation)
	}
	return nil
}
func (u *UpSampling2D) OutputShape(in [][]int) ([]int, error) {
	x, err := spatial(u.Kind(), in)
	if err != nil {
		return nil, err
	}
	s := u.Size.or(2)
	return []int{x[0] * s[0], x[1] * s[1], x[2]}, nil
}
func (u *UpSampling2D) Weights([][]int) []Weight { return nil }
func (u *UpSampling2D) MACs(in [][]int) int64 {
	out, _ := u.OutputShape(in)
	return prod(out)
}
func (u *UpSampling2D) Apply(_ *context.Context, in []*graph.Node) *graph.Node {
	x := in[0]
	s := u.Size.or(2)
	d := x.Shape().Dimensions
	if u.Interpolation == "bilinear" {
		return nn.ResizeBilinear(x, d[1]*s[0], d[2]*s[1])
	}
	// Nearest neighbour as a broadcast: every pixel repeated s×s times.
	y := graph.Reshape(x, d[0], d[1], 1, d[2], 1, d[3])
	y = graph.BroadcastToDims(y, d[0], d[1], s[0], d[2], s[1], d[3])
	return graph.Reshape(y, d[0], d[1]*s[0], d[2]*s[1], d[3])
}

func (r *Resizing) Kind() string { return "resizing" }
func (r *Resizing) validate() error {
	if r.Height <= 0 || r.Width <= 0 {
		return fmt.Errorf("height and width must be > 0, got %d×%d", r.Height, r.Width)
	}
	return nil
}
func (r *Resizing) OutputShape(in [][]int) ([]int, error) {
	x, err := spatial(r.Kind(), in)
	if err != nil {
		return nil, err
	}
	return []int{r.Height, r.Width, x[2]}, nil
}
func (r *Resizing) Weights([][]int) []Weight { return nil }
func (r *Resizing) MACs(in [][]int) int64    { return 4 * int64(r.Height*r.Width*in[0][2]) }
func (r *Resizing) Apply(_ *context.Context, in []*graph.Node) *graph.Node {
	x := in[0]
	d := x.Shape().Dimensions
	if d[1] == r.Height && d[2] == r.Width {
		return x
	}
	return nn.ResizeBilinear(x, r.Height, r.Width)
}

func (r *Rescaling) Kind() string                          { return "rescaling" }
func (r *Rescaling) OutputShape(in [][]int) ([]int, error) { return one(r.Kind(), in) }
func (r *Rescaling) Weights([][]int) []Weight              { return nil }
func (r *Rescaling) MACs(in [][]int) int64                 { return prod(in[0]) }
func (r *Rescaling) Apply(_ *context.Context, in []*graph.Node) *graph.Node {
	y := graph.MulScalar(in[0], r.Scale)
	if r.Offset != 0 {
		y = graph.AddScalar(y, r.Offset)
	}
	return y
}

func (r *Reshape) Kind() string { return "reshape" }
func (r *Reshape) OutputShape(in [][]int) ([]int, error) {
	x, err := one(r.Kind(), in)
	if err != nil {
		return nil, err
	}
	if len(r.Target) == 0 || prod(r.Target) != prod(x) {
		return nil, fmt.Errorf("reshape: cannot give %v (%d values) the shape %v", x, prod(x), r.Target)
	}
	return append([]int{}, r.Target...), nil
}
func (r *Reshape) Weights([][]int) []Weight { return nil }
func (r *Reshape) MACs([][]int) int64       { return 0 }
func (r *Reshape) Apply(_ *context.Context, in []*graph.Node) *graph.Node {
	return graph.Reshape(in[0], append([]int{in[0].Shape().Dimensions[0]}, r.Target...)...)
}
