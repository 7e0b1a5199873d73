package models

// xception is the aligned Xception of DeepLabV3+ (Xception-65, the
// course's default backbone): every max-pool of the original Xception is a
// strided separable convolution, the middle flow has 16 units, and the
// exit flow ends with three separable convolutions (1536, 1536, 2048).
// Low-level features are the second entry block's, taken before its
// strided convolution.
func xception(n *net, x *Tensor, s *strides) Features {
	stride, _ := s.down()
	x = n.convBN(x, n.ch(32), 3, stride, 1, "relu")
	x = n.convBN(x, n.ch(64), 3, 1, 1, "relu")
	stride, dilation := s.down()
	x, _ = xceptionBlock(n, x, n.chs(128, 128, 128), stride, dilation, "conv", false)
	stride, dilation = s.down()
	x, low := xceptionBlock(n, x, n.chs(256, 256, 256), stride, dilation, "conv", false)
	stride, dilation = s.down()
	x, _ = xceptionBlock(n, x, n.chs(728, 728, 728), stride, dilation, "conv", false)
	for range 16 {
		x, _ = xceptionBlock(n, x, n.chs(728, 728, 728), 1, s.dilation, "sum", false)
	}
	// Where the original Xception strides to 32; at output stride 8 or 16
	// this block dilates instead.
	stride, dilation = s.down()
	x, _ = xceptionBlock(n, x, n.chs(728, 1024, 1024), stride, dilation, "conv", false)
	x, _ = xceptionBlock(n, x, n.chs(1536, 1536, 2048), 1, s.dilation, "none", true)
	return Features{Low: low, Out: x}
}

// chs scales several filter counts.
func (n *net) chs(filters ...int) []int {
	out := make([]int, len(filters))
	for i, f := range filters {
		out[i] = n.ch(f)
	}
	return out
}

// xceptionBlock is three separable convolutions, the last one strided,
// with a shortcut that is a strided 1×1 convolution ("conv"), the input
// ("sum") or absent ("none"). It also returns the second convolution's
// output, the decoder's skip.
func xceptionBlock(n *net, x *Tensor, filters []int, stride, dilation int, shortcut string, depthAct bool) (out, skip *Tensor) {
	y := x
	for i, f := range filters {
		st := 1
		if i == len(filters)-1 {
			st = stride
		}
		y = n.sepConvBN(y, f, st, dilation, depthAct)
		if i == 1 {
			skip = y
		}
	}
	switch shortcut {
	case "conv":
		return n.add(y, n.bn(n.conv(x, filters[len(filters)-1], 1, stride, 1, false))), skip
	case "sum":
		return n.add(y, x), skip
	}
	return y, skip
}
