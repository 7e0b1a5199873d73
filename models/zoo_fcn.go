package models

import "github.com/tfrun/tfrun/layers"

// The course's FCN8: VGG16's convolutional base, its fully connected
// layers as 1×1 convolutions (4096 filters, dropout 0.3), class scores
// up-sampled by 2×2 transposed convolutions and fused with scores from
// pool4 and pool3 (FCN-8s' skips), an 8×8 transposed convolution back to
// the input size and a 1×1 output convolution (softmax; sigmoid for one
// class). Unlike the course, the class scores carry no ReLU: FCN's scores
// are linear, and a ReLU would clip every negative score before fusion.
// Options: width (filter multiplier, 1) and batchnorm (VGG16-BN, false).
func init() {
	RegisterZoo("fcn8", func(input []int, classes int, o *Options) (*Model, error) {
		width, bn, err := vggOptions(o, input, 32)
		if err != nil {
			return nil, err
		}
		classes = orDefault(classes, 1)
		n := newNet("fcn8", width)
		_, pools := vgg16(n, n.Input(input...), newStrides(32), bn)
		x := pools[4]
		for range 2 {
			x = n.act(n.conv(x, n.ch(4096), 1, 1, 1, true), "relu")
			x = n.Apply(&layers.Dropout{Rate: 0.3}, x)
		}
		x = n.conv(x, classes, 1, 1, 1, true)
		for _, pool := range []*Tensor{pools[3], pools[2]} {
			x = n.Apply(upConv(classes, 2), x)
			x = n.add(n.conv(pool, classes, 1, 1, 1, true), x)
		}
		x = n.Apply(upConv(classes, 8), x)
		return n.Build(outputConv(n, x, classes))
	})
}

// upConv is a transposed convolution that enlarges by its kernel size.
func upConv(filters, factor int) *layers.Conv2DTranspose {
	return &layers.Conv2DTranspose{Filters: filters, Kernel: layers.Sq(factor), Strides: layers.Sq(factor)}
}
