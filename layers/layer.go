// Package layers holds tfrun's Keras-like layers and the registry that builds
// them from YAML by kind ("dense", "conv2d", ...), so adding a layer is one
// Register call.
package layers

import (
	"bytes"
	"fmt"
	"slices"
	"sort"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"gopkg.in/yaml.v3"
)

// Layer is one step of a model. Shapes are per example: the batch axis is
// implicit, as in Keras' summaries.
type Layer interface {
	Kind() string
	OutputShape(in [][]int) ([]int, error)
	// Weights lists the variables the layer owns, so a model can create and
	// initialise them from one seeded generator before any graph is built.
	Weights(in [][]int) []Weight
	// MACs counts the multiply-accumulates of one forward pass of one example.
	MACs(in [][]int) int64
	Apply(ctx *context.Context, in []*graph.Node) *graph.Node
}

// Activated is a layer whose last step is an activation that a loss may want
// to fuse: cross-entropy is computed from logits, never from probabilities.
type Activated interface {
	Layer
	FinalActivation() string
	ApplyLinear(ctx *context.Context, in []*graph.Node) *graph.Node
}

// Weight describes one variable of a layer.
type Weight struct {
	Name  string
	Shape []int
	Init  string // "glorot_uniform", "zeros" or "ones"
	// Frozen weights are state, not parameters: the optimiser leaves them
	// alone (batch-norm's moving statistics).
	Frozen bool
	// FanIn and FanOut drive Glorot's limit; they are the kernel's receptive
	// field times its input and output channels.
	FanIn, FanOut int
}

// Factory makes an empty layer of its kind for YAML to fill in.
type Factory func() Layer

var registry = map[string]Factory{}

// Register makes a layer kind available to YAML model configs.
func Register(kind string, f Factory) {
	if _, dup := registry[kind]; dup {
		panic("layers: kind registered twice: " + kind)
	}
	registry[kind] = f
}

// Kinds lists the registered layer kinds.
func Kinds() []string {
	ks := make([]string, 0, len(registry))
	for k := range registry {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// FromYAML builds a layer of the given kind from its YAML parameters. An
// unknown kind or parameter is an error, never silently ignored.
func FromYAML(kind string, params *yaml.Node) (Layer, error) {
	f, ok := registry[kind]
	if !ok {
		return nil, fmt.Errorf("unknown layer kind %q (known: %v)", kind, Kinds())
	}
	l := f()
	if params == nil || params.Kind == 0 {
		return l, checkLayer(l)
	}
	// Re-encoding lets the decoder reject unknown fields, which Node.Decode
	// does not do.
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(params); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(&buf)
	dec.KnownFields(true)
	if err := dec.Decode(l); err != nil {
		return nil, fmt.Errorf("layer %s: %v", kind, err)
	}
	return l, checkLayer(l)
}

// ToYAML gives the parameters of a layer as FromYAML reads them.
func ToYAML(l Layer) (map[string]any, error) {
	b, err := yaml.Marshal(l)
	if err != nil {
		return nil, err
	}
	m := map[string]any{}
	return m, yaml.Unmarshal(b, &m)
}

type validator interface{ validate() error }

func checkLayer(l Layer) error {
	if v, ok := l.(validator); ok {
		if err := v.validate(); err != nil {
			return fmt.Errorf("layer %s: %v", l.Kind(), err)
		}
	}
	return nil
}

func one(kind string, in [][]int) ([]int, error) {
	if len(in) != 1 {
		return nil, fmt.Errorf("%s takes one input, got %d", kind, len(in))
	}
	return in[0], nil
}

func prod(dims []int) int64 {
	p := int64(1)
	for _, d := range dims {
		p *= int64(d)
	}
	return p
}

func withLast(dims []int, last int) []int {
	out := slices.Clone(dims)
	out[len(out)-1] = last
	return out
}
