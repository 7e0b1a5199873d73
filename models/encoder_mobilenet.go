package models

// mobileNetV2 is Keras' MobileNetV2 (width = alpha) without its last 1×1
// convolution to 1280 channels, as DeepLab's MobileNetV2 backbones use it
// (the course's PyTorch port takes features[:-1]): inverted residual
// blocks that expand 1×1, filter depthwise 3×3 and project linearly 1×1,
// with ReLU6. Low-level features are the 24-channel stage's output.
func mobileNetV2(n *net, x *Tensor, s *strides) Features {
	stride, _ := s.down()
	x = n.convBN(x, divisible8(32*n.width), 3, stride, 1, "relu6")
	var low *Tensor
	for i, st := range []struct{ expand, filters, blocks, stride int }{
		{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
	} {
		out := divisible8(float64(st.filters) * n.width)
		stride, dilation := 1, s.dilation
		if st.stride == 2 {
			stride, dilation = s.down()
		}
		x = invertedResidual(n, x, st.expand, out, stride, dilation)
		for range st.blocks - 1 {
			x = invertedResidual(n, x, st.expand, out, 1, s.dilation)
		}
		if i == 1 {
			low = x
		}
	}
	return Features{Low: low, Out: x}
}

func invertedResidual(n *net, x *Tensor, expand, filters, stride, dilation int) *Tensor {
	in := x.Shape[2]
	y := x
	if expand != 1 {
		y = n.convBN(y, expand*in, 1, 1, 1, "relu6")
	}
	y = n.act(n.bn(n.Apply(depthwise3(stride, dilation), y)), "relu6")
	y = n.convBN(y, filters, 1, 1, 1, "")
	if stride == 1 && in == filters {
		return n.add(x, y)
	}
	return y
}

// divisible8 rounds a channel count to a multiple of 8, never more than
// 10% down, as MobileNet's width multiplier does.
func divisible8(v float64) int {
	c := max(8, int(v+4)/8*8)
	if float64(c) < 0.9*v {
		c += 8
	}
	return c
}
