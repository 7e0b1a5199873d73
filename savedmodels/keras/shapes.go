package keras

// OutputShapes infers each layer's output shape (batch dimension -1) from
// the model's input shape and the layer configs, for the layers whose
// shape rules are known here; the others, and everything after them, are
// absent from the map. Only channels_last data is handled, as Keras'
// default.
func (m *Model) OutputShapes() map[string][]int {
	shapes := map[string][]int{}
	m.inferShapes(m.InputShape, shapes)
	return shapes
}

// inferShapes fills shapes for m's layers given the shape of its input,
// and returns the model's output shape (nil when unknown).
func (m *Model) inferShapes(in []int, shapes map[string][]int) []int {
	if len(m.Inputs) == 0 {
		// Sequential: each layer feeds the next.
		cur := in
		for _, l := range m.Layers {
			if l.ClassName == "InputLayer" {
				cur = m.InputShape
			} else {
				cur = l.outputShape([][]int{cur}, shapes)
			}
			if cur == nil {
				return nil
			}
			shapes[l.Name] = cur
		}
		return cur
	}
	for _, l := range m.Layers {
		if l.ClassName == "InputLayer" {
			if s, ok := intsOrNull(l.Config["batch_input_shape"]); ok {
				shapes[l.Name] = s
			}
			continue
		}
		if len(l.Inbound) == 0 {
			continue
		}
		var ins [][]int
		for _, r := range l.Inbound[0] {
			ins = append(ins, shapes[r.Layer])
		}
		if s := l.outputShape(ins, shapes); s != nil {
			shapes[l.Name] = s
		}
	}
	if len(m.Outputs) != 1 {
		return nil
	}
	return shapes[m.Outputs[0].Layer]
}

// shapeKeeping lists the layers whose output has their input's shape.
var shapeKeeping = map[string]bool{
	"Activation": true, "ReLU": true, "Softmax": true, "LeakyReLU": true, "ELU": true, "PReLU": true,
	"Dropout": true, "SpatialDropout2D": true, "GaussianNoise": true, "GaussianDropout": true,
	"BatchNormalization": true, "LayerNormalization": true, "Rescaling": true, "Normalization": true,
	"RandomFlip": true, "RandomRotation": true, "RandomZoom": true, "RandomContrast": true, "RandomTranslation": true,
}

// outputShape applies a layer's shape rule to its input shapes; nil means
// unknown.
func (l *Layer) outputShape(ins [][]int, shapes map[string][]int) []int {
	for _, s := range ins {
		if s == nil {
			return nil
		}
	}
	if len(ins) == 0 {
		return nil
	}
	in := ins[0]
	out := append([]int(nil), in...)
	if l.Model != nil {
		return l.Model.inferShapes(in, shapes)
	}
	if df := l.String("data_format"); df != "" && df != "channels_last" {
		return nil
	}
	switch {
	case shapeKeeping[l.ClassName]:
		return out
	case l.ClassName == "Dense":
		units, ok := l.Int("units")
		if !ok || len(in) < 2 {
			return nil
		}
		out[len(out)-1] = units
		return out
	case l.ClassName == "Flatten":
		n := 1
		for _, d := range in[1:] {
			if d < 0 {
				return []int{in[0], -1}
			}
			n *= d
		}
		return []int{in[0], n}
	}
	if len(in) != 4 {
		return l.otherShape(ins)
	}
	switch l.ClassName {
	case "Conv2D", "SeparableConv2D", "DepthwiseConv2D":
		k, ok1 := l.Ints("kernel_size", 2)
		s, ok2 := l.Ints("strides", 2)
		d, ok3 := l.Ints("dilation_rate", 2)
		if !ok1 || !ok2 || !ok3 {
			return nil
		}
		for i := 0; i < 2; i++ {
			out[1+i] = convLength(in[1+i], k[i], s[i], d[i], l.String("padding"))
		}
		if l.ClassName == "DepthwiseConv2D" {
			dm, ok := l.Int("depth_multiplier")
			if !ok {
				return nil
			}
			out[3] = mulUnknown(in[3], dm)
			return out
		}
		f, ok := l.Int("filters")
		if !ok {
			return nil
		}
		out[3] = f
		return out
	case "Conv2DTranspose":
		k, ok1 := l.Ints("kernel_size", 2)
		s, ok2 := l.Ints("strides", 2)
		d, ok3 := l.Ints("dilation_rate", 2)
		f, ok4 := l.Int("filters")
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return nil
		}
		op, hasOP := l.Ints("output_padding", 2)
		for i := 0; i < 2; i++ {
			pad := -1
			if hasOP {
				pad = op[i]
			}
			out[1+i] = deconvLength(in[1+i], k[i], s[i], d[i], pad, l.String("padding"))
		}
		out[3] = f
		return out
	case "MaxPooling2D", "AveragePooling2D":
		p, ok := l.Ints("pool_size", 2)
		if !ok {
			return nil
		}
		s, ok := l.Ints("strides", 2)
		if l.Config["strides"] == nil {
			s, ok = p, true
		}
		if !ok {
			return nil
		}
		for i := 0; i < 2; i++ {
			out[1+i] = convLength(in[1+i], p[i], s[i], 1, l.String("padding"))
		}
		return out
	case "GlobalAveragePooling2D", "GlobalMaxPooling2D":
		if keep, _ := l.Config["keepdims"].(bool); keep {
			return []int{in[0], 1, 1, in[3]}
		}
		return []int{in[0], in[3]}
	case "ZeroPadding2D", "Cropping2D":
		key := "padding"
		sign := 1
		if l.ClassName == "Cropping2D" {
			key, sign = "cropping", -1
		}
		pads, ok := pairs(l, key)
		if !ok {
			return nil
		}
		for i := 0; i < 2; i++ {
			out[1+i] = addUnknown(in[1+i], sign*(pads[i][0]+pads[i][1]))
		}
		return out
	case "UpSampling2D":
		s, ok := l.Ints("size", 2)
		if !ok {
			return nil
		}
		out[1], out[2] = mulUnknown(in[1], s[0]), mulUnknown(in[2], s[1])
		return out
	case "Resizing":
		h, ok1 := l.Int("height")
		w, ok2 := l.Int("width")
		if !ok1 || !ok2 {
			return nil
		}
		out[1], out[2] = h, w
		return out
	}
	return l.otherShape(ins)
}

// otherShape handles the rank-independent layers: merges and reshapes.
func (l *Layer) otherShape(ins [][]int) []int {
	in := ins[0]
	switch l.ClassName {
	case "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum":
		return append([]int(nil), in...)
	case "Concatenate":
		axis, ok := l.Int("axis")
		if !ok {
			axis = -1
		}
		if axis < 0 {
			axis += len(in)
		}
		if axis <= 0 || axis >= len(in) {
			return nil
		}
		out := append([]int(nil), in...)
		for _, s := range ins[1:] {
			if len(s) != len(in) {
				return nil
			}
			out[axis] = addUnknown(out[axis], s[axis])
			if s[axis] < 0 {
				out[axis] = -1
			}
		}
		return out
	case "Reshape":
		target, ok := intsOrNull(l.Config["target_shape"])
		if !ok {
			return nil
		}
		known, free := 1, -1
		for i, d := range target {
			if d < 0 {
				if free >= 0 {
					return nil
				}
				free = i
			} else {
				known *= d
			}
		}
		out := append([]int{in[0]}, target...)
		if free >= 0 {
			total := 1
			for _, d := range in[1:] {
				if d < 0 {
					return out
				}
				total *= d
			}
			if known == 0 || total%known != 0 {
				return nil
			}
			out[1+free] = total / known
		}
		return out
	}
	return nil
}

// pairs reads Keras' padding or cropping spec: an int, (rows, cols), or
// ((top, bottom), (left, right)).
func pairs(l *Layer, key string) ([2][2]int, bool) {
	var p [2][2]int
	if s, ok := l.Ints(key, 2); ok {
		p[0] = [2]int{s[0], s[0]}
		p[1] = [2]int{s[1], s[1]}
		return p, true
	}
	outer, ok := l.Config[key].([]any)
	if !ok || len(outer) != 2 {
		return p, false
	}
	for i, o := range outer {
		s, ok := intsOrNull(o)
		if !ok || len(s) != 2 || s[0] < 0 || s[1] < 0 {
			return p, false
		}
		p[i] = [2]int{s[0], s[1]}
	}
	return p, true
}

// convLength is Keras' conv_output_length for valid and same padding.
func convLength(in, k, stride, dilation int, padding string) int {
	if in < 0 || stride <= 0 {
		return -1
	}
	eff := k + (k-1)*(dilation-1)
	switch padding {
	case "same":
		return (in + stride - 1) / stride
	case "valid":
		if in < eff {
			return 0
		}
		return (in-eff)/stride + 1
	}
	return -1
}

// deconvLength is Keras' deconv_output_length; outputPadding < 0 means
// none was given.
func deconvLength(in, k, stride, dilation, outputPadding int, padding string) int {
	if in < 0 {
		return -1
	}
	eff := k + (k-1)*(dilation-1)
	if outputPadding < 0 {
		switch padding {
		case "valid":
			return in*stride + max(eff-stride, 0)
		case "same":
			return in * stride
		}
		return -1
	}
	pad := 0
	switch padding {
	case "same":
		pad = eff / 2
	case "valid":
	default:
		return -1
	}
	return (in-1)*stride + eff - 2*pad + outputPadding
}

func mulUnknown(d, f int) int {
	if d < 0 {
		return -1
	}
	return d * f
}

func addUnknown(d, a int) int {
	if d < 0 {
		return -1
	}
	return d + a
}
