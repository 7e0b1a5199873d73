// Package savedmodels reads TensorFlow SavedModel folders without TensorFlow:
// the meta graphs, their tags and signatures, and the variables bundle.
// Subpackages read the pieces: bundle (variables), keras (Keras metadata and
// .h5 files) and h5 (HDF5 through libhdf5).
package savedmodels

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tfrun/tfrun/savedmodels/bundle"
	"github.com/tfrun/tfrun/savedmodels/internal/wire"
	"google.golang.org/protobuf/encoding/protowire"
)

// SavedModel is the decoded saved_model.pb (or .pbtxt) of a folder.
type SavedModel struct {
	Dir           string      `json:"dir"`
	SchemaVersion int64       `json:"schema_version"`
	MetaGraphs    []MetaGraph `json:"meta_graphs"`
}

// MetaGraph is one tagged graph of a SavedModel.
type MetaGraph struct {
	Tags                 []string `json:"tags"`
	TensorFlowVersion    string   `json:"tensorflow_version"`
	TensorFlowGitVersion string   `json:"tensorflow_git_version"`
	// Signatures are sorted by key.
	Signatures []Signature `json:"signatures"`
	// ObjectGraph is the TF2 object graph (nil in TF1 models); Keras
	// metadata refers to its node ids.
	ObjectGraph *ObjectGraph `json:"-"`
}

// ObjectGraph is the part of a TF2 SavedObjectGraph that maps objects to
// their variables: Nodes[0] is the root.
type ObjectGraph struct {
	Nodes []Object
}

// Object is one node of the object graph.
type Object struct {
	Children []ObjectRef
	// Variable is set when the object is a variable.
	Variable *Variable
	// Identifier names a user object's kind, e.g. "_tf_keras_layer".
	Identifier string
}

// ObjectRef is a named edge of the object graph.
type ObjectRef struct {
	NodeID    int
	LocalName string
}

// Variable is a SavedVariable. Shape is nil when its rank is unknown.
type Variable struct {
	Name      string
	DType     bundle.DType
	Shape     []int64
	Trainable bool
}

// Signature is one SignatureDef.
type Signature struct {
	Key     string       `json:"key"`
	Method  string       `json:"method"`
	Inputs  []TensorInfo `json:"inputs"`
	Outputs []TensorInfo `json:"outputs"`
}

// TensorInfo is a signature's input or output. Shape is nil when the rank
// is unknown; unknown dimensions are -1.
type TensorInfo struct {
	Key         string  `json:"key"`
	Name        string  `json:"name"`
	DType       string  `json:"dtype"`
	Shape       []int64 `json:"shape"`
	UnknownRank bool    `json:"unknown_rank,omitempty"`
}

// ShapeString formats the shape as saved_model_cli does.
func (ti TensorInfo) ShapeString() string {
	if ti.UnknownRank {
		return "unknown_rank"
	}
	parts := make([]string, len(ti.Shape))
	for i, d := range ti.Shape {
		parts[i] = fmt.Sprint(d)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// Load reads dir/saved_model.pb.
func Load(dir string) (*SavedModel, error) {
	path := filepath.Join(dir, "saved_model.pb")
	data, err := os.ReadFile(path)
	if err != nil {
		if _, errText := os.Stat(path + "txt"); errText == nil {
			return nil, fmt.Errorf("savedmodel: %s: only the text form saved_model.pbtxt is there, which tfrun does not read", dir)
		}
		return nil, fmt.Errorf("savedmodel: %s is not a SavedModel folder: %w", dir, err)
	}
	sm, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("savedmodel: %s: %v", path, err)
	}
	sm.Dir = dir
	return sm, nil
}

// Parse decodes the bytes of a saved_model.pb: a SavedModel message,
// saved_model_schema_version = 1, meta_graphs = 2.
func Parse(data []byte) (*SavedModel, error) {
	sm := &SavedModel{}
	err := wire.Each(data, func(f wire.Field) error {
		switch {
		case f.Num == 1 && f.Type == protowire.VarintType:
			sm.SchemaVersion = int64(f.Varint)
		case f.Num == 2 && f.Type == protowire.BytesType:
			mg, err := parseMetaGraph(f.Bytes)
			if err != nil {
				return fmt.Errorf("meta graph %d: %v", len(sm.MetaGraphs), err)
			}
			sm.MetaGraphs = append(sm.MetaGraphs, mg)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("not a SavedModel protocol buffer (truncated or corrupt?): %v", err)
	}
	if len(sm.MetaGraphs) == 0 {
		return nil, fmt.Errorf("no meta graphs: not a SavedModel, or an empty one")
	}
	return sm, nil
}

// parseMetaGraph decodes a MetaGraphDef: meta_info_def = 1,
// signature_def = 5 (a map), object_graph_def = 7. The graph itself is
// skipped.
func parseMetaGraph(b []byte) (MetaGraph, error) {
	var mg MetaGraph
	err := wire.Each(b, func(f wire.Field) error {
		if f.Type != protowire.BytesType {
			return nil
		}
		switch f.Num {
		case 1:
			return parseMetaInfo(f.Bytes, &mg)
		case 5:
			key, value, err := wire.MapEntry(f.Bytes)
			if err != nil {
				return err
			}
			sig, err := parseSignature(key, value)
			if err != nil {
				return fmt.Errorf("signature %q: %v", key, err)
			}
			mg.Signatures = append(mg.Signatures, sig)
		case 7:
			og, err := parseObjectGraph(f.Bytes)
			if err != nil {
				return fmt.Errorf("object graph: %v", err)
			}
			mg.ObjectGraph = og
		}
		return nil
	})
	sort.Slice(mg.Signatures, func(i, j int) bool { return mg.Signatures[i].Key < mg.Signatures[j].Key })
	return mg, err
}

// parseMetaInfo decodes a MetaInfoDef: tags = 4, tensorflow_version = 5,
// tensorflow_git_version = 6.
func parseMetaInfo(b []byte, mg *MetaGraph) error {
	return wire.Each(b, func(f wire.Field) error {
		if f.Type != protowire.BytesType {
			return nil
		}
		switch f.Num {
		case 4:
			mg.Tags = append(mg.Tags, string(f.Bytes))
		case 5:
			mg.TensorFlowVersion = string(f.Bytes)
		case 6:
			mg.TensorFlowGitVersion = string(f.Bytes)
		}
		return nil
	})
}

// parseSignature decodes a SignatureDef: inputs = 1 and outputs = 2 (maps
// of TensorInfo), method_name = 3.
func parseSignature(key string, b []byte) (Signature, error) {
	sig := Signature{Key: key}
	err := wire.Each(b, func(f wire.Field) error {
		if f.Type != protowire.BytesType {
			return nil
		}
		switch f.Num {
		case 1, 2:
			k, v, err := wire.MapEntry(f.Bytes)
			if err != nil {
				return err
			}
			ti, err := parseTensorInfo(k, v)
			if err != nil {
				return fmt.Errorf("tensor %q: %v", k, err)
			}
			if f.Num == 1 {
				sig.Inputs = append(sig.Inputs, ti)
			} else {
				sig.Outputs = append(sig.Outputs, ti)
			}
		case 3:
			sig.Method = string(f.Bytes)
		}
		return nil
	})
	for _, list := range [][]TensorInfo{sig.Inputs, sig.Outputs} {
		sort.Slice(list, func(i, j int) bool { return list[i].Key < list[j].Key })
	}
	return sig, err
}

// parseTensorInfo decodes a TensorInfo: name = 1, dtype = 2,
// tensor_shape = 3, coo_sparse = 4, composite_tensor = 5. A missing shape
// is an unknown one.
func parseTensorInfo(key string, b []byte) (TensorInfo, error) {
	ti := TensorInfo{Key: key, UnknownRank: true}
	err := wire.Each(b, func(f wire.Field) error {
		switch {
		case f.Num == 1 && f.Type == protowire.BytesType:
			ti.Name = string(f.Bytes)
		case f.Num == 2 && f.Type == protowire.VarintType:
			ti.DType = bundle.DType(int32(f.Varint)).String()
		case f.Num == 3 && f.Type == protowire.BytesType:
			dims, known, err := wire.Shape(f.Bytes)
			if err != nil {
				return err
			}
			ti.Shape, ti.UnknownRank = dims, !known
			if known && dims == nil {
				ti.Shape = []int64{}
			}
		case f.Num == 4:
			ti.Name = "(sparse tensor)"
		case f.Num == 5:
			ti.Name = "(composite tensor)"
		}
		return nil
	})
	if ti.DType == "" {
		ti.DType = bundle.DTInvalid.String()
	}
	return ti, err
}

// parseObjectGraph decodes a SavedObjectGraph's nodes = 1; of each
// SavedObject, children = 1 (node_id = 1, local_name = 2), user_object = 4
// (identifier = 1) and variable = 7.
func parseObjectGraph(b []byte) (*ObjectGraph, error) {
	og := &ObjectGraph{}
	err := wire.Each(b, func(f wire.Field) error {
		if f.Num != 1 || f.Type != protowire.BytesType {
			return nil
		}
		var obj Object
		err := wire.Each(f.Bytes, func(o wire.Field) error {
			if o.Type != protowire.BytesType {
				return nil
			}
			switch o.Num {
			case 1:
				var ref ObjectRef
				err := wire.Each(o.Bytes, func(c wire.Field) error {
					switch {
					case c.Num == 1 && c.Type == protowire.VarintType:
						ref.NodeID = int(int32(c.Varint))
					case c.Num == 2 && c.Type == protowire.BytesType:
						ref.LocalName = string(c.Bytes)
					}
					return nil
				})
				obj.Children = append(obj.Children, ref)
				return err
			case 4:
				return wire.Each(o.Bytes, func(u wire.Field) error {
					if u.Num == 1 && u.Type == protowire.BytesType {
						obj.Identifier = string(u.Bytes)
					}
					return nil
				})
			case 7:
				v, err := parseVariable(o.Bytes)
				obj.Variable = v
				return err
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("node %d: %v", len(og.Nodes), err)
		}
		og.Nodes = append(og.Nodes, obj)
		return nil
	})
	return og, err
}

// parseVariable decodes a SavedVariable: dtype = 1, shape = 2,
// trainable = 3, name = 6.
func parseVariable(b []byte) (*Variable, error) {
	v := &Variable{}
	err := wire.Each(b, func(f wire.Field) error {
		switch {
		case f.Num == 1 && f.Type == protowire.VarintType:
			v.DType = bundle.DType(int32(f.Varint))
		case f.Num == 2 && f.Type == protowire.BytesType:
			dims, known, err := wire.Shape(f.Bytes)
			if err != nil {
				return err
			}
			if known && dims == nil {
				dims = []int64{}
			}
			v.Shape = dims
		case f.Num == 3 && f.Type == protowire.VarintType:
			v.Trainable = f.Varint != 0
		case f.Num == 6 && f.Type == protowire.BytesType:
			v.Name = string(f.Bytes)
		}
		return nil
	})
	return v, err
}

// MetaGraph returns the meta graph that has all the given tags ("serve" is
// what servers load); with no tags, the first one.
func (sm *SavedModel) MetaGraph(tags ...string) (*MetaGraph, error) {
	for i := range sm.MetaGraphs {
		have := map[string]bool{}
		for _, t := range sm.MetaGraphs[i].Tags {
			have[t] = true
		}
		all := true
		for _, t := range tags {
			all = all && have[t]
		}
		if all {
			return &sm.MetaGraphs[i], nil
		}
	}
	return nil, fmt.Errorf("savedmodel: %s has no meta graph tagged %s", sm.Dir, strings.Join(tags, ","))
}

// Variables opens the variables bundle. A model without variables (a
// constant graph) has no variables.index: the error then wraps
// os.ErrNotExist.
func (sm *SavedModel) Variables() (*bundle.Bundle, error) {
	return bundle.Open(filepath.Join(sm.Dir, "variables", "variables"))
}
