package keras

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tfrun/tfrun/savedmodels"
	"github.com/tfrun/tfrun/savedmodels/bundle"
)

// LoadSavedModel reads a Keras model from a SavedModel folder written by
// TensorFlow 2.5 or later: the layer configs from keras_metadata.pb, and
// each layer's weights from the variables bundle.
//
// A layer's metadata node names its place in the object graph (node_id)
// and its path from the root (node_path, e.g. root.layer_with_weights-0).
// The object graph lists the layer's variables, in Keras' weight order; the
// path plus the variable's name gives its checkpoint key, e.g.
// layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE. Optimizer slots
// (.OPTIMIZER_SLOT/) hang off the variables, not the layers, so they are
// never picked up.
func LoadSavedModel(dir string) (*Model, error) {
	sm, err := savedmodels.Load(dir)
	if err != nil {
		return nil, err
	}
	metaPath := filepath.Join(dir, "keras_metadata.pb")
	if _, err := os.Stat(metaPath); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("keras: %s has no keras_metadata.pb: not a Keras SavedModel, or one written before TensorFlow 2.5", dir)
	}
	nodes, err := ReadMetadata(metaPath)
	if err != nil {
		return nil, err
	}
	m, err := ModelFromMetadata(nodes)
	if err != nil {
		return nil, fmt.Errorf("keras: %s: %v", metaPath, err)
	}
	m.Format, m.Path = "SavedModel", dir
	mg, err := sm.MetaGraph("serve")
	if err != nil {
		mg, _ = sm.MetaGraph()
	}
	if mg.ObjectGraph == nil {
		return nil, fmt.Errorf("keras: %s: the SavedModel has no object graph, so its variables cannot be matched to layers", dir)
	}
	vars, err := sm.Variables()
	if err != nil {
		return nil, err
	}
	defer vars.Close()
	if err := attachWeights(m, nodes, mg.ObjectGraph, vars); err != nil {
		return nil, fmt.Errorf("keras: %s: %v", dir, err)
	}
	return m, nil
}

// ModelFromMetadata builds the model's layers (without weights) from the
// metadata nodes: the root node's JSON holds the whole model config.
func ModelFromMetadata(nodes []MetadataNode) (*Model, error) {
	var root *MetadataNode
	for i := range nodes {
		if nodes[i].NodePath == "root" {
			root = &nodes[i]
			break
		}
	}
	if root == nil {
		return nil, errors.New("no root node")
	}
	if !strings.HasPrefix(root.Identifier, "_tf_keras_") {
		return nil, fmt.Errorf("the root object is a %q, not a Keras model", root.Identifier)
	}
	var meta map[string]any
	if err := json.Unmarshal([]byte(root.Metadata), &meta); err != nil {
		return nil, fmt.Errorf("root metadata is not JSON: %v", err)
	}
	class, _ := meta["class_name"].(string)
	cfg, ok := untuple(meta["config"]).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the root %s has no config: a subclassed model, whose layers only its Python code knows", class)
	}
	m, err := modelFromConfig(class, cfg)
	if err != nil {
		return nil, err
	}
	m.KerasVersion, _ = meta["keras_version"].(string)
	if m.InputShape == nil {
		m.InputShape, _ = intsOrNull(untuple(meta["build_input_shape"]))
	}
	return m, nil
}

// attachWeights reads each layer's variables from the bundle.
func attachWeights(m *Model, nodes []MetadataNode, og *savedmodels.ObjectGraph, vars *bundle.Bundle) error {
	// Layer names are unique within a model, not across nested ones, so
	// nodes are matched by their parent's path and their name.
	byPath := map[string]*MetadataNode{}
	for i := range nodes {
		byPath[nodes[i].NodePath] = &nodes[i]
	}
	return attachModel(m, "root", byPath, og, vars)
}

func attachModel(m *Model, path string, byPath map[string]*MetadataNode, og *savedmodels.ObjectGraph, vars *bundle.Bundle) error {
	children := map[string]*MetadataNode{}
	prefix := path + "."
	for p, n := range byPath {
		rest, ok := strings.CutPrefix(p, prefix)
		if !ok || strings.Contains(rest, ".") || !(strings.HasPrefix(rest, "layer-") || strings.HasPrefix(rest, "layer_with_weights-")) {
			continue
		}
		var meta struct {
			Name string `json:"name"`
		}
		if json.Unmarshal([]byte(n.Metadata), &meta) == nil && meta.Name != "" {
			children[meta.Name] = n
		}
	}
	for _, l := range m.Layers {
		node, ok := children[l.Name]
		if !ok {
			// An input layer of a Sequential model is not tracked.
			continue
		}
		if l.Model != nil {
			if err := attachModel(l.Model, node.NodePath, byPath, og, vars); err != nil {
				return err
			}
			continue
		}
		if err := attachLayer(l, node, og, vars); err != nil {
			return fmt.Errorf("layer %q: %v", l.Name, err)
		}
	}
	return nil
}

func attachLayer(l *Layer, node *MetadataNode, og *savedmodels.ObjectGraph, vars *bundle.Bundle) error {
	if node.NodeID < 0 || node.NodeID >= len(og.Nodes) {
		return fmt.Errorf("metadata names object %d, but the object graph has %d", node.NodeID, len(og.Nodes))
	}
	keyPrefix := strings.ReplaceAll(strings.TrimPrefix(node.NodePath, "root."), ".", "/")
	layerTrainable := true
	if t, ok := l.Config["trainable"].(bool); ok {
		layerTrainable = t
	}
	for _, c := range og.Nodes[node.NodeID].Children {
		if c.NodeID < 0 || c.NodeID >= len(og.Nodes) {
			return fmt.Errorf("object graph child %q points to missing object %d", c.LocalName, c.NodeID)
		}
		v := og.Nodes[c.NodeID].Variable
		if v == nil {
			continue
		}
		key := keyPrefix + "/" + c.LocalName + "/.ATTRIBUTES/VARIABLE_VALUE"
		t, err := vars.Read(key)
		if err != nil {
			return err
		}
		w := Weight{Name: c.LocalName, Key: key, Shape: t.Shape, Trainable: v.Trainable && layerTrainable}
		switch {
		case t.Float32 != nil:
			w.Data = t.Float32
		case t.Float64 != nil:
			w.Data = make([]float32, len(t.Float64))
			for i, x := range t.Float64 {
				w.Data[i] = float32(x)
			}
		default:
			return fmt.Errorf("weight %s has dtype %s; layers need floating-point weights", key, t.DType)
		}
		if t.DType != v.DType || !sameShape(t.Shape, v.Shape) {
			return fmt.Errorf("weight %s is %s %v in the checkpoint but %s %v in the object graph", key, t.DType, t.Shape, v.DType, v.Shape)
		}
		l.Weights = append(l.Weights, w)
	}
	return nil
}

// sameShape compares a checkpoint shape with the object graph's, whose
// unknown dimensions (-1) or unknown rank (nil) match anything.
func sameShape(s []int, graph []int64) bool {
	if graph == nil {
		return true
	}
	if len(s) != len(graph) {
		return false
	}
	for i, d := range graph {
		if d >= 0 && int64(s[i]) != d {
			return false
		}
	}
	return true
}
