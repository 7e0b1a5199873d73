package keras

import (
	"fmt"
	"strings"

	"github.com/tfrun/tfrun/savedmodels/h5"
)

// LoadH5 reads a Keras 2.x model saved whole to HDF5 (model.save("x.h5")):
// the root attribute model_config holds the config, and the group
// model_weights holds one group per layer, whose attribute weight_names
// lists its datasets in Keras' weight order.
func LoadH5(path string) (*Model, error) {
	f, err := h5.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cfg, err := f.StringsAttr("/", "model_config")
	if err != nil {
		if !f.HasAttr("/", "model_config") {
			return nil, fmt.Errorf("keras: %s has no model_config: a weights-only file (save_weights), which needs the model's Python code", path)
		}
		return nil, err
	}
	if len(cfg) != 1 {
		return nil, fmt.Errorf("keras: %s: model_config holds %d strings, want 1", path, len(cfg))
	}
	m, err := parseModelJSON(cfg[0])
	if err != nil {
		return nil, fmt.Errorf("keras: %s: %v", path, err)
	}
	m.Format, m.Path = "HDF5", path
	if v, err := f.StringsAttr("/", "keras_version"); err == nil && len(v) == 1 {
		m.KerasVersion = v[0]
	}
	if err := loadH5Weights(f, m); err != nil {
		return nil, fmt.Errorf("keras: %s: %v", path, err)
	}
	return m, nil
}

// chunkedAttr reads an attribute that Keras may have split, when it
// exceeded HDF5's 64 KB header limit, into name0, name1, ...
func chunkedAttr(f *h5.File, obj, name string) ([]string, error) {
	if f.HasAttr(obj, name) {
		return f.StringsAttr(obj, name)
	}
	var all []string
	for i := 0; f.HasAttr(obj, fmt.Sprint(name, i)); i++ {
		part, err := f.StringsAttr(obj, fmt.Sprint(name, i))
		if err != nil {
			return nil, err
		}
		all = append(all, part...)
	}
	if all == nil {
		return nil, fmt.Errorf("%s has no attribute %s", obj, name)
	}
	return all, nil
}

func loadH5Weights(f *h5.File, m *Model) error {
	names, err := chunkedAttr(f, "/model_weights", "layer_names")
	if err != nil {
		return err
	}
	for _, name := range names {
		group := "/model_weights/" + name
		wnames, err := chunkedAttr(f, group, "weight_names")
		if err != nil {
			return err
		}
		if len(wnames) == 0 {
			continue
		}
		l := m.layerHere(name)
		if l == nil {
			return fmt.Errorf("model_weights has weights for layer %q, which the model config lacks", name)
		}
		for _, wn := range wnames {
			data, shape, err := f.ReadFloat32(group + "/" + wn)
			if err != nil {
				return err
			}
			target := l
			if l.Model != nil {
				// A nested model keeps all its layers' weights in its own
				// group, named sublayer/weight:0.
				parts := strings.Split(wn, "/")
				if len(parts) < 2 {
					return fmt.Errorf("weight %s of nested model %q does not name its layer", wn, name)
				}
				if target = l.Model.Layer(parts[len(parts)-2]); target == nil {
					return fmt.Errorf("weight %s of nested model %q names no layer of it", wn, name)
				}
			}
			target.Weights = append(target.Weights, h5Weight(target, wn, group, shape, data))
		}
	}
	return nil
}

// nonTrainable names the weights Keras never trains; .h5 files do not say.
var nonTrainable = map[string]bool{"moving_mean": true, "moving_variance": true}

func h5Weight(l *Layer, wn, group string, shape []int, data []float32) Weight {
	short := wn[strings.LastIndex(wn, "/")+1:]
	short, _, _ = strings.Cut(short, ":")
	trainable := !nonTrainable[short]
	if t, ok := l.Config["trainable"].(bool); ok && !t {
		trainable = false
	}
	return Weight{Name: short, Key: group + "/" + wn, Shape: shape, Trainable: trainable, Data: data}
}
