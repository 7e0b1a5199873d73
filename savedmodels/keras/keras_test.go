package keras

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	shared       = "../../../shared/data/"
	smileMeta    = "../../testdata/keras/smile_bn_cnn/keras_metadata.pb"
	kerasLikeH5  = "../../testdata/h5/keras_like.h5"
	smileDir     = shared + "keras_savedmodels/smile_bn_cnn"
	potatoDir    = shared + "keras_savedmodels/potato_disease_cnn"
	courseMNIST  = shared + "course/mnist.h5"
	sharedAbsent = "skipping: %s is absent (../shared/data is not here)"
)

func needShared(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Skipf(sharedAbsent, path)
	}
}

func shapeOf(m *Model, layer string) string {
	return FormatShape(m.OutputShapes()[layer])
}

func TestMetadataWithoutWeights(t *testing.T) {
	nodes, err := ReadMetadata(smileMeta)
	if err != nil {
		t.Fatal(err)
	}
	if nodes[0].NodePath != "root" || nodes[0].Identifier != "_tf_keras_sequential" {
		t.Errorf("first node %+v", nodes[0])
	}
	paths := map[string]int{}
	for _, n := range nodes {
		paths[n.NodePath] = n.NodeID
	}
	if paths["root.layer_with_weights-1"] != 3 || paths["root.layer-3"] != 4 {
		t.Errorf("node ids by path: %v", paths)
	}
	m, err := ModelFromMetadata(nodes)
	if err != nil {
		t.Fatal(err)
	}
	if m.Name != "sequential_4" || m.ClassName != "Sequential" || m.KerasVersion != "2.7.0" || fmt.Sprint(m.InputShape) != "[-1 64 64 1]" {
		t.Errorf("model %s %s %s %v", m.Name, m.ClassName, m.KerasVersion, m.InputShape)
	}
	var classes []string
	for _, l := range m.Layers {
		classes = append(classes, l.ClassName)
	}
	if got := strings.Join(classes, " "); got != "InputLayer ZeroPadding2D Conv2D BatchNormalization ReLU MaxPooling2D Flatten Dense" {
		t.Errorf("layers: %s", got)
	}
	want := map[string]string{
		"zero_padding2d_3": "(None, 70, 70, 1)", "conv2d_3": "(None, 64, 64, 64)", "batch_normalization_3": "(None, 64, 64, 64)",
		"max_pooling2d_3": "(None, 32, 32, 64)", "flatten_3": "(None, 65536)", "dense_3": "(None, 1)",
	}
	for layer, s := range want {
		if got := shapeOf(m, layer); got != s {
			t.Errorf("%s output %s, want %s", layer, got, s)
		}
	}
	conv := m.Layer("conv2d_3")
	if k, ok := conv.Ints("kernel_size", 2); !ok || k[0] != 7 || conv.String("padding") != "valid" {
		t.Errorf("conv config: kernel %v, padding %q (tuples must be plain lists)", k, conv.String("padding"))
	}
}

func TestSmileSavedModel(t *testing.T) {
	needShared(t, smileDir)
	m, err := Load(smileDir)
	if err != nil {
		t.Fatal(err)
	}
	total, trainable := m.Params()
	if total != 68993 || trainable != 68865 {
		t.Errorf("params %d (%d trainable), want 68,993 (68,865)", total, trainable)
	}
	bn := m.Layer("batch_normalization_3")
	var names []string
	for _, w := range bn.Weights {
		names = append(names, fmt.Sprintf("%s:%v", w.Name, w.Trainable))
	}
	if got := strings.Join(names, " "); got != "gamma:true beta:true moving_mean:false moving_variance:false" {
		t.Errorf("batch norm weights %s", got)
	}
	k := m.Layer("conv2d_3").Weights[0]
	if k.Name != "kernel" || fmt.Sprint(k.Shape) != "[7 7 1 64]" || len(k.Data) != 7*7*64 || k.Key != "layer_with_weights-0/kernel/.ATTRIBUTES/VARIABLE_VALUE" {
		t.Errorf("conv kernel %s %v %d values, key %s", k.Name, k.Shape, len(k.Data), k.Key)
	}
	for _, w := range bn.Weights {
		if w.Name == "moving_variance" {
			for _, v := range w.Data {
				if !(v > 0) {
					t.Fatalf("moving variance %v is not positive: weights misread", v)
				}
			}
		}
	}
	if m.Format != "SavedModel" || m.Path != smileDir {
		t.Errorf("format %s path %s", m.Format, m.Path)
	}
}

// potato_disease_cnn nests a Sequential (Resizing, Rescaling) as its first
// layer, and its bundle also holds Adam's slots.
func TestPotatoSavedModel(t *testing.T) {
	needShared(t, potatoDir)
	m, err := Load(potatoDir)
	if err != nil {
		t.Fatal(err)
	}
	if total, trainable := m.Params(); total != 183747 || trainable != 183747 {
		t.Errorf("params %d (%d trainable), want 183,747", total, trainable)
	}
	nested := m.Layer("sequential")
	if nested == nil || nested.Model == nil || len(nested.Model.Layers) != 2 || nested.Model.Layers[0].ClassName != "Resizing" {
		t.Fatalf("nested Sequential: %+v", nested)
	}
	if got := shapeOf(m, "conv2d_31"); got != "(None, 254, 254, 32)" {
		t.Errorf("first conv output %s", got)
	}
	if got := shapeOf(m, "flatten_5"); got != "(None, 256)" {
		t.Errorf("flatten output %s", got)
	}
	if fmt.Sprint(m.InputShape) != "[-1 256 256 3]" {
		t.Errorf("input shape %v; the stale batch_input_shape of the first Conv2D must not win", m.InputShape)
	}
	weights := 0
	for _, l := range m.Layers {
		for _, w := range l.Weights {
			weights++
			if strings.Contains(w.Key, "OPTIMIZER_SLOT") {
				t.Errorf("optimizer slot %s taken as a weight", w.Key)
			}
		}
	}
	if weights != 16 {
		t.Errorf("%d weights, want 16 (8 kernels, 8 biases)", weights)
	}
	rows := m.SummaryRows()
	if len(rows) != 16 || rows[0].Name != "sequential" || rows[15].Params != 195 {
		t.Errorf("summary rows %+v", rows)
	}
}

func TestKerasLikeH5(t *testing.T) {
	m, err := Load(kerasLikeH5)
	if err != nil {
		t.Fatal(err)
	}
	if m.Format != "HDF5" || m.KerasVersion != "2.3.1" || m.Name != "tiny" {
		t.Errorf("model %s %s %s", m.Format, m.KerasVersion, m.Name)
	}
	dense := m.Layer("dense")
	if len(dense.Weights) != 2 || fmt.Sprint(dense.Weights[0].Data) != "[1 2 3 4 5 6]" || fmt.Sprint(dense.Weights[0].Shape) != "[3 2]" ||
		fmt.Sprint(dense.Weights[1].Data) != "[0.5 -0.5]" {
		t.Errorf("dense weights %+v", dense.Weights)
	}
	inner := m.Layer("inner_dense")
	if len(inner.Weights) != 2 || fmt.Sprint(inner.Weights[0].Data) != "[1 -1]" || inner.Weights[1].Name != "bias" {
		t.Errorf("nested dense weights %+v", inner.Weights)
	}
	bn := m.Layer("bn")
	var got []string
	for _, w := range bn.Weights {
		got = append(got, fmt.Sprintf("%s=%v/%v", w.Name, w.Data, w.Trainable))
	}
	if s := strings.Join(got, " "); s != "gamma=[2]/true beta=[1]/true moving_mean=[0.5]/false moving_variance=[4]/false" {
		t.Errorf("batch norm: %s", s)
	}
	if total, trainable := m.Params(); total != 15 || trainable != 13 {
		t.Errorf("params %d/%d, want 15/13", total, trainable)
	}
	if shapeOf(m, "inner") != "(None, 1)" || shapeOf(m, "act") != "(None, 1)" {
		t.Errorf("shapes %v", m.OutputShapes())
	}
	var b strings.Builder
	if err := m.Summary(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`Model: "tiny" (Sequential, Keras 2.3.1, HDF5)`, "inner (Sequential)", "Total params: 15", "Non-trainable params: 2"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "(InputLayer)") {
		t.Errorf("a Sequential summary lists its InputLayer:\n%s", b.String())
	}
}

func TestCourseMNISTH5(t *testing.T) {
	needShared(t, courseMNIST)
	m, err := Load(courseMNIST)
	if err != nil {
		t.Fatal(err)
	}
	var classes []string
	for _, l := range m.Layers {
		act := l.String("activation")
		classes = append(classes, l.ClassName+":"+act)
	}
	if got := strings.Join(classes, " "); got != "Dense:linear Dense:linear Activation:relu Dense:linear Activation:softmax" {
		t.Errorf("layers %s", got)
	}
	if total, _ := m.Params(); total != 52650 {
		t.Errorf("params %d, want 52,650", total)
	}
	if fmt.Sprint(m.InputShape) != "[-1 784]" || shapeOf(m, "activation_12") != "(None, 10)" {
		t.Errorf("input %v, output %s", m.InputShape, shapeOf(m, "activation_12"))
	}
	b := m.Layer("dense_24").Weights[1]
	if b.Name != "bias" || b.Data[0] != float32(-0.09981079399585724) {
		t.Errorf("dense_24 bias %s %v", b.Name, b.Data)
	}
}

func TestFunctionalConfig(t *testing.T) {
	cfg := `{"class_name": "Functional", "config": {"name": "net", "layers": [
	 {"class_name": "InputLayer", "name": "img", "config": {"name": "img", "batch_input_shape": [null, 32, 32, 3]}, "inbound_nodes": []},
	 {"class_name": "Conv2D", "name": "c1", "config": {"name": "c1", "filters": 8, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same", "dilation_rate": 1}, "inbound_nodes": [[["img", 0, 0, {}]]]},
	 {"class_name": "DepthwiseConv2D", "name": "dw", "config": {"name": "dw", "kernel_size": 3, "strides": 1, "padding": "valid", "dilation_rate": [2, 2], "depth_multiplier": 2}, "inbound_nodes": [[["c1", 0, 0, {}]]]},
	 {"class_name": "ZeroPadding2D", "name": "zp", "config": {"name": "zp", "padding": [[1, 1], [2, 2]]}, "inbound_nodes": [[["dw", 0, 0, {}]]]},
	 {"class_name": "SeparableConv2D", "name": "sep", "config": {"name": "sep", "filters": 8, "kernel_size": 3, "strides": 1, "padding": "same", "dilation_rate": 1}, "inbound_nodes": [[["c1", 0, 0, {}]]]},
	 {"class_name": "Concatenate", "name": "cat", "config": {"name": "cat", "axis": -1}, "inbound_nodes": [[["sep", 0, 0, {}], ["c1", 0, 0, {}]]]},
	 {"class_name": "Conv2DTranspose", "name": "up", "config": {"name": "up", "filters": 4, "kernel_size": [3, 3], "strides": [2, 2], "padding": "same", "dilation_rate": [1, 1], "output_padding": null}, "inbound_nodes": [[["cat", 0, 0, {}]]]},
	 {"class_name": "UpSampling2D", "name": "us", "config": {"name": "us", "size": [2, 2], "interpolation": "bilinear"}, "inbound_nodes": [[["cat", 0, 0, {}]]]},
	 {"class_name": "Cropping2D", "name": "crop", "config": {"name": "crop", "cropping": [[8, 8], [8, 8]]}, "inbound_nodes": [[["us", 0, 0, {}]]]},
	 {"class_name": "Add", "name": "add", "config": {"name": "add"}, "inbound_nodes": [[["up", 0, 0, {}], ["up", 0, 0, {}]]]},
	 {"class_name": "AveragePooling2D", "name": "pool", "config": {"name": "pool", "pool_size": [2, 2], "strides": null, "padding": "valid"}, "inbound_nodes": [[["add", 0, 0, {}]]]},
	 {"class_name": "Reshape", "name": "rs", "config": {"name": "rs", "target_shape": [-1, 4]}, "inbound_nodes": [[["pool", 0, 0, {}]]]},
	 {"class_name": "GlobalAveragePooling2D", "name": "gap", "config": {"name": "gap"}, "inbound_nodes": [[["crop", 0, 0, {}]]]},
	 {"class_name": "Lambda", "name": "lam", "config": {"name": "lam"}, "inbound_nodes": [[["gap", 0, 0, {}]]]},
	 {"class_name": "Dense", "name": "out", "config": {"name": "out", "units": 10}, "inbound_nodes": [[["lam", 0, 0, {}]]]}
	], "input_layers": [["img", 0, 0]], "output_layers": [["out", 0, 0]]}}`
	m, err := parseModelJSON(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Inputs) != 1 || m.Inputs[0].Layer != "img" || m.Outputs[0] != (Ref{"out", 0, 0}) {
		t.Errorf("inputs %v outputs %v", m.Inputs, m.Outputs)
	}
	if in := m.Layer("cat").Inbound; len(in) != 1 || len(in[0]) != 2 || in[0][1].Layer != "c1" {
		t.Errorf("cat inbound %v", in)
	}
	want := map[string]string{
		"img": "(None, 32, 32, 3)", "c1": "(None, 16, 16, 8)", "dw": "(None, 12, 12, 16)", "zp": "(None, 14, 16, 16)",
		"sep": "(None, 16, 16, 8)", "cat": "(None, 16, 16, 16)", "up": "(None, 32, 32, 4)", "us": "(None, 32, 32, 16)",
		"crop": "(None, 16, 16, 16)", "add": "(None, 32, 32, 4)", "pool": "(None, 16, 16, 4)", "rs": "(None, 256, 4)",
		"gap": "(None, 16)", "lam": "?", "out": "?",
	}
	for layer, s := range want {
		if got := shapeOf(m, layer); got != s {
			t.Errorf("%s: %s, want %s", layer, got, s)
		}
	}
	rows := m.SummaryRows()
	if rows[0].ClassName != "InputLayer" {
		t.Errorf("a functional summary starts with its input layer, got %+v", rows[0])
	}
}

func TestOldSequentialConfig(t *testing.T) {
	m, err := parseModelJSON(`{"class_name": "Sequential", "config": [{"class_name": "Dense", "config": {"name": "d", "units": 3, "batch_input_shape": [null, 5]}}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Layers) != 1 || fmt.Sprint(m.InputShape) != "[-1 5]" || shapeOf(m, "d") != "(None, 3)" {
		t.Errorf("Keras 2.1 config: %+v", m)
	}
}

func TestBadConfigs(t *testing.T) {
	cases := map[string]string{
		`not json`:                  "not JSON",
		`{"class_name": "MyModel"}`: "subclassed",
		`{"class_name": "Sequential", "config": {}}`: "no layer list",
		`{"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"name": "a"}}, {"class_name": "Dense", "config": {"name": "a"}}]}}`: "two layers",
		`{"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {}}]}}`:                                                              "no name",
		`{"class_name": "Functional", "config": {"layers": [{"class_name": "Dense", "config": {"name": "a"}, "inbound_nodes": [[["x", "0", 0]]]}]}}`:               "not [layer, node, tensor]",
	}
	for cfg, want := range cases {
		if _, err := parseModelJSON(cfg); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", cfg, err, want)
		}
	}
}

func TestDamagedInputs(t *testing.T) {
	data, err := os.ReadFile(smileMeta)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "keras_metadata.pb")
	for _, n := range []int{1, 100, len(data) / 2, len(data) - 1} {
		os.WriteFile(p, data[:n], 0o644)
		if _, err := ReadMetadata(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("metadata cut to %d bytes: %v", n, err)
		}
	}
	if _, err := Load(filepath.Join(dir, "absent")); err == nil || !os.IsNotExist(unwrap(err)) {
		t.Errorf("absent path: %v", err)
	}
	if _, err := LoadSavedModel(dir); err == nil || !strings.Contains(err.Error(), "saved_model.pb") {
		t.Errorf("folder without saved_model.pb: %v", err)
	}
	h := filepath.Join(dir, "weights_only.h5")
	src, err := os.ReadFile("../../testdata/h5/earliest.h5")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(h, src, 0o644)
	if _, err := LoadH5(h); err == nil || !strings.Contains(err.Error(), "no model_config") {
		t.Errorf("h5 without model_config: %v", err)
	}
	kl, _ := os.ReadFile(kerasLikeH5)
	os.WriteFile(h, kl[:len(kl)*3/4], 0o644)
	if _, err := LoadH5(h); err == nil || !strings.Contains(err.Error(), h) {
		t.Errorf("truncated h5: %v", err)
	}
}

// A SavedModel whose bundle lost bytes fails, naming the shard.
func TestTruncatedWeights(t *testing.T) {
	needShared(t, smileDir)
	dir := t.TempDir()
	for _, f := range []string{"saved_model.pb", "keras_metadata.pb", "variables/variables.index", "variables/variables.data-00000-of-00001"} {
		data, err := os.ReadFile(filepath.Join(smileDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(f, "variables/variables.data") {
			data = data[:100000] // inside the dense kernel
		}
		os.MkdirAll(filepath.Join(dir, "variables"), 0o755)
		os.WriteFile(filepath.Join(dir, f), data, 0o644)
	}
	if _, err := LoadSavedModel(dir); err == nil || !strings.Contains(err.Error(), "variables.data-00000-of-00001") {
		t.Errorf("a cut data shard: %v", err)
	}
}

func unwrap(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}
