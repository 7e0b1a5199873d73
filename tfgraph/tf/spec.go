// Package tf runs TensorFlow SavedModels on the TensorFlow runtime
// (libtensorflow): a serving signature on batches, and a train_step
// signature where the SavedModel exports one (scripts/export_trainable.py
// writes such models). It uses the Go bindings that tfgo is built on and
// pins (github.com/galeone/tensorflow/tensorflow/go) directly: tfgo's Model
// panics on every error and hides the session, which the saver needs.
//
// The runtime is in the binary only with the build tag tensorflow, which
// needs libtensorflow to link. What this file holds, reading the
// signatures a SavedModel declares, is pure Go and always built.
package tf

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tfrun/tfrun/savedmodels"
)

// ErrNotBuilt is the error of every runtime call in a binary built without
// the tag.
var ErrNotBuilt = errors.New("this tfrun was built without TensorFlow: build it with -tags tensorflow where libtensorflow is installed " +
	"(scripts/install-libtensorflow.sh), or use the image of Dockerfile.gpu")

const (
	// ServeTag tags the meta graph servers load.
	ServeTag = "serve"
	// DefaultSignature is the serving signature Keras and tf.saved_model
	// write.
	DefaultSignature = "serving_default"
	// TrainSignature is the training step export_trainable.py exports: it
	// takes x and integer labels y, updates the variables, and returns the
	// batch's loss and accuracy.
	TrainSignature = "train_step"
)

// Tensor is one end of a signature: its graph tensor and per-example shape.
type Tensor struct {
	Key   string // the signature's name for it
	Name  string // graph tensor, "op:index"
	DType string // e.g. DT_FLOAT
	Shape []int  // per example, without the batch axis
}

// Serving is a signature that maps one float input batch to one float
// output batch.
type Serving struct {
	Key           string
	Input, Output Tensor
}

// Training is the train_step signature: inputs x (float) and y (int32
// labels), scalar outputs such as loss and accuracy.
type Training struct {
	X, Y    Tensor
	Outputs []Tensor
}

// Signatures reads the serving signature key (DefaultSignature when
// empty) and, when there is one, the training signature of the SavedModel
// in dir.
func Signatures(dir, key string) (*Serving, *Training, error) {
	sm, err := savedmodels.Load(dir)
	if err != nil {
		return nil, nil, err
	}
	mg, err := sm.MetaGraph(ServeTag)
	if err != nil {
		return nil, nil, err
	}
	if key == "" {
		key = DefaultSignature
	}
	var keys []string
	var serve, train *savedmodels.Signature
	for i := range mg.Signatures {
		s := &mg.Signatures[i]
		keys = append(keys, s.Key)
		switch s.Key {
		case key:
			serve = s
		case TrainSignature:
			train = s
		}
	}
	if serve == nil {
		return nil, nil, fmt.Errorf("%s has no signature %q (it has %s)", dir, key, strings.Join(keys, ", "))
	}
	sv, err := serving(serve)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: signature %q: %v", dir, key, err)
	}
	if train == nil {
		return sv, nil, nil
	}
	tr, err := training(train)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: signature %q: %v", dir, TrainSignature, err)
	}
	return sv, tr, nil
}

func serving(s *savedmodels.Signature) (*Serving, error) {
	if len(s.Inputs) != 1 || len(s.Outputs) != 1 {
		return nil, fmt.Errorf("it has %d inputs and %d outputs; tfrun runs signatures with one of each", len(s.Inputs), len(s.Outputs))
	}
	in, err := batched(s.Inputs[0], "DT_FLOAT")
	if err != nil {
		return nil, err
	}
	out, err := batched(s.Outputs[0], "DT_FLOAT")
	if err != nil {
		return nil, err
	}
	return &Serving{Key: s.Key, Input: in, Output: out}, nil
}

func training(s *savedmodels.Signature) (*Training, error) {
	t := &Training{}
	for _, ti := range s.Inputs {
		var err error
		switch ti.Key {
		case "x":
			t.X, err = batched(ti, "DT_FLOAT")
		case "y":
			t.Y, err = batched(ti, "DT_INT32")
		default:
			err = fmt.Errorf("unexpected input %q (want x and y)", ti.Key)
		}
		if err != nil {
			return nil, err
		}
	}
	if t.X.Name == "" || t.Y.Name == "" {
		return nil, errors.New("it needs inputs x and y")
	}
	for _, ti := range s.Outputs {
		if ti.UnknownRank || len(ti.Shape) != 0 {
			return nil, fmt.Errorf("output %q is %s, want a scalar", ti.Key, ti.ShapeString())
		}
		t.Outputs = append(t.Outputs, Tensor{Key: ti.Key, Name: ti.Name, DType: ti.DType})
	}
	slices.SortFunc(t.Outputs, func(a, b Tensor) int { return strings.Compare(a.Key, b.Key) })
	return t, nil
}

// batched checks a tensor is a batch [-1, known sizes...] of dtype.
func batched(ti savedmodels.TensorInfo, dtype string) (Tensor, error) {
	if ti.DType != dtype {
		return Tensor{}, fmt.Errorf("%q is %s, want %s", ti.Key, ti.DType, dtype)
	}
	if ti.UnknownRank || len(ti.Shape) == 0 || ti.Shape[0] != -1 {
		return Tensor{}, fmt.Errorf("%q has shape %s, want a batch (-1, ...)", ti.Key, ti.ShapeString())
	}
	shape := make([]int, len(ti.Shape)-1)
	for i, d := range ti.Shape[1:] {
		if d < 0 {
			return Tensor{}, fmt.Errorf("%q has shape %s; tfrun needs every size but the batch's", ti.Key, ti.ShapeString())
		}
		shape[i] = int(d)
	}
	return Tensor{Key: ti.Key, Name: ti.Name, DType: ti.DType, Shape: shape}, nil
}
