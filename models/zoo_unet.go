package models

import (
	"fmt"

	"github.com/tfrun/tfrun/layers"
)

// The course's U-Net (case 2): two 3×3 convolutions per level, max-pooling
// down, dropout at the two deepest levels, up-sampling followed by a 2×2
// convolution up, skip connections by concatenation, and a 1×1 output
// convolution (sigmoid for one class, softmax for several). Options:
// base (filters of the first level, 64 in the course), depth (poolings, 4),
// batchnorm (after each 3×3 convolution), upsample ("upsampling", the
// course's, or "transpose" for a 2×2 stride-2 transposed convolution) and
// dropout (0.5).
func init() {
	RegisterZoo("unet", func(input []int, classes int, o *Options) (*Model, error) {
		base := o.Int("base", 64)
		depth := o.Int("depth", 4)
		bn := o.Bool("batchnorm", false)
		up := o.String("upsample", "upsampling", "upsampling", "transpose")
		dropout := o.Float("dropout", 0.5)
		if err := o.Done(); err != nil {
			return nil, err
		}
		if len(input) != 3 {
			return nil, fmt.Errorf("input must be [height, width, channels], got %v", input)
		}
		if base <= 0 || depth <= 0 || dropout < 0 || dropout >= 1 {
			return nil, fmt.Errorf("need base > 0, depth > 0 and dropout in [0, 1); got %d, %d, %g", base, depth, dropout)
		}
		if input[0]%(1<<depth) != 0 || input[1]%(1<<depth) != 0 {
			return nil, fmt.Errorf("input %d×%d must be divisible by 2^depth = %d", input[0], input[1], 1<<depth)
		}
		classes = orDefault(classes, 1)
		f := NewFunctional("unet")
		block := func(x *Tensor, filters int) *Tensor {
			for range 2 {
				if bn {
					x = f.Apply(&layers.Conv2D{Filters: filters, Kernel: layers.Sq(3), Padding: "same", NoBias: true}, x)
					x = f.Apply(&layers.BatchNorm{}, x)
					x = f.Apply(&layers.Activation{Function: "relu"}, x)
				} else {
					x = f.Apply(&layers.Conv2D{Filters: filters, Kernel: layers.Sq(3), Padding: "same", Activation: "relu"}, x)
				}
			}
			return x
		}
		x := f.Input(input...)
		var skips []*Tensor
		for level := 0; level < depth; level++ {
			x = block(x, base<<level)
			if dropout > 0 && level == depth-1 {
				x = f.Apply(&layers.Dropout{Rate: dropout}, x)
			}
			skips = append(skips, x)
			x = f.Apply(layers.MaxPool2D(2), x)
		}
		x = block(x, base<<depth)
		if dropout > 0 {
			x = f.Apply(&layers.Dropout{Rate: dropout}, x)
		}
		for level := depth - 1; level >= 0; level-- {
			filters := base << level
			if up == "transpose" {
				x = f.Apply(&layers.Conv2DTranspose{Filters: filters, Kernel: layers.Sq(2), Strides: layers.Sq(2), Padding: "same", Activation: "relu"}, x)
			} else {
				x = f.Apply(&layers.UpSampling2D{Size: layers.Sq(2)}, x)
				x = f.Apply(&layers.Conv2D{Filters: filters, Kernel: layers.Sq(2), Padding: "same", Activation: "relu"}, x)
			}
			x = f.Apply(layers.Concatenate(), skips[level], x)
			x = block(x, filters)
		}
		activation := "sigmoid"
		if classes > 1 {
			activation = "softmax"
		} else {
			// The course's extra 3×3 convolution to 2 channels before the
			// sigmoid output.
			x = f.Apply(&layers.Conv2D{Filters: 2, Kernel: layers.Sq(3), Padding: "same", Activation: "relu"}, x)
		}
		out := f.Apply(&layers.Conv2D{Filters: classes, Kernel: layers.Sq(1), Activation: activation}, x)
		return f.Build(out)
	})
}
