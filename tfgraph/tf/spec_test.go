package tf

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	tspb "github.com/galeone/tensorflow/tensorflow/go/core/framework/tensor_shape_go_proto"
	typb "github.com/galeone/tensorflow/tensorflow/go/core/framework/types_go_proto"
	corepb "github.com/galeone/tensorflow/tensorflow/go/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

const halfPlusTwo = "../../testdata/tf_saved_models/half_plus_two_v2/00000123"

func TestSignaturesHalfPlusTwo(t *testing.T) {
	serve, train, err := Signatures(halfPlusTwo, "")
	if err != nil {
		t.Fatal(err)
	}
	if train != nil {
		t.Errorf("half_plus_two has no %s, got %+v", TrainSignature, train)
	}
	if serve.Key != DefaultSignature || serve.Input.Name != "x:0" || serve.Output.Name != "y:0" ||
		!slices.Equal(serve.Input.Shape, []int{1}) || !slices.Equal(serve.Output.Shape, []int{1}) {
		t.Errorf("serving signature %+v, want x:0 [1] → y:0 [1]", serve)
	}
	_, _, err = Signatures(halfPlusTwo, "classify_x_to_y")
	if err == nil || !strings.Contains(err.Error(), "DT_STRING") {
		t.Errorf("a tf.Example signature: error %v, want one naming DT_STRING", err)
	}
	_, _, err = Signatures(halfPlusTwo, "nope")
	if err == nil || !strings.Contains(err.Error(), "regress_x_to_y") {
		t.Errorf("a missing signature: error %v, want the list of those there", err)
	}
}

func TestSignaturesKerasSavedModel(t *testing.T) {
	dir := "../../../shared/data/keras_savedmodels/smile_bn_cnn"
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("skipping: %s is absent (../shared/data is not here)", dir)
	}
	serve, _, err := Signatures(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(serve.Input.Shape, []int{64, 64, 1}) || !slices.Equal(serve.Output.Shape, []int{1}) ||
		serve.Input.Name != "serving_default_zero_padding2d_3_input:0" {
		t.Errorf("serving signature %+v", serve)
	}
}

func tensorInfo(name string, dt typb.DataType, dims ...int64) *corepb.TensorInfo {
	shape := &tspb.TensorShapeProto{}
	for _, d := range dims {
		shape.Dim = append(shape.Dim, &tspb.TensorShapeProto_Dim{Size: d})
	}
	return &corepb.TensorInfo{Encoding: &corepb.TensorInfo_Name{Name: name}, Dtype: dt, TensorShape: shape}
}

// writeSavedModel writes a saved_model.pb that has only the signatures given
// (what the reader looks at) into a new folder.
func writeSavedModel(t *testing.T, sigs map[string]*corepb.SignatureDef) string {
	t.Helper()
	sm := &corepb.SavedModel{MetaGraphs: []*corepb.MetaGraphDef{{
		MetaInfoDef:  &corepb.MetaGraphDef_MetaInfoDef{Tags: []string{ServeTag}},
		SignatureDef: sigs,
	}}}
	b, err := proto.Marshal(sm)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "saved_model.pb"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestTrainingSignature reads the signatures export_trainable.py writes: x,
// integer labels y, scalar loss and accuracy.
func TestTrainingSignature(t *testing.T) {
	serve := &corepb.SignatureDef{
		Inputs:  map[string]*corepb.TensorInfo{"x": tensorInfo("serving_default_x:0", typb.DataType_DT_FLOAT, -1, 28, 28, 1)},
		Outputs: map[string]*corepb.TensorInfo{"output": tensorInfo("StatefulPartitionedCall:0", typb.DataType_DT_FLOAT, -1, 10)},
	}
	train := &corepb.SignatureDef{
		Inputs: map[string]*corepb.TensorInfo{
			"x": tensorInfo("train_step_x:0", typb.DataType_DT_FLOAT, -1, 28, 28, 1),
			"y": tensorInfo("train_step_y:0", typb.DataType_DT_INT32, -1),
		},
		Outputs: map[string]*corepb.TensorInfo{
			"loss":     tensorInfo("StatefulPartitionedCall_1:1", typb.DataType_DT_FLOAT),
			"accuracy": tensorInfo("StatefulPartitionedCall_1:0", typb.DataType_DT_FLOAT),
		},
	}
	dir := writeSavedModel(t, map[string]*corepb.SignatureDef{DefaultSignature: serve, TrainSignature: train})
	sv, tr, err := Signatures(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sv.Output.Shape, []int{10}) || tr == nil {
		t.Fatalf("serving %+v, training %+v", sv, tr)
	}
	if tr.X.Name != "train_step_x:0" || tr.Y.Name != "train_step_y:0" || !slices.Equal(tr.X.Shape, []int{28, 28, 1}) || len(tr.Y.Shape) != 0 {
		t.Errorf("train inputs %+v, %+v", tr.X, tr.Y)
	}
	if len(tr.Outputs) != 2 || tr.Outputs[0].Key != "accuracy" || tr.Outputs[1].Key != "loss" {
		t.Errorf("train outputs %+v, want accuracy and loss in key order", tr.Outputs)
	}

	train.Inputs["y"] = tensorInfo("train_step_y:0", typb.DataType_DT_FLOAT, -1)
	dir = writeSavedModel(t, map[string]*corepb.SignatureDef{DefaultSignature: serve, TrainSignature: train})
	if _, _, err := Signatures(dir, ""); err == nil || !strings.Contains(err.Error(), "DT_INT32") {
		t.Errorf("float labels: error %v, want one asking for DT_INT32", err)
	}
	serve.Inputs["x"] = tensorInfo("serving_default_x:0", typb.DataType_DT_FLOAT, -1, -1, -1, 3)
	dir = writeSavedModel(t, map[string]*corepb.SignatureDef{DefaultSignature: serve})
	if _, _, err := Signatures(dir, ""); err == nil || !strings.Contains(err.Error(), "every size") {
		t.Errorf("unknown image size: error %v", err)
	}
}
