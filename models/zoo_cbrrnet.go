package models

import "fmt"

// The course's CBRR-Net for hyperspectral patches (case 4). A CBRR block
// is Conv1×1-BN-ReLU, a dilated Conv3×3-BN-ReLU and Conv1×1-BN-ReLU, plus
// the first step's output (the residual). The encoder has blocks of 64,
// 128 and 256 filters, each followed by a 2×2 max-pool, then three 512
// blocks at dilations 1, 2 and 4 (stride 8). The decoder mirrors it: 512
// blocks at dilations 4, 2, 1, then bilinear ×2 up-sampling before the 256,
// 128 and 64 blocks; each decoder block's output is joined with the encoder
// output of the same place. Deep supervision: every decoder level gives a
// side output (3×3 convolution, BN, ReLU, bilinear up-sampling to the
// input size); the six are concatenated and fused by a 1×1 convolution
// with softmax (sigmoid for one class). As in the course's Keras model, the
// 3×3 "outputs_pre" convolution it computes is not on the output's path,
// so it is left out. Batch norm uses the course's momentum 0.95.
// Options: base (the first block's filters and the side outputs', 64; the
// others scale with it).
func init() {
	RegisterZoo("cbrrnet", func(input []int, classes int, o *Options) (*Model, error) {
		base := o.Int("base", 64)
		if err := checkZoo(o, input, 8, 1); err != nil {
			return nil, err
		}
		if base <= 0 {
			return nil, fmt.Errorf("base must be > 0, got %d", base)
		}
		n := newNet("cbrrnet", 1)
		n.bnMomentum = 0.95
		x := n.Input(input...)
		var enc []*Tensor
		for level := range 3 {
			x = cbrr(n, x, base<<level, 1)
			enc = append(enc, x)
			x = n.maxPool(x, 2, 2)
		}
		for _, d := range []int{1, 2, 4} {
			x = cbrr(n, x, 8*base, d)
			enc = append(enc, x)
		}
		var sides []*Tensor
		for i, d := range []int{4, 2, 1} {
			x = n.concat(cbrr(n, x, 8*base, d), enc[5-i])
			sides = append(sides, x)
		}
		for level := 2; level >= 0; level-- {
			x = n.upsample(x, enc[level].Shape[0], enc[level].Shape[1], "bilinear")
			x = n.concat(cbrr(n, x, base<<level, 1), enc[level])
			sides = append(sides, x)
		}
		for i, s := range sides {
			s = n.act(n.bn(n.conv(s, base, 3, 1, 1, true)), "relu")
			if s.Shape[0] != input[0] {
				s = n.upsample(s, input[0], input[1], "bilinear")
			}
			sides[i] = s
		}
		return n.Build(outputConv(n, n.concat(sides...), classes))
	})
}

// cbrr is CBRR-Net's residual block; convolutions keep their biases, as
// in the course.
func cbrr(n *net, x *Tensor, filters, dilation int) *Tensor {
	first := n.act(n.bn(n.conv(x, filters, 1, 1, 1, true)), "relu")
	y := n.act(n.bn(n.conv(first, filters, 3, 1, dilation, true)), "relu")
	y = n.act(n.bn(n.conv(y, filters, 1, 1, 1, true)), "relu")
	return n.add(y, first)
}
