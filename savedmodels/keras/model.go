// Package keras reads Keras 2.x models without TensorFlow: the layer
// configs and the weights of each layer, from a SavedModel folder (with its
// keras_metadata.pb) or from an .h5 file, into one Go description that an
// engine can rebuild the model from.
package keras

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Model is a Keras model: its layers in config order, each with its weights.
type Model struct {
	Name string
	// ClassName is "Sequential", "Functional" or "Model" (older Keras).
	ClassName    string
	KerasVersion string
	Format       string // "SavedModel" or "HDF5"
	Path         string
	// Layers are in config order. A Sequential model's config may start
	// with an InputLayer; Keras does not count it among model.layers.
	Layers []*Layer
	// Inputs and Outputs are a functional model's graph ends.
	Inputs, Outputs []Ref
	// InputShape is the input's shape with the batch dimension, -1 where
	// unknown (e.g. [-1, 64, 64, 1]); nil when the config does not say.
	InputShape []int
}

// Layer is one layer of a model.
type Layer struct {
	Name      string
	ClassName string
	// Config is the layer's Keras config, as decoded JSON (numbers are
	// float64). Keras' tuple wrappers {"class_name": "__tuple__", "items":
	// [...]} are replaced by their items.
	Config map[string]any
	// Inbound lists, for a functional model, the inputs of each call of
	// the layer (Keras' inbound_nodes).
	Inbound [][]Ref
	// Weights are in Keras' order (e.g. kernel then bias; gamma, beta,
	// moving_mean, moving_variance).
	Weights []Weight
	// Model is set when the layer is itself a model (a nested Sequential
	// or functional model); its layers then hold the weights.
	Model *Model
}

// Ref names a tensor of a functional model: output Tensor of call Node of
// Layer.
type Ref struct {
	Layer  string
	Node   int
	Tensor int
}

// Weight is one variable of a layer.
type Weight struct {
	Name string // "kernel", "bias", "gamma", "moving_mean", ...
	// Key is where the weight was read: its checkpoint key in a
	// SavedModel, or its dataset path in an .h5 file.
	Key       string
	Shape     []int
	Trainable bool
	// Data holds the values in row-major order; Keras kernels are HWIO
	// and dense kernels [in, out].
	Data []float32
}

// Load reads a Keras model from a SavedModel folder or an .h5 file.
func Load(path string) (*Model, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("keras: %w", err)
	}
	if st.IsDir() {
		return LoadSavedModel(path)
	}
	return LoadH5(path)
}

// Params counts the model's weights, all of them and the trainable ones.
func (m *Model) Params() (total, trainable int) {
	for _, l := range m.Layers {
		t, tr := l.Params()
		total += t
		trainable += tr
	}
	return total, trainable
}

// Params counts the layer's weights (with those of a nested model's
// layers), all of them and the trainable ones.
func (l *Layer) Params() (total, trainable int) {
	if l.Model != nil {
		return l.Model.Params()
	}
	for _, w := range l.Weights {
		n := 1
		for _, d := range w.Shape {
			n *= d
		}
		total += n
		if w.Trainable {
			trainable += n
		}
	}
	return total, trainable
}

// Layer finds a layer by name, in nested models too.
func (m *Model) Layer(name string) *Layer {
	for _, l := range m.Layers {
		if l.Name == name {
			return l
		}
		if l.Model != nil {
			if found := l.Model.Layer(name); found != nil {
				return found
			}
		}
	}
	return nil
}

// parseModelJSON decodes a model config: {"class_name": ..., "config": ...}.
func parseModelJSON(data string) (*Model, error) {
	var top map[string]any
	if err := json.Unmarshal([]byte(data), &top); err != nil {
		return nil, fmt.Errorf("model config is not JSON: %v", err)
	}
	class, _ := top["class_name"].(string)
	raw := untuple(top["config"])
	if list, ok := raw.([]any); ok {
		// Keras before 2.2 wrote a Sequential config as the bare layer list.
		raw = map[string]any{"layers": list}
	}
	cfg, _ := raw.(map[string]any)
	if cfg == nil {
		return nil, fmt.Errorf("model config of class %q has no config: a subclassed model, whose layers only its Python code knows", class)
	}
	return modelFromConfig(class, cfg)
}

// modelFromConfig builds the layer list of a Sequential or functional
// model's config.
func modelFromConfig(class string, cfg map[string]any) (*Model, error) {
	m := &Model{ClassName: class}
	m.Name, _ = cfg["name"].(string)
	list, ok := cfg["layers"].([]any)
	if !ok {
		return nil, fmt.Errorf("model %q (%s) has no layer list: a subclassed model, whose layers only its Python code knows", m.Name, class)
	}
	seen := map[string]bool{}
	for i, item := range list {
		entry, ok := item.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("model %q: layer %d is not an object", m.Name, i)
		}
		l := &Layer{}
		l.ClassName, _ = entry["class_name"].(string)
		l.Config, _ = entry["config"].(map[string]any)
		if l.ClassName == "" || l.Config == nil {
			return nil, fmt.Errorf("model %q: layer %d has no class_name or config", m.Name, i)
		}
		l.Name, _ = l.Config["name"].(string)
		if n, ok := entry["name"].(string); ok {
			l.Name = n
		}
		if l.Name == "" {
			return nil, fmt.Errorf("model %q: layer %d (%s) has no name", m.Name, i, l.ClassName)
		}
		if seen[l.Name] {
			return nil, fmt.Errorf("model %q: two layers are named %q", m.Name, l.Name)
		}
		seen[l.Name] = true
		var err error
		if l.Inbound, err = inboundNodes(entry["inbound_nodes"]); err != nil {
			return nil, fmt.Errorf("model %q: layer %q: %v", m.Name, l.Name, err)
		}
		if _, nested := l.Config["layers"]; nested {
			if l.Model, err = modelFromConfig(l.ClassName, l.Config); err != nil {
				return nil, err
			}
		}
		m.Layers = append(m.Layers, l)
	}
	var err error
	if m.Inputs, err = refList(cfg["input_layers"]); err != nil {
		return nil, fmt.Errorf("model %q: input_layers: %v", m.Name, err)
	}
	if m.Outputs, err = refList(cfg["output_layers"]); err != nil {
		return nil, fmt.Errorf("model %q: output_layers: %v", m.Name, err)
	}
	m.InputShape = m.inputShape()
	return m, nil
}

// inputShape takes the batch_input_shape of the model's input layer, or
// of a Sequential model's first layer; Keras ignores that entry on the
// other layers, and it can be stale there.
func (m *Model) inputShape() []int {
	if len(m.Layers) == 0 {
		return nil
	}
	first := m.Layers[0]
	if len(m.Inputs) > 0 {
		if first = m.layerHere(m.Inputs[0].Layer); first == nil {
			return nil
		}
	}
	s, ok := intsOrNull(first.Config["batch_input_shape"])
	if !ok {
		return nil
	}
	return s
}

func (m *Model) layerHere(name string) *Layer {
	for _, l := range m.Layers {
		if l.Name == name {
			return l
		}
	}
	return nil
}

// inboundNodes decodes Keras 2's inbound_nodes: a list of calls, each a
// list of [layer, node, tensor, kwargs] entries.
func inboundNodes(v any) ([][]Ref, error) {
	if v == nil {
		return nil, nil
	}
	calls, ok := v.([]any)
	if !ok {
		return nil, errors.New("inbound_nodes is not a list")
	}
	var out [][]Ref
	for _, c := range calls {
		refs, err := refList(c)
		if err != nil {
			return nil, fmt.Errorf("inbound_nodes: %v", err)
		}
		out = append(out, refs)
	}
	return out, nil
}

// refList decodes a list of [layer, node, tensor, ...] entries; Keras
// writes a single output as one bare entry.
func refList(v any) ([]Ref, error) {
	if v == nil {
		return nil, nil
	}
	items, ok := v.([]any)
	if !ok {
		return nil, errors.New("not a list")
	}
	if len(items) > 0 {
		if _, bare := items[0].(string); bare {
			items = []any{items}
		}
	}
	refs := make([]Ref, 0, len(items))
	for _, it := range items {
		e, ok := it.([]any)
		if !ok || len(e) < 3 {
			return nil, fmt.Errorf("entry %v is not [layer, node, tensor]", it)
		}
		name, ok1 := e[0].(string)
		node, ok2 := e[1].(float64)
		tensor, ok3 := e[2].(float64)
		if !ok1 || !ok2 || !ok3 {
			return nil, fmt.Errorf("entry %v is not [layer, node, tensor]", it)
		}
		refs = append(refs, Ref{Layer: name, Node: int(node), Tensor: int(tensor)})
	}
	return refs, nil
}

// untuple replaces Keras' JSON wrappers for tuples and shapes by plain
// lists, throughout a decoded value.
func untuple(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if c, _ := x["class_name"].(string); (c == "__tuple__" || c == "TensorShape") && len(x) == 2 {
			if items, ok := x["items"].([]any); ok {
				return untuple(items)
			}
		}
		for k, e := range x {
			x[k] = untuple(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = untuple(e)
		}
		return x
	}
	return v
}

// Int reads an integer from the layer's config.
func (l *Layer) Int(key string) (int, bool) {
	f, ok := l.Config[key].(float64)
	return int(f), ok && f == float64(int(f))
}

// Ints reads a list of n integers from the config; a single integer is
// repeated n times, as Keras does for kernel sizes and strides.
func (l *Layer) Ints(key string, n int) ([]int, bool) {
	if v, ok := l.Int(key); ok {
		out := make([]int, n)
		for i := range out {
			out[i] = v
		}
		return out, true
	}
	s, ok := intsOrNull(l.Config[key])
	if !ok || len(s) != n {
		return nil, false
	}
	for _, d := range s {
		if d < 0 {
			return nil, false
		}
	}
	return s, true
}

// String reads a string from the config.
func (l *Layer) String(key string) string {
	s, _ := l.Config[key].(string)
	return s
}

// intsOrNull decodes a list of integers, null (or -1) standing for an
// unknown size.
func intsOrNull(v any) ([]int, bool) {
	items, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]int, len(items))
	for i, it := range items {
		switch x := it.(type) {
		case nil:
			out[i] = -1
		case float64:
			if x != float64(int(x)) || x < -1 {
				return nil, false
			}
			out[i] = int(x)
		default:
			return nil, false
		}
	}
	return out, true
}

// FormatShape writes a shape as Keras prints it, with None for unknown.
func FormatShape(s []int) string {
	if s == nil {
		return "?"
	}
	parts := make([]string, len(s))
	for i, d := range s {
		if d < 0 {
			parts[i] = "None"
		} else {
			parts[i] = fmt.Sprint(d)
		}
	}
	if len(parts) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
