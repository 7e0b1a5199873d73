package models

import "slices"

// Features are what an encoder (backbone) hands to a decoder.
type Features struct {
	// Low is the low-level feature map at stride 4, DeepLabV3+'s skip.
	Low *Tensor
	// Out is the deepest feature map, at the output stride.
	Out *Tensor
}

// encoderFunc builds a backbone on x. Strides past s.target turn into
// dilation. The first convolution takes whatever bands x has.
type encoderFunc func(n *net, x *Tensor, s *strides) Features

// encoders are the backbones, by the names `backbone:` accepts; adding a
// backbone is one entry here.
var encoders = map[string]encoderFunc{
	"resnet50":    resnet50,
	"xception":    xception,
	"mobilenetv2": mobileNetV2,
	"vgg16":       func(n *net, x *Tensor, s *strides) Features { return vgg16Encoder(n, x, s, false) },
	"vgg16_bn":    func(n *net, x *Tensor, s *strides) Features { return vgg16Encoder(n, x, s, true) },
}

// EncoderNames lists the backbones.
func EncoderNames() []string { return sortedKeys(encoders) }

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
