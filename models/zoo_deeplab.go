package models

import "fmt"

// DeepLab (the course's DEEPLABV3plus) with a backbone from the encoder
// registry and a head from the decoder registry. Options: backbone
// (xception, the course's default), decoder (v3: ASPP only; v3plus: ASPP
// and the low-level skip decoder, the default), output_stride (16, or 8:
// the encoder's last strides turn into dilation), rates (ASPP's atrous
// rates, [6, 12, 18]; the paper doubles them at output stride 8), width
// (a multiplier of every filter count, 1 = the published networks).
// deeplabv3 and deeplabv3plus are the same model with the decoder fixed.
func init() {
	RegisterZoo("deeplab", deeplabZoo(""))
	RegisterZoo("deeplabv3", deeplabZoo("v3"))
	RegisterZoo("deeplabv3plus", deeplabZoo("v3plus"))
}

func deeplabZoo(fixedDecoder string) ZooFunc {
	return func(input []int, classes int, o *Options) (*Model, error) {
		backbone := o.String("backbone", "xception", EncoderNames()...)
		decoder := fixedDecoder
		if decoder == "" {
			decoder = o.String("decoder", "v3plus", DecoderNames()...)
		}
		outputStride := o.Int("output_stride", 16)
		rates := o.Ints("rates", []int{6, 12, 18})
		width := o.Float("width", 1)
		if outputStride != 8 && outputStride != 16 {
			return nil, fmt.Errorf("output_stride must be 8 or 16, got %d", outputStride)
		}
		for _, r := range rates {
			if r <= 0 {
				return nil, fmt.Errorf("rates must be > 0, got %v", rates)
			}
		}
		if err := checkZoo(o, input, outputStride, width); err != nil {
			return nil, err
		}
		n := newNet(fmt.Sprintf("deeplab%s_%s", decoder, backbone), width)
		features := encoders[backbone](n, n.Input(input...), newStrides(outputStride))
		return n.Build(decoders[decoder](n, features, head{input: input, classes: orDefault(classes, 1), rates: rates}))
	}
}
