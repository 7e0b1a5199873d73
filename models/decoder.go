package models

import "github.com/tfrun/tfrun/layers"

// head is what a decoder needs besides the features.
type head struct {
	input   []int // the model's input, whose size the output takes
	classes int
	rates   []int // ASPP's atrous rates
}

// decoderFunc turns an encoder's features into the model's output.
type decoderFunc func(n *net, f Features, h head) *Tensor

// decoders are DeepLab's heads, by the names `decoder:` accepts.
var decoders = map[string]decoderFunc{
	"v3":     deeplabV3,
	"v3plus": deeplabV3Plus,
}

// DecoderNames lists DeepLab's decoders.
func DecoderNames() []string { return sortedKeys(decoders) }

// aspp is atrous spatial pyramid pooling: an image-pooling branch, a 1×1
// convolution and one separable atrous convolution per rate, concatenated
// and projected to 256 channels.
func aspp(n *net, x *Tensor, rates []int) *Tensor {
	filters := n.ch(256)
	pooled := n.Apply(&layers.GlobalAvgPool2D{}, x)
	pooled = n.Apply(&layers.Reshape{Target: []int{1, 1, x.Shape[2]}}, pooled)
	pooled = n.convBN(pooled, filters, 1, 1, 1, "relu")
	// Bilinear up-sampling of a 1×1 map is a copy; nearest neighbour does
	// the same with a broadcast.
	branches := []*Tensor{n.upsample(pooled, x.Shape[0], x.Shape[1], "nearest"), n.convBN(x, filters, 1, 1, 1, "relu")}
	for _, r := range rates {
		branches = append(branches, n.sepConvBN(x, filters, 1, r, true))
	}
	y := n.convBN(n.concat(branches...), filters, 1, 1, 1, "relu")
	return n.Apply(&layers.Dropout{Rate: 0.1}, y)
}

// classify maps features to class scores with a 1×1 convolution, resizes
// them bilinearly to the input size and applies softmax (sigmoid for one
// class).
func classify(n *net, x *Tensor, h head) *Tensor {
	y := n.conv(x, h.classes, 1, 1, 1, true)
	y = n.upsample(y, h.input[0], h.input[1], "bilinear")
	return n.Apply(&layers.Activation{Function: outputActivation(h.classes)}, y)
}

// deeplabV3 is ASPP on the encoder's output, then straight to the input
// size.
func deeplabV3(n *net, f Features, h head) *Tensor {
	return classify(n, aspp(n, f.Out, h.rates), h)
}

// deeplabV3Plus up-samples ASPP's output to stride 4, joins it with the
// low-level features projected to 48 channels, and refines with two
// separable convolutions.
func deeplabV3Plus(n *net, f Features, h head) *Tensor {
	x := aspp(n, f.Out, h.rates)
	x = n.upsample(x, f.Low.Shape[0], f.Low.Shape[1], "bilinear")
	x = n.concat(x, n.convBN(f.Low, n.ch(48), 1, 1, 1, "relu"))
	x = n.sepConvBN(x, n.ch(256), 1, 1, true)
	x = n.sepConvBN(x, n.ch(256), 1, 1, true)
	return classify(n, x, h)
}
