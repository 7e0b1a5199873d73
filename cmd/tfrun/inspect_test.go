package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	halfPlusTwoDir = "../../testdata/tf_saved_models/half_plus_two/00000123"
	sharedModels   = "../../../shared/data/keras_savedmodels/"
	courseH5       = "../../../shared/data/course/mnist.h5"
)

func needSharedPath(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Stat(p); err != nil {
		t.Skipf("skipping: %s is absent (../shared/data is not here)", p)
	}
}

// inspectJSON runs inspect --json and decodes its output.
func inspectJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	var out map[string]any
	runJSON(t, &out, "inspect", "--json", path)
	return out
}

func TestInspectHalfPlusTwo(t *testing.T) {
	r := run(t, nil, "inspect", halfPlusTwoDir)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"MetaGraphDef with tag-set: 'serve' contains the following SignatureDefs:",
		"signature_def['serving_default']:",
		"    inputs['x'] tensor_info:\n        dtype: DT_FLOAT\n        shape: (-1, 1)\n        name: x:0",
		"    outputs['y'] tensor_info:\n        dtype: DT_FLOAT\n        shape: (-1, 1)\n        name: y:0",
		"  Method name is: tensorflow/serving/predict",
		"        dtype: DT_STRING\n        shape: unknown_rank\n        name: tf_example:0",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, v := range []string{"a  DT_FLOAT  ()  = 0.5", "b  DT_FLOAT  ()  = 2", "c  DT_FLOAT  ()  = 3"} {
		if !strings.Contains(r.stdout, v) {
			t.Errorf("variables lack %q:\n%s", v, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "Model:") {
		t.Error("a non-Keras SavedModel got a Keras summary")
	}
	out := inspectJSON(t, halfPlusTwoDir)
	vars := out["variables"].([]any)
	want := map[string]float64{"a": 0.5, "b": 2, "c": 3}
	for _, v := range vars {
		m := v.(map[string]any)
		vals := m["values"].([]any)
		if len(vals) != 1 || vals[0].(float64) != want[m["name"].(string)] {
			t.Errorf("variable %v", m)
		}
	}
	if len(vars) != 3 {
		t.Errorf("%d variables, want 3", len(vars))
	}
}

func kerasSection(t *testing.T, out map[string]any) map[string]any {
	t.Helper()
	k, ok := out["keras"].(map[string]any)
	if !ok {
		t.Fatalf("no keras section in %v", out)
	}
	return k
}

func TestInspectPotato(t *testing.T) {
	dir := sharedModels + "potato_disease_cnn"
	needSharedPath(t, dir)
	k := kerasSection(t, inspectJSON(t, dir))
	if k["total_params"].(float64) != 183747 || k["non_trainable_params"].(float64) != 0 {
		t.Errorf("params %v / %v, want 183,747", k["total_params"], k["non_trainable_params"])
	}
	layers := k["layers"].([]any)
	first := layers[0].(map[string]any)
	if first["class_name"] != "Sequential" || len(layers) != 16 {
		t.Errorf("%d layers, first %v", len(layers), first)
	}
	r := run(t, nil, "inspect", dir)
	for _, want := range []string{"inputs['sequential_input'] tensor_info:", "shape: (-1, 256, 256, 3)",
		"conv2d_31 (Conv2D)               (None, 254, 254, 32)  896", "Total params: 183,747", "optimizer/iter/.ATTRIBUTES/VARIABLE_VALUE"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestInspectSmile(t *testing.T) {
	dir := sharedModels + "smile_bn_cnn"
	needSharedPath(t, dir)
	k := kerasSection(t, inspectJSON(t, dir))
	if k["total_params"].(float64) != 68993 || k["trainable_params"].(float64) != 68865 || k["non_trainable_params"].(float64) != 128 {
		t.Errorf("params %v (%v trainable), want 68,993 (68,865)", k["total_params"], k["trainable_params"])
	}
	var nonTrainable []string
	for _, w := range k["weights"].([]any) {
		if m := w.(map[string]any); !m["trainable"].(bool) {
			nonTrainable = append(nonTrainable, m["name"].(string))
		}
	}
	if strings.Join(nonTrainable, ",") != "moving_mean,moving_variance" {
		t.Errorf("non-trainable weights %v", nonTrainable)
	}
	r := run(t, nil, "inspect", dir)
	if !strings.Contains(r.stdout, "Non-trainable params: 128") || !strings.Contains(r.stdout, "(None, 70, 70, 1)") {
		t.Errorf("summary:\n%s", r.stdout)
	}
}

func TestInspectMNISTH5(t *testing.T) {
	needSharedPath(t, courseH5)
	k := kerasSection(t, inspectJSON(t, courseH5))
	if k["total_params"].(float64) != 52650 || k["keras_version"] != "2.2.4" {
		t.Errorf("params %v, keras %v", k["total_params"], k["keras_version"])
	}
	if n := len(k["weights"].([]any)); n != 6 {
		t.Errorf("%d weights, want 6", n)
	}
	r := run(t, nil, "inspect", courseH5)
	for _, want := range []string{"dense_22 (Dense)", "(None, 64)", "activation_12 (Activation)", "Total params: 52,650",
		"dense_22/kernel  (784, 64)  /model_weights/dense_22/dense_22/kernel:0"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestInspectBadInput(t *testing.T) {
	wantFailure(t, run(t, nil, "inspect"), "inspect")
	wantFailure(t, run(t, nil, "inspect", "/no/such/model"), "/no/such/model")
	dir := t.TempDir()
	wantFailure(t, run(t, nil, "inspect", dir), dir, "not a SavedModel folder")

	// A cut saved_model.pb, then a corrupt variables shard.
	bad := filepath.Join(dir, "m")
	os.MkdirAll(filepath.Join(bad, "variables"), 0o755)
	for _, f := range []string{"saved_model.pb", "variables/variables.index", "variables/variables.data-00000-of-00001"} {
		data, err := os.ReadFile(filepath.Join(halfPlusTwoDir, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(bad, f), data, 0o644)
	}
	pb := filepath.Join(bad, "saved_model.pb")
	good, _ := os.ReadFile(pb)
	os.WriteFile(pb, good[:len(good)/3], 0o644)
	wantFailure(t, run(t, nil, "inspect", bad), pb)
	os.WriteFile(pb, good, 0o644)
	shard := filepath.Join(bad, "variables", "variables.data-00000-of-00001")
	os.WriteFile(shard, []byte{0, 0, 0, 0x3f, 0, 0, 0, 0x41, 0, 0, 0x40, 0x40}, 0o644)
	wantFailure(t, run(t, nil, "inspect", bad), shard, "checksum mismatch")

	h5 := filepath.Join(dir, "model.h5")
	os.WriteFile(h5, []byte("\x89HDF\r\n\x1a\n\x00\x00"), 0o644)
	wantFailure(t, run(t, nil, "inspect", h5), h5)
}
