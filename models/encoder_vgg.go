package models

// vgg16Convs are VGG16's blocks: 3×3 convolutions per block, a 2×2
// max-pool after each.
var vgg16Convs = []struct{ filters, convs int }{{64, 2}, {128, 2}, {256, 3}, {512, 3}, {512, 3}}

// vgg16 is Keras' VGG16 convolutional base (the course's VGG16_head):
// 3×3 convolutions with biases and ReLU, or with batch norm and no bias
// when bn is set (VGG16-BN). It returns each block's last convolution,
// before its pool (U-Net's skips), and each block's pooled output (FCN's).
// A pool whose stride s refuses is left out, and the next block dilates.
func vgg16(n *net, x *Tensor, s *strides, bn bool) (blocks, pools []*Tensor) {
	for i, b := range vgg16Convs {
		if i > 0 {
			x = pools[i-1]
		}
		for range b.convs {
			x = n.conv3ReLU(x, n.ch(b.filters), s.dilation, bn)
		}
		blocks = append(blocks, x)
		pools = append(pools, vggPool(n, x, s))
	}
	return blocks, pools
}

func vggPool(n *net, x *Tensor, s *strides) *Tensor {
	if stride, _ := s.down(); stride == 2 {
		return n.maxPool(x, 2, 2)
	}
	return x
}

// vgg16Encoder ends at the fifth block's last convolution (stride 16, or 8
// with the fourth pool turned into dilation); DeepLab has no use for the
// fifth pool.
func vgg16Encoder(n *net, x *Tensor, s *strides, bn bool) Features {
	blocks, _ := vgg16(n, x, s, bn)
	return Features{Low: blocks[2], Out: blocks[4]}
}

// vggOptions reads the options of the models built on VGG16 alone: width
// (filter multiplier, 1) and batchnorm (VGG16-BN, false).
func vggOptions(o *Options, input []int, stride int) (width float64, bn bool, err error) {
	width = o.Float("width", 1)
	bn = o.Bool("batchnorm", false)
	return width, bn, checkZoo(o, input, stride, width)
}
