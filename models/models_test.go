package models

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func specFromYAML(t *testing.T, text string) Spec {
	t.Helper()
	var s Spec
	dec := yaml.NewDecoder(strings.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// The configs in configs/ and the Go zoo describe the same course models;
// a change to one without the other must fail here.
func TestConfigsMatchZoo(t *testing.T) {
	for file, zooName := range map[string]string{"../configs/mnist_mlp.yaml": "mlp", "../configs/mnist_convnet.yaml": "convnet"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Model Spec `yaml:"model"`
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		fromYAML, err := doc.Model.Build()
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		fromGo, err := FromZoo(zooName, []int{28, 28, 1}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if fromYAML.ParamCount() != fromGo.ParamCount() || fromYAML.MACs() != fromGo.MACs() {
			t.Errorf("%s: %d params, %d MACs; zoo %s: %d params, %d MACs", file,
				fromYAML.ParamCount(), fromYAML.MACs(), zooName, fromGo.ParamCount(), fromGo.MACs())
		}
	}
}

func TestCourseModelSizes(t *testing.T) {
	mlp, err := FromZoo("mlp", []int{28, 28, 1}, 10)
	if err != nil {
		t.Fatal(err)
	}
	// Keras: 784·64+64 + 64·32+32 + 32·10+10.
	if got, want := mlp.ParamCount(), int64(784*64+64+64*32+32+32*10+10); got != want {
		t.Errorf("mlp params %d, want %d", got, want)
	}
	cnn, err := FromZoo("convnet", []int{28, 28, 1}, 10)
	if err != nil {
		t.Fatal(err)
	}
	convs := int64(3*3*1*32+32) + 2*(3*3*32*32+32) + (3*3*32*64 + 64) + 2*(3*3*64*64+64)
	dense := int64(7*7*64*1024+1024) + 1024*10 + 10
	if got := cnn.ParamCount(); got != convs+dense {
		t.Errorf("convnet params %d, want %d", got, convs+dense)
	}
	var buf bytes.Buffer
	cnn.Summary(&buf)
	for _, want := range []string{"(None, 7, 7, 64)", "(None, 3136)", "(None, 10)", "Total params: 3333706"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, buf.String())
		}
	}
}

// roundTrip writes m out as a layer list in YAML and builds it back, as a
// saved model is loaded.
func roundTrip(t *testing.T, m *Model) *Model {
	t.Helper()
	s, err := SpecOf(m)
	if err != nil {
		t.Fatal(err)
	}
	b, err := yaml.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	back, err := specFromYAML(t, string(b)).Build()
	if err != nil {
		t.Fatalf("%s: %v\n%s", m.Name, err, b)
	}
	return back
}

func TestSpecRoundTrip(t *testing.T) {
	m, err := FromZoo("convnet", []int{28, 28, 1}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if back := roundTrip(t, m); back.ParamCount() != m.ParamCount() || len(back.Nodes) != len(m.Nodes) {
		t.Error("round trip changed the model")
	}
}

func TestFunctionalSkip(t *testing.T) {
	s := specFromYAML(t, `
name: skip
input: [8, 8, 3]
layers:
  - {conv2d: {filters: 4, kernel: 3, padding: same}, name: a}
  - {conv2d: {filters: 4, kernel: 3, padding: same}, name: b}
  - {add: {}, inputs: [a, b]}
  - {concatenate: {}, inputs: [add, input]}
`)
	m, err := s.Build()
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Output.Shape; len(got) != 3 || got[2] != 7 {
		t.Errorf("output shape %v, want [8 8 7]", got)
	}
}

func TestSpecErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"name: x\ninput: [4]\nlayers:\n  - lambda: {}\n", `unknown layer kind "lambda"`},
		{"name: x\ninput: [4]\nlayers:\n  - dense: {units: 3, activaton: relu}\n", "activaton"},
		{"name: x\ninput: [4]\nlayers:\n  - dense: {units: 3, activation: swish}\n", `unknown activation "swish"`},
		{"name: x\ninput: [4]\nlayers:\n  - dense: {units: 3}\n    inputs: [nope]\n", `unknown input "nope"`},
		{"name: x\ninput: [4, 4, 1]\nlayers:\n  - conv2d: {filters: 2, kernel: 5}\n", "smaller than"},
		{"name: x\ninput: [4]\nclasses: 10\nlayers:\n  - dense: {units: 3}\n", "classes is 10"},
		{"name: x\ninput: [4]\nzoo: resnet9000\n", `unknown model "resnet9000"`},
	} {
		_, err := specFromYAML(t, tc.yaml).Build()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want it to mention %q", tc.yaml, err, tc.want)
		}
	}
}

// TestCourseUNet checks the course U-Net's size: Keras' summary of
// zhixuhao's unet() at 256×256×1 gives 31,031,685 parameters; with three
// input bands the first convolution has 2·9·64 more.
func TestCourseUNet(t *testing.T) {
	m, err := FromZoo("unet", []int{256, 256, 3}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.ParamCount(), int64(31031685+2*9*64); got != want {
		t.Errorf("course U-Net has %d parameters, want %d", got, want)
	}
	if s := m.Output.Shape; s[0] != 256 || s[1] != 256 || s[2] != 1 {
		t.Errorf("output shape %v", s)
	}
	small, err := FromZooWith("unet", []int{64, 64, 3}, 3, map[string]any{"base": 8, "depth": 3, "batchnorm": true, "upsample": "transpose"})
	if err != nil {
		t.Fatal(err)
	}
	if s := small.Output.Shape; s[0] != 64 || s[2] != 3 || small.OutputActivation() != "softmax" {
		t.Errorf("small U-Net output %v activation %q", s, small.OutputActivation())
	}
	for _, bad := range []map[string]any{{"bsae": 8}, {"depth": "deep"}, {"upsample": "pixelshuffle"}} {
		if _, err := FromZooWith("unet", []int{64, 64, 3}, 1, bad); err == nil {
			t.Errorf("options %v: no error", bad)
		}
	}
	if _, err := FromZoo("unet", []int{100, 100, 3}, 1); err == nil {
		t.Error("100×100 with depth 4: no error")
	}
}
