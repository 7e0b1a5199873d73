// Package importer rebuilds Keras models in tfrun's engine: each Keras layer
// becomes the tfrun layer that computes the same function, nested models are
// inlined, and the Keras weights become the model's variables ("layer/weight").
// What tfrun cannot compute exactly is an error that names the layer; such
// models run on the TensorFlow runtime instead.
package importer

import (
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/tfrun/tfrun/internal/dims"
	"github.com/tfrun/tfrun/layers"
	"github.com/tfrun/tfrun/models"
	"github.com/tfrun/tfrun/savedmodels/keras"
)

// tensorFlowHint is where an error sends models tfrun cannot rebuild.
const tensorFlowHint = "run the SavedModel on the TensorFlow runtime instead (--engine tensorflow, in a tfrun built with -tags tensorflow)"

// Imported is a Keras model rebuilt in tfrun.
type Imported struct {
	Model *models.Model
	// Values holds the weights of the rebuilt layers by path "layer/weight":
	// Model's variables, and those of layers its output does not need.
	Values map[string]*tensors.Tensor
	Keras  *keras.Model
}

// Load reads a Keras SavedModel folder or .h5 file and rebuilds it.
func Load(path string) (*Imported, error) {
	km, err := keras.Load(path)
	if err != nil {
		return nil, err
	}
	imp, err := Keras(km)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return imp, nil
}

// Keras rebuilds a Keras model with its weights.
func Keras(km *keras.Model) (*Imported, error) {
	if len(km.InputShape) < 2 || km.InputShape[0] != -1 {
		return nil, fmt.Errorf("model %q records no input shape [batch, ...] (got %v)", km.Name, km.InputShape)
	}
	in := km.InputShape[1:]
	if slices.Contains(in, -1) {
		return nil, fmt.Errorf("model %q takes inputs of shape %s with unknown sizes; tfrun builds models for fixed sizes", km.Name, keras.FormatShape(km.InputShape))
	}
	b := &builder{f: models.NewFunctional(km.Name), used: map[string]bool{}, values: map[string]*tensors.Tensor{}}
	x := b.f.Input(in...)
	b.used[x.Name] = true
	out, err := b.model(km, []*models.Tensor{x}, "")
	if err != nil {
		return nil, err
	}
	m, err := b.f.Build(out)
	if err != nil {
		return nil, err
	}
	return &Imported{Model: m, Values: b.values, Keras: km}, nil
}

// builder accumulates the inlined layers of a model and its nested models.
type builder struct {
	f      *models.Functional
	used   map[string]bool
	values map[string]*tensors.Tensor
}

// model adds the layers of km (a Sequential or functional model) called on
// inputs, and returns its output. Names of nested models' layers get the
// model's name as a prefix only where they clash.
func (b *builder) model(km *keras.Model, inputs []*models.Tensor, prefix string) (*models.Tensor, error) {
	if len(km.Inputs) == 0 {
		return b.sequential(km, inputs, prefix)
	}
	return b.functional(km, inputs, prefix)
}

func (b *builder) sequential(km *keras.Model, inputs []*models.Tensor, prefix string) (*models.Tensor, error) {
	if len(inputs) != 1 {
		return nil, fmt.Errorf("Sequential model %q is called on %d inputs", km.Name, len(inputs))
	}
	x := inputs[0]
	for _, l := range km.Layers {
		if l.ClassName == "InputLayer" {
			if err := checkInputLayer(l); err != nil {
				return nil, err
			}
			continue
		}
		var err error
		if x, err = b.layer(l, []*models.Tensor{x}, l.Name, prefix); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// functional adds the calls of a functional model's layers in an order in
// which every call's inputs already exist (Keras lists layers, not calls).
func (b *builder) functional(km *keras.Model, inputs []*models.Tensor, prefix string) (*models.Tensor, error) {
	if len(km.Inputs) != len(inputs) {
		return nil, fmt.Errorf("model %q has %d inputs, called on %d", km.Name, len(km.Inputs), len(inputs))
	}
	if len(km.Outputs) != 1 {
		return nil, fmt.Errorf("model %q has %d outputs; tfrun models have one", km.Name, len(km.Outputs))
	}
	type callKey struct {
		layer string
		node  int
	}
	done := map[callKey]*models.Tensor{}
	for i, r := range km.Inputs {
		done[callKey{r.Layer, r.Node}] = inputs[i]
	}
	type call struct {
		l    *keras.Layer
		node int
		refs []keras.Ref
	}
	var pending []call
	for _, l := range km.Layers {
		if l.ClassName == "InputLayer" {
			if err := checkInputLayer(l); err != nil {
				return nil, err
			}
			continue
		}
		if len(l.Inbound) > 1 && hasWeights(l) {
			return nil, fmt.Errorf("layer %q (%s) is called %d times, sharing its weights; tfrun models call each layer with weights once", l.Name, l.ClassName, len(l.Inbound))
		}
		for node, refs := range l.Inbound {
			pending = append(pending, call{l, node, refs})
		}
	}
	for len(pending) > 0 {
		var waiting []call
		for _, c := range pending {
			ins := make([]*models.Tensor, 0, len(c.refs))
			for _, r := range c.refs {
				if r.Tensor != 0 {
					return nil, fmt.Errorf("layer %q takes output %d of layer %q; tfrun layers have one output", c.l.Name, r.Tensor, r.Layer)
				}
				if t := done[callKey{r.Layer, r.Node}]; t != nil {
					ins = append(ins, t)
				}
			}
			if len(ins) < len(c.refs) {
				waiting = append(waiting, c)
				continue
			}
			base := c.l.Name
			if c.node > 0 {
				// A weightless layer called again is a copy of it.
				base = fmt.Sprintf("%s_call%d", c.l.Name, c.node)
			}
			out, err := b.layer(c.l, ins, base, prefix)
			if err != nil {
				return nil, err
			}
			done[callKey{c.l.Name, c.node}] = out
		}
		if len(waiting) == len(pending) {
			return nil, fmt.Errorf("model %q: layer %q waits for inputs that no layer computes", km.Name, waiting[0].l.Name)
		}
		pending = waiting
	}
	out := km.Outputs[0]
	t := done[callKey{out.Layer, out.Node}]
	if t == nil || out.Tensor != 0 {
		return nil, fmt.Errorf("model %q: its output %v is not computed by its layers", km.Name, out)
	}
	return t, nil
}

func checkInputLayer(l *keras.Layer) error {
	for _, k := range []string{"sparse", "ragged"} {
		if v, _ := l.Config[k].(bool); v {
			return fmt.Errorf("input %q is %s; tfrun takes dense tensors", l.Name, k)
		}
	}
	return nil
}

func hasWeights(l *keras.Layer) bool {
	total, _ := l.Params()
	return total > 0
}

// layer adds one Keras layer (or nested model) called on ins, named base
// (its Keras name, or that of its repeated call).
func (b *builder) layer(l *keras.Layer, ins []*models.Tensor, base, prefix string) (*models.Tensor, error) {
	if l.Model != nil {
		return b.model(l.Model, ins, b.name(base, prefix)+".")
	}
	shapes := make([][]int, len(ins))
	for i, t := range ins {
		shapes[i] = t.Shape
	}
	steps, err := convert(l, shapes)
	if err != nil {
		return nil, fmt.Errorf("layer %q (%s): %v", l.Name, l.ClassName, err)
	}
	// The layer's own name goes to its last step, which others refer to;
	// the first step holds the weights.
	names := make([]string, len(steps))
	for i, s := range steps[:len(steps)-1] {
		names[i] = b.name(base+"_"+s.Kind(), prefix)
	}
	names[len(steps)-1] = b.name(base, prefix)
	x := ins
	for i, s := range steps {
		out := b.f.ApplyNamed(names[i], s, x...)
		if out.Shape == nil {
			// The functional builder reports its error from Build.
			return out, nil
		}
		x = []*models.Tensor{out}
	}
	return x[0], b.weights(l, steps[0], shapes, names[0])
}

// name gives a layer a name no other layer of the model has: its own, or
// with the nested models' prefix where that clashes.
func (b *builder) name(name, prefix string) string {
	for _, c := range []string{name, prefix + name} {
		if !b.used[c] {
			b.used[c] = true
			return c
		}
	}
	for i := 2; ; i++ {
		c := fmt.Sprintf("%s%s_%d", prefix, name, i)
		if !b.used[c] {
			b.used[c] = true
			return c
		}
	}
}

// weights moves a Keras layer's weights to the tfrun layer's variables.
func (b *builder) weights(l *keras.Layer, tl layers.Layer, in [][]int, name string) error {
	want := tl.Weights(in)
	have := map[string]keras.Weight{}
	for _, w := range l.Weights {
		have[w.Name] = w
	}
	for _, w := range want {
		kw, ok := have[w.Name]
		if !ok {
			return fmt.Errorf("layer %q (%s): the Keras model has no weight %q", l.Name, l.ClassName, w.Name)
		}
		if !slices.Equal(kw.Shape, w.Shape) || len(kw.Data) != dims.Product(w.Shape) {
			return fmt.Errorf("layer %q (%s): weight %q is %v in Keras, the layer needs %v", l.Name, l.ClassName, w.Name, kw.Shape, w.Shape)
		}
		b.values[name+"/"+w.Name] = tensors.FromFlatDataAndDimensions(slices.Clone(kw.Data), w.Shape...)
		delete(have, w.Name)
	}
	for n := range have {
		return fmt.Errorf("layer %q (%s): Keras weight %q has no place in the rebuilt layer", l.Name, l.ClassName, n)
	}
	return nil
}
