package importer

import (
	"errors"
	"fmt"

	"github.com/tfrun/tfrun/internal/dims"
	"github.com/tfrun/tfrun/layers"
	"github.com/tfrun/tfrun/savedmodels/keras"
	"gopkg.in/yaml.v3"
)

// converters map a Keras class to the tfrun layers computing it, given the
// per-example shapes of its inputs.
var converters = map[string]func(l *keras.Layer, in [][]int) ([]layers.Layer, error){
	"Dense":                  dense,
	"Conv2D":                 conv2D,
	"DepthwiseConv2D":        depthwiseConv2D,
	"SeparableConv2D":        separableConv2D,
	"Conv2DTranspose":        conv2DTranspose,
	"BatchNormalization":     batchNorm,
	"Activation":             activation,
	"ReLU":                   relu,
	"LeakyReLU":              leakyReLU,
	"Softmax":                softmax,
	"MaxPooling2D":           pool("maxpool2d"),
	"AveragePooling2D":       pool("avgpool2d"),
	"GlobalAveragePooling2D": globalAvgPool,
	"UpSampling2D":           upSampling,
	"ZeroPadding2D":          zeroPadding,
	"Dropout":                dropout,
	"Flatten":                flatten,
	"Reshape":                reshape,
	"Concatenate":            concatenate,
	"Add":                    add,
	"Resizing":               resizing,
	"Rescaling":              rescaling,
	// Aliases older and newer Keras versions write.
	"Convolution2D":   conv2D,
	"Deconvolution2D": conv2DTranspose,
	"MaxPool2D":       pool("maxpool2d"),
	"AvgPool2D":       pool("avgpool2d"),
	"GlobalAvgPool2D": globalAvgPool,
}

// convert gives the tfrun layers computing a Keras layer, each checked by
// a round trip through YAML, so that a saved model.yaml rebuilds them.
func convert(l *keras.Layer, in [][]int) ([]layers.Layer, error) {
	f, ok := converters[l.ClassName]
	if !ok {
		return nil, fmt.Errorf("tfrun's engine has no such layer; %s", tensorFlowHint)
	}
	if df := l.String("data_format"); df != "" && df != "channels_last" {
		return nil, fmt.Errorf("data_format %s: tfrun computes channels_last (NHWC) only; %s", df, tensorFlowHint)
	}
	steps, err := f(l, in)
	if err != nil {
		return nil, err
	}
	for i, s := range steps {
		params, err := layers.ToYAML(s)
		if err != nil {
			return nil, err
		}
		var node yaml.Node
		if err := node.Encode(params); err != nil {
			return nil, err
		}
		if steps[i], err = layers.FromYAML(s.Kind(), &node); err != nil {
			return nil, err
		}
	}
	return steps, nil
}

// activationName maps a Keras activation to tfrun's.
func activationName(l *keras.Layer, key string) (string, error) {
	v, ok := l.Config[key]
	if !ok || v == nil {
		return "", nil
	}
	name, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s %v is not a built-in activation; %s", key, v, tensorFlowHint)
	}
	switch name {
	case "linear":
		return "", nil
	case "relu", "sigmoid", "tanh", "softmax":
		return name, nil
	}
	return "", fmt.Errorf("activation %q is not one of tfrun's (linear, relu, sigmoid, tanh, softmax); %s", name, tensorFlowHint)
}

func boolOr(l *keras.Layer, key string, def bool) bool {
	if v, ok := l.Config[key].(bool); ok {
		return v
	}
	return def
}

func floatOr(l *keras.Layer, key string, def float64) (float64, error) {
	switch v := l.Config[key].(type) {
	case nil:
		return def, nil
	case float64:
		return v, nil
	default:
		return 0, fmt.Errorf("%s is %v, want a number", key, v)
	}
}

func pair(l *keras.Layer, key string, def int) (layers.Pair, error) {
	if _, ok := l.Config[key]; !ok || l.Config[key] == nil {
		return layers.Sq(def), nil
	}
	v, ok := l.Ints(key, 2)
	if !ok {
		return layers.Pair{}, fmt.Errorf("%s is %v, want one or two integers", key, l.Config[key])
	}
	return layers.Pair{v[0], v[1]}, nil
}

func padding(l *keras.Layer) (string, error) {
	switch p := l.String("padding"); p {
	case "", "valid", "same":
		return p, nil
	default:
		return "", fmt.Errorf("padding %q: tfrun has valid and same", p)
	}
}

// convSettings reads what Keras' convolutions share.
type convSettings struct {
	kernel, strides, dilation layers.Pair
	padding, activation       string
	noBias                    bool
}

func convCommon(l *keras.Layer) (convSettings, error) {
	var s convSettings
	var err error
	if s.kernel, err = pair(l, "kernel_size", 0); err != nil {
		return s, err
	}
	if s.strides, err = pair(l, "strides", 1); err != nil {
		return s, err
	}
	if s.dilation, err = pair(l, "dilation_rate", 1); err != nil {
		return s, err
	}
	if s.padding, err = padding(l); err != nil {
		return s, err
	}
	if s.activation, err = activationName(l, "activation"); err != nil {
		return s, err
	}
	s.noBias = !boolOr(l, "use_bias", true)
	return s, nil
}

func dense(l *keras.Layer, _ [][]int) ([]layers.Layer, error) {
	units, ok := l.Int("units")
	if !ok {
		return nil, errors.New("no units")
	}
	act, err := activationName(l, "activation")
	if err != nil {
		return nil, err
	}
	return []layers.Layer{&layers.Dense{Units: units, Activation: act, NoBias: !boolOr(l, "use_bias", true)}}, nil
}

func conv2D(l *keras.Layer, _ [][]int) ([]layers.Layer, error) {
	s, err := convCommon(l)
	if err != nil {
		return nil, err
	}
	if g, ok := l.Int("groups"); ok && g != 1 {
		return nil, fmt.Errorf("groups %d: tfrun's conv2d has one group; %s", g, tensorFlowHint)
	}
	filters, ok := l.Int("filters")
	if !ok {
		return nil, errors.New("no filters")
	}
	return []layers.Layer{&layers.Conv2D{Filters: filters, Kernel: s.kernel, Strides: s.strides, Dilation: s.dilation,
		Padding: s.padding, Activation: s.activation, NoBias: s.noBias}}, nil
}

func depthMultiplier(l *keras.Layer) (int, error) {
	m, ok := l.Int("depth_multiplier")
	if _, set := l.Config["depth_multiplier"]; !set {
		return 1, nil
	}
	if !ok || m <= 0 {
		return 0, fmt.Errorf("depth_multiplier %v", l.Config["depth_multiplier"])
	}
	return m, nil
}

func depthwiseConv2D(l *keras.Layer, _ [][]int) ([]layers.Layer, error) {
	s, err := convCommon(l)
	if err != nil {
		return nil, err
	}
	m, err := depthMultiplier(l)
	if err != nil {
		return nil, err
	}
	return []layers.Layer{&layers.DepthwiseConv2D{Kernel: s.kernel, Multiplier: m, Strides: s.strides, Dilation: s.dilation,
		Padding: s.padding, Activation: s.activation, NoBias: s.noBias}}, nil
}

func separableConv2D(l *keras.Layer, _ [][]int) ([]layers.Layer, error) {
	s, err := convCommon(l)
	if err != nil {
		return nil, err
	}
	m, err := depthMultiplier(l)
	if err != nil {
		return nil, err
	}
	filters, ok := l.Int("filters")
	if !ok {
		return nil, errors.New("no filters")
	}
	return []layers.Layer{&layers.SeparableConv2D{Filters: filters, Kernel: s.kernel, Multiplier: m, Strides: s.strides,
		Dilation: s.dilation, Padding: s.padding, Activation: s.activation, NoBias: s.noBias}}, nil
}

func conv2DTranspose(l *keras.Layer, _ [][]int) ([]layers.Layer, error) {
	s, err := convCommon(l)
	if err != nil {
		return nil, err
	}
	if s.dilation != layers.Sq(1) {
		return nil, fmt.Errorf("dilation_rate %v: tfrun's conv2dtranspose has none; %s", [2]int(s.dilation), tensorFlowHint)
	}
	if op := l.Config["output_padding"]; op != nil {
		return nil, fmt.Errorf("output_padding %v: tfrun's conv2dtranspose has none; %s", op, tensorFlowHint)
	}
	filters, ok := l.Int("filters")
	if !ok {
		return nil, errors.New("no filters")
	}
	return []layers.Layer{&layers.Conv2DTranspose{Filters: filters, Kernel: s.kernel, Strides: s.strides,
		Padding: s.padding, Activation: s.activation, NoBias: s.noBias}}, nil
}

// lastAxis checks that a Keras axis setting (an integer, or a list of one,
// counting the batch axis) names the last axis of an input of rank+1.
func lastAxis(l *keras.Layer, key string, rank int, def int) error {
	axis := def
	if v, ok := l.Int(key); ok {
		axis = v
	} else if vs, ok := l.Ints(key, 1); ok {
		axis = vs[0]
	} else if _, set := l.Config[key]; set {
		return fmt.Errorf("%s %v: tfrun acts on the last axis only", key, l.Config[key])
	}
	if axis != -1 && axis != rank {
		return fmt.Errorf("%s %d: tfrun acts on the last axis (%d or -1) only", key, axis, rank)
	}
	return nil
}

// fusedMinEpsilon is the smallest epsilon Keras' fused batch norm (used for
// 4-D inputs normalised over channels) accepts: it raises smaller ones.
const fusedMinEpsilon = 1.001e-5

func batchNorm(l *keras.Layer, in [][]int) ([]layers.Layer, error) {
	rank := len(in[0])
	if err := lastAxis(l, "axis", rank, -1); err != nil {
		return nil, err
	}
	for _, k := range []string{"renorm", "virtual_batch_size", "adjustment"} {
		if v := l.Config[k]; v != nil && v != false {
			return nil, fmt.Errorf("%s %v: tfrun's batchnorm has none; %s", k, v, tensorFlowHint)
		}
	}
	eps, err := floatOr(l, "epsilon", 1e-3)
	if err != nil {
		return nil, err
	}
	momentum, err := floatOr(l, "momentum", 0.99)
	if err != nil {
		return nil, err
	}
	if fused, set := l.Config["fused"].(bool); rank == 3 && (!set || fused) {
		eps = max(eps, fusedMinEpsilon)
	}
	// tfrun reads 0 as "Keras' default", so 0 itself cannot be expressed.
	if eps <= 0 || momentum <= 0 {
		return nil, fmt.Errorf("epsilon %g, momentum %g: tfrun needs both > 0", eps, momentum)
	}
	return []layers.Layer{&layers.BatchNorm{Momentum: momentum, Epsilon: eps,
		NoScale: !boolOr(l, "scale", true), NoShift: !boolOr(l, "center", true)}}, nil
}

func activation(l *keras.Layer, _ [][]int) ([]layers.Layer, error) {
	act, err := activationName(l, "activation")
	if err != nil {
		return nil, err
	}
	return []layers.Layer{&layers.Activation{Function: act}}, nil
}

func relu(l *keras.Layer, _ [][]int) ([]layers.Layer, error) {
	r := &layers.ReLU{}
	var err error
	if r.NegativeSlope, err = floatOr(l, "negative_slope", 0); err != nil {
		return nil, err
	}
	if r.Threshold, err = floatOr(l, "threshold", 0); err != nil {
		return nil, err
	}
	if v := l.Config["max_value"]; v != nil {
		mv, err := floatOr(l, "max_value", 0)
		if err != nil {
			return nil, err
		}
		r.MaxValue = &mv
	}
	return []layers.Layer{r}, nil
}

func leakyReLU(l *keras.Layer, _ [][]int) ([]layers.Layer, error) {
	alpha, err := floatOr(l, "alpha", 0.3)
	if err != nil {
		return nil, err
	}
	return []layers.Layer{&layers.ReLU{NegativeSlope: alpha}}, nil
}

func softmax(l *keras.Layer, in [][]int) ([]layers.Layer, error) {
	if err := lastAxis(l, "axis", len(in[0]), -1); err != nil {
		return nil, err
	}
	return []layers.Layer{&layers.Activation{Function: "softmax"}}, nil
}

func pool(kind string) func(l *keras.Layer, in [][]int) ([]layers.Layer, error) {
	return func(l *keras.Layer, _ [][]int) ([]layers.Layer, error) {
		size, err := pair(l, "pool_size", 2)
		if err != nil {
			return nil, err
		}
		strides, err := pair(l, "strides", 0)
		if err != nil {
			return nil, err
		}
		if strides == layers.Sq(0) {
			strides = size
		}
		pad, err := padding(l)
		if err != nil {
			return nil, err
		}
		p := layers.MaxPool2D(0)
		if kind == "avgpool2d" {
			p = layers.AvgPool2D(0)
		}
		p.Pool, p.Strides, p.Padding = size, strides, pad
		return []layers.Layer{p}, nil
	}
}

func globalAvgPool(l *keras.Layer, in [][]int) ([]layers.Layer, error) {
	steps := []layers.Layer{&layers.GlobalAvgPool2D{}}
	if boolOr(l, "keepdims", false) {
		steps = append(steps, &layers.Reshape{Target: []int{1, 1, in[0][len(in[0])-1]}})
	}
	return steps, nil
}

func upSampling(l *keras.Layer, _ [][]int) ([]layers.Layer, error) {
	size, err := pair(l, "size", 2)
	if err != nil {
		return nil, err
	}
	interp := l.String("interpolation")
	if interp != "" && interp != "nearest" && interp != "bilinear" {
		return nil, fmt.Errorf("interpolation %q: tfrun has nearest and bilinear; %s", interp, tensorFlowHint)
	}
	return []layers.Layer{&layers.UpSampling2D{Size: size, Interpolation: interp}}, nil
}

// zeroPadding reads Keras' forms: n, [v, h], or [[top, bottom], [left, right]].
func zeroPadding(l *keras.Layer, _ [][]int) ([]layers.Layer, error) {
	v := l.Config["padding"]
	bad := fmt.Errorf("padding %v: want n, [v, h] or [[top, bottom], [left, right]]", v)
	if n, ok := l.Int("padding"); ok {
		return []layers.Layer{&layers.ZeroPadding2D{Padding: layers.Ints{n, n, n, n}}}, nil
	}
	if p, ok := l.Ints("padding", 2); ok {
		return []layers.Layer{&layers.ZeroPadding2D{Padding: layers.Ints{p[0], p[0], p[1], p[1]}}}, nil
	}
	outer, ok := v.([]any)
	if !ok || len(outer) != 2 {
		return nil, bad
	}
	var sides layers.Ints
	for _, o := range outer {
		inner := &keras.Layer{Config: map[string]any{"p": o}}
		p, ok := inner.Ints("p", 2)
		if !ok {
			return nil, bad
		}
		sides = append(sides, p...)
	}
	return []layers.Layer{&layers.ZeroPadding2D{Padding: sides}}, nil
}

// dropout leaves out noise_shape, which only shapes the random mask of
// training: inference is the same, fine-tuning drops single values.
func dropout(l *keras.Layer, _ [][]int) ([]layers.Layer, error) {
	rate, err := floatOr(l, "rate", 0)
	if err != nil {
		return nil, err
	}
	return []layers.Layer{&layers.Dropout{Rate: rate}}, nil
}

func flatten(*keras.Layer, [][]int) ([]layers.Layer, error) {
	return []layers.Layer{&layers.Flatten{}}, nil
}

// reshape resolves Keras' one unknown (-1) size from the input's size.
func reshape(l *keras.Layer, in [][]int) ([]layers.Layer, error) {
	raw, ok := l.Config["target_shape"].([]any)
	if !ok {
		return nil, fmt.Errorf("target_shape %v is not a list", l.Config["target_shape"])
	}
	target := make([]int, len(raw))
	for i, v := range raw {
		f, isNum := v.(float64)
		if !isNum || f != float64(int(f)) || f < -1 || f == 0 {
			return nil, fmt.Errorf("target_shape %v", raw)
		}
		target[i] = int(f)
	}
	unknown, known := -1, 1
	for i, d := range target {
		if d == -1 {
			if unknown >= 0 {
				return nil, fmt.Errorf("target_shape %v has two unknown sizes", raw)
			}
			unknown = i
			continue
		}
		known *= d
	}
	if unknown >= 0 {
		total := dims.Product(in[0])
		if known == 0 || total%known != 0 {
			return nil, fmt.Errorf("target_shape %v does not divide the input %v", raw, in[0])
		}
		target[unknown] = total / known
	}
	return []layers.Layer{&layers.Reshape{Target: target}}, nil
}

func concatenate(l *keras.Layer, in [][]int) ([]layers.Layer, error) {
	if err := lastAxis(l, "axis", len(in[0]), -1); err != nil {
		return nil, err
	}
	return []layers.Layer{layers.Concatenate()}, nil
}

func add(*keras.Layer, [][]int) ([]layers.Layer, error) {
	return []layers.Layer{layers.Add()}, nil
}

func resizing(l *keras.Layer, _ [][]int) ([]layers.Layer, error) {
	h, ok1 := l.Int("height")
	w, ok2 := l.Int("width")
	if !ok1 || !ok2 {
		return nil, errors.New("no height or width")
	}
	if i := l.String("interpolation"); i != "" && i != "bilinear" {
		return nil, fmt.Errorf("interpolation %q: tfrun's resizing is bilinear; %s", i, tensorFlowHint)
	}
	if boolOr(l, "crop_to_aspect_ratio", false) {
		return nil, fmt.Errorf("crop_to_aspect_ratio: tfrun's resizing does not crop; %s", tensorFlowHint)
	}
	return []layers.Layer{&layers.Resizing{Height: h, Width: w}}, nil
}

func rescaling(l *keras.Layer, _ [][]int) ([]layers.Layer, error) {
	scale, err := floatOr(l, "scale", 1)
	if err != nil {
		return nil, err
	}
	offset, err := floatOr(l, "offset", 0)
	if err != nil {
		return nil, err
	}
	return []layers.Layer{&layers.Rescaling{Scale: scale, Offset: offset}}, nil
}
