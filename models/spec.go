package models

import (
	"fmt"
	"sort"

	"github.com/tfrun/tfrun/layers"
	"gopkg.in/yaml.v3"
)

// Spec is a model as written in YAML: either a zoo entry or a list of
// layers. A layer without `inputs` takes the previous layer's output
// (Sequential); naming inputs gives the functional style.
type Spec struct {
	Name    string `yaml:"name"`
	Zoo     string `yaml:"zoo,omitempty"`
	Input   []int  `yaml:"input"`
	Classes int    `yaml:"classes,omitempty"`
	// Options configure a zoo model (e.g. base filters, depth).
	Options map[string]any `yaml:"options,omitempty"`
	Layers  []LayerSpec    `yaml:"layers,omitempty"`
}

// LayerSpec is one layer entry: `- conv2d: {filters: 32, kernel: 3}` with
// optional `name:` and `inputs:` beside the kind.
type LayerSpec struct {
	Kind   string
	Name   string
	Inputs []string
	Params *yaml.Node
}

func (l *LayerSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a layer is a mapping like `dense: {units: 10}`", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "name":
			l.Name = v.Value
		case "inputs":
			if err := v.Decode(&l.Inputs); err != nil {
				return fmt.Errorf("line %d: inputs: %v", v.Line, err)
			}
		default:
			if l.Kind != "" {
				return fmt.Errorf("line %d: layer has two kinds, %q and %q", k.Line, l.Kind, k.Value)
			}
			l.Kind, l.Params = k.Value, v
		}
	}
	if l.Kind == "" {
		return fmt.Errorf("line %d: layer has no kind (known: %v)", n.Line, layers.Kinds())
	}
	return nil
}

func (l LayerSpec) MarshalYAML() (any, error) {
	m := map[string]any{l.Kind: l.Params}
	if l.Name != "" {
		m["name"] = l.Name
	}
	if len(l.Inputs) > 0 {
		m["inputs"] = l.Inputs
	}
	return m, nil
}

// ZooFunc builds a zoo model for an input shape and a class count.
type ZooFunc func(input []int, classes int, opts *Options) (*Model, error)

// Options are a zoo model's settings from YAML. Reading one marks it used;
// Done reports the unused ones, so a misspelt option is an error.
type Options struct {
	values map[string]any
	used   map[string]bool
	err    error
}

func newOptions(m map[string]any) *Options {
	return &Options{values: m, used: map[string]bool{}}
}

func (o *Options) get(key string) (any, bool) {
	o.used[key] = true
	v, ok := o.values[key]
	return v, ok
}

// Int reads an integer option.
func (o *Options) Int(key string, def int) int {
	v, ok := o.get(key)
	if !ok {
		return def
	}
	n, isInt := v.(int)
	if !isInt && o.err == nil {
		o.err = fmt.Errorf("option %s: want an integer, got %v", key, v)
	}
	return n
}

// Float reads a number option.
func (o *Options) Float(key string, def float64) float64 {
	v, ok := o.get(key)
	if !ok {
		return def
	}
	switch n := v.(type) {
	case int:
		return float64(n)
	case float64:
		return n
	}
	if o.err == nil {
		o.err = fmt.Errorf("option %s: want a number, got %v", key, v)
	}
	return def
}

// Ints reads a list of integers; an empty list is allowed.
func (o *Options) Ints(key string, def []int) []int {
	v, ok := o.get(key)
	if !ok {
		return def
	}
	if ints, isInts := v.([]int); isInts {
		return ints
	}
	list, isList := v.([]any)
	out := make([]int, len(list))
	for i, e := range list {
		n, isInt := e.(int)
		isList = isList && isInt
		out[i] = n
	}
	if !isList {
		if o.err == nil {
			o.err = fmt.Errorf("option %s: want a list of integers like [6, 12, 18], got %v", key, v)
		}
		return def
	}
	return out
}

// Bool reads a boolean option.
func (o *Options) Bool(key string, def bool) bool {
	v, ok := o.get(key)
	if !ok {
		return def
	}
	b, isBool := v.(bool)
	if !isBool && o.err == nil {
		o.err = fmt.Errorf("option %s: want true or false, got %v", key, v)
	}
	return b
}

// String reads a string option that must be one of choices.
func (o *Options) String(key, def string, choices ...string) string {
	v, ok := o.get(key)
	if !ok {
		return def
	}
	str, _ := v.(string)
	for _, c := range choices {
		if str == c {
			return str
		}
	}
	if o.err == nil {
		o.err = fmt.Errorf("option %s: want one of %v, got %v", key, choices, v)
	}
	return def
}

// Done returns the first bad or unknown option.
func (o *Options) Done() error {
	if o.err != nil {
		return o.err
	}
	var unknown []string
	for k := range o.values {
		if !o.used[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("unknown options %v", unknown)
	}
	return nil
}

var zoo = map[string]ZooFunc{}

// RegisterZoo adds a named model to the zoo.
func RegisterZoo(name string, f ZooFunc) {
	if _, dup := zoo[name]; dup {
		panic("models: zoo entry registered twice: " + name)
	}
	zoo[name] = f
}

// ZooNames lists the zoo.
func ZooNames() []string {
	ns := make([]string, 0, len(zoo))
	for n := range zoo {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// FromZoo builds a zoo model with its default options.
func FromZoo(name string, input []int, classes int) (*Model, error) {
	return FromZooWith(name, input, classes, nil)
}

// FromZooWith builds a zoo model with options.
func FromZooWith(name string, input []int, classes int, options map[string]any) (*Model, error) {
	f, ok := zoo[name]
	if !ok {
		return nil, fmt.Errorf("unknown model %q (zoo: %v)", name, ZooNames())
	}
	opts := newOptions(options)
	m, err := f(input, classes, opts)
	if err != nil {
		return nil, fmt.Errorf("model %s: %v", name, err)
	}
	if err := opts.Done(); err != nil {
		return nil, fmt.Errorf("model %s: %v", name, err)
	}
	return m, nil
}

// Build makes the model the spec describes.
func (s Spec) Build() (*Model, error) {
	if len(s.Input) == 0 {
		return nil, fmt.Errorf("model %s: no input shape", s.Name)
	}
	if s.Zoo != "" {
		if len(s.Layers) > 0 {
			return nil, fmt.Errorf("model %s: give either zoo or layers, not both", s.Name)
		}
		m, err := FromZooWith(s.Zoo, s.Input, s.Classes, s.Options)
		if err != nil {
			return nil, err
		}
		if s.Name != "" {
			m.Name = s.Name
		}
		return m, nil
	}
	if len(s.Layers) == 0 {
		return nil, fmt.Errorf("model %s: no layers", s.Name)
	}
	if len(s.Options) > 0 {
		return nil, fmt.Errorf("model %s: options are for zoo models; a layer list takes none", s.Name)
	}
	f := NewFunctional(s.Name)
	byName := map[string]*Tensor{}
	prev := f.Input(s.Input...)
	byName[prev.Name] = prev
	for i, ls := range s.Layers {
		l, err := layers.FromYAML(ls.Kind, ls.Params)
		if err != nil {
			return nil, fmt.Errorf("model %s: layer %d: %v", s.Name, i+1, err)
		}
		ins := []*Tensor{prev}
		if len(ls.Inputs) > 0 {
			ins = ins[:0]
			for _, name := range ls.Inputs {
				t, ok := byName[name]
				if !ok {
					return nil, fmt.Errorf("model %s: layer %d (%s): unknown input %q", s.Name, i+1, ls.Kind, name)
				}
				ins = append(ins, t)
			}
		}
		prev = f.ApplyNamed(ls.Name, l, ins...)
		byName[prev.Name] = prev
	}
	m, err := f.Build(prev)
	if err != nil {
		return nil, err
	}
	if s.Classes > 0 {
		if got := m.Output.Shape[len(m.Output.Shape)-1]; got != s.Classes {
			return nil, fmt.Errorf("model %s: classes is %d but the last layer gives %d", s.Name, s.Classes, got)
		}
	}
	return m, nil
}

// SpecOf writes a model out as layers, so a saved model never depends on
// the zoo code that first built it.
func SpecOf(m *Model) (Spec, error) {
	s := Spec{Name: m.Name, Input: m.Input.Shape, Classes: m.Output.Shape[len(m.Output.Shape)-1]}
	var prev *Tensor = m.Input
	for _, n := range m.Nodes {
		if n.Layer == nil {
			continue
		}
		params, err := layers.ToYAML(n.Layer)
		if err != nil {
			return Spec{}, err
		}
		var node yaml.Node
		if err := node.Encode(params); err != nil {
			return Spec{}, err
		}
		ls := LayerSpec{Kind: n.Layer.Kind(), Name: n.Name, Params: &node}
		if len(n.Inputs) != 1 || n.Inputs[0] != prev {
			for _, in := range n.Inputs {
				ls.Inputs = append(ls.Inputs, in.Name)
			}
		}
		s.Layers = append(s.Layers, ls)
		prev = n
	}
	return s, nil
}
