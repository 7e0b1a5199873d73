package models

// resnet50 is Keras' ResNet50 without its top (the course's RESNET50_head
// with the published 7×7 stem): bottleneck blocks in stages of 3, 4, 6 and
// 3, convolutions with biases followed by batch norm, the stride in each
// stage's first 1×1 convolution. Low-level features are stage 2's output.
func resnet50(n *net, x *Tensor, s *strides) Features {
	stride, _ := s.down()
	x = n.act(n.bn(n.conv(x, n.ch(64), 7, stride, 1, true)), "relu")
	stride, _ = s.down()
	x = n.maxPool(x, 3, stride)
	var low *Tensor
	for stage, spec := range []struct{ filters, blocks int }{{64, 3}, {128, 4}, {256, 6}, {512, 3}} {
		stride, dilation := 1, s.dilation
		if stage > 0 {
			stride, dilation = s.down()
		}
		x = bottleneck(n, x, n.ch(spec.filters), stride, dilation, true)
		for range spec.blocks - 1 {
			x = bottleneck(n, x, n.ch(spec.filters), 1, s.dilation, false)
		}
		if stage == 0 {
			low = x
		}
	}
	return Features{Low: low, Out: x}
}

// bottleneck is ResNet's 1×1 → 3×3 → 1×1 (×4 filters) block; the first
// block of a stage projects its shortcut with a strided 1×1 convolution.
func bottleneck(n *net, x *Tensor, filters, stride, dilation int, project bool) *Tensor {
	shortcut := x
	if project {
		shortcut = n.bn(n.conv(x, 4*filters, 1, stride, 1, true))
	}
	y := n.act(n.bn(n.conv(x, filters, 1, stride, 1, true)), "relu")
	y = n.act(n.bn(n.conv(y, filters, 3, 1, dilation, true)), "relu")
	y = n.bn(n.conv(y, 4*filters, 1, 1, 1, true))
	return n.act(n.add(y, shortcut), "relu")
}
