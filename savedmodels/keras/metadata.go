package keras

import (
	"errors"
	"fmt"
	"os"

	"github.com/tfrun/tfrun/savedmodels/internal/wire"
	"google.golang.org/protobuf/encoding/protowire"
)

// MetadataNode is one node of keras_metadata.pb (Keras' SavedMetadata
// message): a Keras object of the SavedModel's object graph, with its JSON.
type MetadataNode struct {
	NodeID int
	// NodePath is the object's path from the root, e.g.
	// "root.layer_with_weights-0"; it doubles as the checkpoint key prefix.
	NodePath   string
	Identifier string // e.g. "_tf_keras_layer", "_tf_keras_sequential"
	Metadata   string // JSON
}

// ReadMetadata reads a keras_metadata.pb file.
func ReadMetadata(path string) ([]MetadataNode, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keras: %w", err)
	}
	nodes, err := ParseMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("keras: %s: %v", path, err)
	}
	return nodes, nil
}

// SavedMetadata's field numbers (keras/protobuf/saved_metadata.proto).
const (
	fieldNodes      = 1
	fieldNodeID     = 2
	fieldNodePath   = 3
	fieldIdentifier = 4
	fieldMetadata   = 5
)

// ParseMetadata decodes the bytes of keras_metadata.pb.
func ParseMetadata(data []byte) ([]MetadataNode, error) {
	var nodes []MetadataNode
	err := wire.Each(data, func(f wire.Field) error {
		if f.Num != fieldNodes {
			return nil
		}
		if f.Type != protowire.BytesType {
			return errors.New("nodes field has the wrong wire type")
		}
		var n MetadataNode
		err := wire.Each(f.Bytes, func(g wire.Field) error {
			switch {
			case g.Num == fieldNodeID && g.Type == protowire.VarintType:
				n.NodeID = int(int32(g.Varint))
			case g.Num == fieldNodePath && g.Type == protowire.BytesType:
				n.NodePath = string(g.Bytes)
			case g.Num == fieldIdentifier && g.Type == protowire.BytesType:
				n.Identifier = string(g.Bytes)
			case g.Num == fieldMetadata && g.Type == protowire.BytesType:
				n.Metadata = string(g.Bytes)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("node %d: %v", len(nodes), err)
		}
		nodes = append(nodes, n)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("not a Keras metadata protocol buffer (truncated or corrupt?): %v", err)
	}
	if len(nodes) == 0 {
		return nil, errors.New("no Keras metadata nodes")
	}
	return nodes, nil
}
