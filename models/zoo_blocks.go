package models

import (
	"fmt"
	"math"

	"github.com/tfrun/tfrun/layers"
)

// net is a Functional with the settings the zoo's larger models share: a
// width multiplier that scales every filter count (1 is the published
// architecture; small values make tests fast) and the batch-norm momentum.
type net struct {
	*Functional
	width      float64
	bnMomentum float64 // 0 is Keras' 0.99
}

func newNet(name string, width float64) *net {
	return &net{Functional: NewFunctional(name), width: width}
}

// ch scales a filter count by the width multiplier, keeping at least one.
func (n *net) ch(filters int) int {
	return max(1, int(math.Round(float64(filters)*n.width)))
}

// unitPair leaves a Pair unset where it is 1, so saved specs stay short.
func unitPair(v int) layers.Pair {
	if v == 1 {
		return layers.Pair{}
	}
	return layers.Sq(v)
}

// conv applies a "same" convolution.
func (n *net) conv(x *Tensor, filters, kernel, stride, dilation int, bias bool) *Tensor {
	return n.Apply(&layers.Conv2D{Filters: filters, Kernel: layers.Sq(kernel), Strides: unitPair(stride),
		Dilation: unitPair(dilation), Padding: "same", NoBias: !bias}, x)
}

func (n *net) bn(x *Tensor) *Tensor {
	return n.Apply(&layers.BatchNorm{Momentum: n.bnMomentum}, x)
}

var six = 6.0

// act applies "relu", "relu6" (MobileNet's) or nothing for "".
func (n *net) act(x *Tensor, name string) *Tensor {
	switch name {
	case "":
		return x
	case "relu6":
		return n.Apply(&layers.ReLU{MaxValue: &six}, x)
	}
	return n.Apply(&layers.Activation{Function: name}, x)
}

// convBN is a bias-free convolution, batch norm and an activation.
func (n *net) convBN(x *Tensor, filters, kernel, stride, dilation int, act string) *Tensor {
	return n.act(n.bn(n.conv(x, filters, kernel, stride, dilation, false)), act)
}

// conv3ReLU is a 3×3 convolution and ReLU, with batch norm in between
// (and no bias) when bn is set.
func (n *net) conv3ReLU(x *Tensor, filters, dilation int, bn bool) *Tensor {
	if bn {
		return n.convBN(x, filters, 3, 1, dilation, "relu")
	}
	return n.act(n.conv(x, filters, 3, 1, dilation, true), "relu")
}

// depthwise3 is a bias-free "same" 3×3 depthwise convolution.
func depthwise3(stride, dilation int) *layers.DepthwiseConv2D {
	return &layers.DepthwiseConv2D{Kernel: layers.Sq(3), Strides: unitPair(stride), Dilation: unitPair(dilation), Padding: "same", NoBias: true}
}

// sepConvBN is DeepLab's separable convolution with batch norm between the
// depthwise and the pointwise step. With depthAct a ReLU follows each batch
// norm; without, one ReLU comes first (Xception's pre-activation).
func (n *net) sepConvBN(x *Tensor, filters, stride, dilation int, depthAct bool) *Tensor {
	inner := ""
	if depthAct {
		inner = "relu"
	} else {
		x = n.act(x, "relu")
	}
	x = n.act(n.bn(n.Apply(depthwise3(stride, dilation), x)), inner)
	return n.convBN(x, filters, 1, 1, 1, inner)
}

func (n *net) add(xs ...*Tensor) *Tensor    { return n.Apply(layers.Add(), xs...) }
func (n *net) concat(xs ...*Tensor) *Tensor { return n.Apply(layers.Concatenate(), xs...) }

// maxPool max-pools with the given stride; an overlapping pool (3×3 with
// stride 2) pads "same" so that the size halves exactly.
func (n *net) maxPool(x *Tensor, pool, stride int) *Tensor {
	p := layers.MaxPool2D(pool)
	if stride != pool {
		p.Strides, p.Padding = layers.Sq(stride), "same"
	}
	return n.Apply(p, x)
}

// upsample enlarges x to height×width by an integer factor.
func (n *net) upsample(x *Tensor, height, width int, interpolation string) *Tensor {
	return n.Apply(&layers.UpSampling2D{Size: layers.Pair{height / x.Shape[0], width / x.Shape[1]}, Interpolation: interpolation}, x)
}

// strides follows an encoder's resolution against a target output stride.
// Where the architecture would halve the resolution beyond the target, the
// layer keeps stride 1 and later layers dilate instead (atrous convolution),
// so the receptive field grows as in the original network.
type strides struct{ target, stride, dilation int }

func newStrides(target int) *strides { return &strides{target: target, stride: 1, dilation: 1} }

// down is called where the architecture strides by 2. It gives the stride
// and dilation of that layer; later layers use s.dilation. The layer that
// loses its stride keeps the previous dilation, as DeepLab's reference
// models and torchvision's replace_stride_with_dilation do.
func (s *strides) down() (stride, dilation int) {
	d := s.dilation
	if s.stride*2 <= s.target {
		s.stride *= 2
		return 2, d
	}
	s.dilation *= 2
	return 1, d
}

// checkInput checks that an image input has three axes and that height and
// width divide by the network's total stride.
func checkInput(input []int, stride int) error {
	if len(input) != 3 {
		return fmt.Errorf("input must be [height, width, bands], got %v", input)
	}
	if input[0]%stride != 0 || input[1]%stride != 0 {
		return fmt.Errorf("input %d×%d must be divisible by the network's stride %d", input[0], input[1], stride)
	}
	return nil
}

// checkZoo finishes reading options and checks the input and width.
func checkZoo(o *Options, input []int, stride int, width float64) error {
	if err := o.Done(); err != nil {
		return err
	}
	if width <= 0 {
		return fmt.Errorf("width must be > 0, got %g", width)
	}
	return checkInput(input, stride)
}

// outputActivation is sigmoid for one class (binary maps) and softmax
// otherwise.
func outputActivation(classes int) string {
	if classes == 1 {
		return "sigmoid"
	}
	return "softmax"
}
