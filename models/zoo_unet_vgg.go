package models

import (
	"fmt"

	"github.com/tfrun/tfrun/layers"
)

// Two U-Nets of the course's case 3. Both end in a 1×1 convolution with
// softmax (sigmoid for one class).
//
// unet-vgg is a U-Net on Keras' VGG16 convolutional base: the last
// convolution of blocks 1–4 are the skips, block 5 (stride 16) the
// bridge; each decoder level up-samples ×2, convolves 2×2 (as the course's
// U-Nets do), joins the skip and applies two 3×3 convolutions with the
// skip's filters. Options: width (filter multiplier, 1) and batchnorm
// (VGG16-BN and batch norm in the decoder, false). The course's own
// UNET_VGG is a plain 32→512 U-Net, which the `unet` zoo model builds
// with base 32.
//
// unet-mini is the course's UNET_MINI: two poolings, 32/64/128 filters,
// dropout between the two convolutions of every level, nearest-neighbour
// up-sampling. Options: base (32) and dropout (0.2).
func init() {
	RegisterZoo("unet-vgg", func(input []int, classes int, o *Options) (*Model, error) {
		width, bn, err := vggOptions(o, input, 16)
		if err != nil {
			return nil, err
		}
		n := newNet("unet_vgg", width)
		blocks, _ := vgg16(n, n.Input(input...), newStrides(16), bn)
		x := blocks[4]
		for level := 3; level >= 0; level-- {
			skip := blocks[level]
			filters := skip.Shape[2]
			x = n.Apply(&layers.UpSampling2D{Size: layers.Sq(2)}, x)
			x = n.act(n.conv(x, filters, 2, 1, 1, true), "relu")
			x = n.concat(skip, x)
			x = doubleConv(n, x, filters, 0, bn)
		}
		return n.Build(outputConv(n, x, classes))
	})
	RegisterZoo("unet-mini", func(input []int, classes int, o *Options) (*Model, error) {
		base := o.Int("base", 32)
		dropout := o.Float("dropout", 0.2)
		if err := checkZoo(o, input, 4, 1); err != nil {
			return nil, err
		}
		if base <= 0 || dropout < 0 || dropout >= 1 {
			return nil, fmt.Errorf("need base > 0 and dropout in [0, 1); got %d, %g", base, dropout)
		}
		n := newNet("unet_mini", 1)
		x := n.Input(input...)
		var skips []*Tensor
		for level := range 2 {
			x = doubleConv(n, x, base<<level, dropout, false)
			skips = append(skips, x)
			x = n.maxPool(x, 2, 2)
		}
		x = doubleConv(n, x, base<<2, dropout, false)
		for level := 1; level >= 0; level-- {
			x = n.concat(n.Apply(&layers.UpSampling2D{Size: layers.Sq(2)}, x), skips[level])
			x = doubleConv(n, x, base<<level, dropout, false)
		}
		return n.Build(outputConv(n, x, classes))
	})
}

// doubleConv is two 3×3 convolutions with ReLU, with dropout between them
// when dropout > 0, and batch norm before each ReLU when bn is set.
func doubleConv(n *net, x *Tensor, filters int, dropout float64, bn bool) *Tensor {
	for i := range 2 {
		if i == 1 && dropout > 0 {
			x = n.Apply(&layers.Dropout{Rate: dropout}, x)
		}
		x = n.conv3ReLU(x, filters, 1, bn)
	}
	return x
}

// outputConv is the 1×1 convolution to class scores with the output
// activation (sigmoid for one class, the default, softmax otherwise).
func outputConv(n *net, x *Tensor, classes int) *Tensor {
	classes = orDefault(classes, 1)
	return n.Apply(&layers.Conv2D{Filters: classes, Kernel: layers.Sq(1), Activation: outputActivation(classes)}, x)
}
