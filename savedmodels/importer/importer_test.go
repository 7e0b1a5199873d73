package importer

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/tfrun/tfrun/internal/dims"
	"github.com/tfrun/tfrun/layers"
	"github.com/tfrun/tfrun/savedmodels/keras"
)

// klayer makes a Keras layer from its class and JSON config, as the
// readers decode it.
func klayer(t *testing.T, class, cfg string, weights ...keras.Weight) *keras.Layer {
	t.Helper()
	var c map[string]any
	if err := json.Unmarshal([]byte(cfg), &c); err != nil {
		t.Fatal(err)
	}
	name, _ := c["name"].(string)
	return &keras.Layer{Name: name, ClassName: class, Config: c, Weights: weights}
}

// weight gives a weight of the shape with values 1, 2, 3, ...
func weight(name string, shape ...int) keras.Weight {
	data := make([]float32, dims.Product(shape))
	for i := range data {
		data[i] = float32(i + 1)
	}
	return keras.Weight{Name: name, Shape: shape, Data: data}
}

func sequential(name string, input []int, ls ...*keras.Layer) *keras.Model {
	return &keras.Model{Name: name, ClassName: "Sequential", InputShape: input, Layers: ls}
}

func TestNestedSequentialNamesAndWeights(t *testing.T) {
	inner := sequential("head", nil,
		klayer(t, "Dense", `{"name": "dense", "units": 2, "activation": "softmax", "use_bias": false}`, weight("kernel", 3, 2)))
	km := sequential("outer", []int{-1, 4},
		klayer(t, "InputLayer", `{"name": "in", "batch_input_shape": [null, 4]}`),
		klayer(t, "Dense", `{"name": "dense", "units": 3, "activation": "relu"}`, weight("kernel", 4, 3), weight("bias", 3)),
		&keras.Layer{Name: "head", ClassName: "Sequential", Model: inner})
	imp, err := Keras(km)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range imp.Model.Nodes[1:] {
		names = append(names, n.Name)
	}
	if want := []string{"dense", "head.dense"}; !slices.Equal(names, want) {
		t.Errorf("layers %v, want %v: a nested layer whose name clashes gets its model's prefix", names, want)
	}
	inDense := imp.Model.Nodes[2].Layer.(*layers.Dense)
	if inDense.Units != 2 || inDense.Activation != "softmax" || !inDense.NoBias {
		t.Errorf("nested dense %+v", inDense)
	}
	if got := tensors.MustCopyFlatData[float32](imp.Values["head.dense/kernel"]); !slices.Equal(got, weight("kernel", 3, 2).Data) {
		t.Errorf("head.dense/kernel = %v", got)
	}
	if len(imp.Values) != 3 {
		t.Errorf("%d variables, want 3: %v", len(imp.Values), imp.Values)
	}
}

// TestFunctionalGraph builds a functional model whose config lists a layer
// before its inputs, calls a weightless layer twice and reshapes with -1.
func TestFunctionalGraph(t *testing.T) {
	in := klayer(t, "InputLayer", `{"name": "x", "batch_input_shape": [null, 4, 4, 2]}`)
	add := klayer(t, "Add", `{"name": "sum"}`)
	add.Inbound = [][]keras.Ref{{{Layer: "conv"}, {Layer: "x"}}, {{Layer: "sum"}, {Layer: "x"}}}
	conv := klayer(t, "Conv2D", `{"name": "conv", "filters": 2, "kernel_size": [3, 3], "padding": "same", "strides": 1, "data_format": "channels_last"}`,
		weight("kernel", 3, 3, 2, 2), weight("bias", 2))
	conv.Inbound = [][]keras.Ref{{{Layer: "x"}}}
	shape := klayer(t, "Reshape", `{"name": "flat", "target_shape": [-1, 4]}`)
	shape.Inbound = [][]keras.Ref{{{Layer: "sum", Node: 1}}}
	km := &keras.Model{Name: "f", ClassName: "Functional", InputShape: []int{-1, 4, 4, 2},
		Layers: []*keras.Layer{in, add, conv, shape},
		Inputs: []keras.Ref{{Layer: "x"}}, Outputs: []keras.Ref{{Layer: "flat"}}}
	imp, err := Keras(km)
	if err != nil {
		t.Fatal(err)
	}
	m := imp.Model
	if !slices.Equal(m.Output.Shape, []int{8, 4}) {
		t.Errorf("output shape %v, want [8 4] (32 values as [-1, 4])", m.Output.Shape)
	}
	var names []string
	for _, n := range m.Nodes[1:] {
		names = append(names, n.Name)
	}
	if want := []string{"conv", "sum", "sum_call1", "flat"}; !slices.Equal(names, want) {
		t.Errorf("layers %v, want %v", names, want)
	}
	if second := m.Nodes[3]; second.Inputs[0] != m.Nodes[2] || second.Inputs[1] != m.Input {
		t.Error("the second call of sum does not take the first one's output and the input")
	}
}

func TestBatchNormSettings(t *testing.T) {
	for _, tc := range []struct {
		cfg     string
		in      []int
		eps     float64
		noScale bool
	}{
		{`{"name": "bn", "axis": [3], "epsilon": 1e-6, "momentum": 0.9}`, []int{-1, 4, 4, 2}, fusedMinEpsilon, false},
		{`{"name": "bn", "axis": -1, "epsilon": 1e-6, "scale": false}`, []int{-1, 2}, 1e-6, true},
		{`{"name": "bn", "axis": [3], "epsilon": 1e-6, "fused": false}`, []int{-1, 4, 4, 2}, 1e-6, false},
	} {
		c := 2
		ws := []keras.Weight{weight("beta", c), weight("moving_mean", c), weight("moving_variance", c)}
		l := klayer(t, "BatchNormalization", tc.cfg)
		if !tc.noScale {
			ws = append([]keras.Weight{weight("gamma", c)}, ws...)
		}
		l.Weights = ws
		imp, err := Keras(sequential("m", tc.in, l))
		if err != nil {
			t.Fatalf("%s: %v", tc.cfg, err)
		}
		bn := imp.Model.Output.Layer.(*layers.BatchNorm)
		if bn.Epsilon != tc.eps || bn.NoScale != tc.noScale || bn.NoShift {
			t.Errorf("%s on %v: %+v, want epsilon %g", tc.cfg, tc.in, bn, tc.eps)
		}
	}
}

// TestErrors checks that what tfrun cannot compute exactly is refused, with
// the layer named.
func TestErrors(t *testing.T) {
	dense := func() *keras.Layer {
		return klayer(t, "Dense", `{"name": "d", "units": 2}`, weight("kernel", 3, 2), weight("bias", 2))
	}
	wrongShape := dense()
	wrongShape.Weights[0] = weight("kernel", 2, 3)
	missing := dense()
	missing.Weights = missing.Weights[:1]
	extra := dense()
	extra.Weights = append(extra.Weights, weight("scale", 2))
	shared := dense()
	shared.Inbound = [][]keras.Ref{{{Layer: "x"}}, {{Layer: "d"}}}
	twoInputs := &keras.Model{Name: "two", InputShape: []int{-1, 3}, Inputs: []keras.Ref{{Layer: "a"}, {Layer: "b"}}, Outputs: []keras.Ref{{Layer: "a"}}}
	for _, tc := range []struct {
		km   *keras.Model
		want []string
	}{
		{sequential("m", []int{-1, 3}, klayer(t, "Lambda", `{"name": "lambda_1", "function": "x"}`)),
			[]string{`"lambda_1" (Lambda)`, "--engine tensorflow", "-tags tensorflow"}},
		{sequential("m", []int{-1, 3, 8, 8}, klayer(t, "Conv2D", `{"name": "c", "filters": 2, "kernel_size": 3, "data_format": "channels_first"}`)),
			[]string{`"c" (Conv2D)`, "channels_first"}},
		{sequential("m", []int{-1, 3}, klayer(t, "Dense", `{"name": "e", "units": 2, "activation": "elu"}`)),
			[]string{`"e" (Dense)`, `"elu"`}},
		{sequential("m", []int{-1, 8, 8, 3}, klayer(t, "BatchNormalization", `{"name": "bn", "axis": 1}`)),
			[]string{`"bn"`, "axis 1"}},
		{sequential("m", []int{-1, 8, 8, 3}, klayer(t, "Conv2D", `{"name": "g", "filters": 3, "kernel_size": 3, "groups": 3}`)),
			[]string{`"g"`, "groups 3"}},
		{sequential("m", []int{-1, 8, 8, 3}, klayer(t, "Conv2DTranspose", `{"name": "t", "filters": 3, "kernel_size": 3, "output_padding": [1, 1]}`)),
			[]string{`"t"`, "output_padding"}},
		{sequential("m", []int{-1, 8, 8, 3}, klayer(t, "UpSampling2D", `{"name": "u", "size": 2, "interpolation": "bicubic"}`)),
			[]string{`"u"`, "bicubic"}},
		{sequential("m", []int{-1, 3}, wrongShape), []string{`"d"`, "[2 3]", "[3 2]"}},
		{sequential("m", []int{-1, 3}, missing), []string{`"d"`, `no weight "bias"`}},
		{sequential("m", []int{-1, 3}, extra), []string{`"d"`, `"scale"`}},
		{&keras.Model{Name: "f", InputShape: []int{-1, 3}, Layers: []*keras.Layer{shared},
			Inputs: []keras.Ref{{Layer: "x"}}, Outputs: []keras.Ref{{Layer: "d"}}}, []string{`"d"`, "called 2 times"}},
		{twoInputs, []string{"2 inputs"}},
		{sequential("m", []int{-1, -1, -1, 3}), []string{"unknown sizes"}},
		{sequential("m", nil), []string{"no input shape"}},
	} {
		_, err := Keras(tc.km)
		if err == nil {
			t.Errorf("%s: no error, want one mentioning %q", tc.km.Name, tc.want)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not mention %q", err, w)
			}
		}
	}
}
