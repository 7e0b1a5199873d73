package models

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tfrun/tfrun/layers"
)

// encoderModel builds a backbone alone, up to its output.
func encoderModel(t *testing.T, backbone string, input []int, outputStride int) (*Model, Features) {
	t.Helper()
	n := newNet(backbone, 1)
	f := encoders[backbone](n, n.Input(input...), newStrides(outputStride))
	m, err := n.Build(f.Out)
	if err != nil {
		t.Fatal(err)
	}
	return m, f
}

// TestEncoderParamCounts compares the full-width backbones with the
// "Total params" (moving statistics included) of Keras' summaries at
// 224×224×3: keras.applications ResNet50(include_top=False) 23,587,712,
// VGG16(include_top=False) 14,714,688 and MobileNetV2(alpha=1.0,
// include_top=False) 2,257,984. DeepLab's MobileNetV2 stops before Keras'
// last 1×1 convolution to 1280 channels and its batch norm, so those are
// added here. Dilation and output stride change no weights.
func TestEncoderParamCounts(t *testing.T) {
	const vggBiases = 2*64 + 2*128 + 3*256 + 6*512
	for _, tc := range []struct {
		backbone string
		extra    int64 // weights Keras' model has and the backbone lacks
		want     int64
	}{
		{"resnet50", 0, 23587712},
		{"vgg16", 0, 14714688},
		{"mobilenetv2", 320*1280 + 4*1280, 2257984},
		// VGG16-BN drops the convolutions' biases for four batch-norm
		// values per channel.
		{"vgg16_bn", 0, 14714688 - vggBiases + 4*vggBiases},
	} {
		m, _ := encoderModel(t, tc.backbone, []int{224, 224, 3}, 16)
		if got := m.ParamCount() + tc.extra; got != tc.want {
			t.Errorf("%s: %d parameters, want %d", tc.backbone, got, tc.want)
		}
	}
}

// TestDeepLabParamCounts compares whole models with bonlime's Keras
// DeepLabV3+ (github.com/bonlime/keras-deeplab-v3-plus, the model the
// course's DEEPLABV3plus follows), whose summaries at 512×512×3 with 21
// classes give 41,258,213 parameters with the Xception backbone and
// 2,146,645 with MobileNetV2. Its MobileNetV2 model runs at output stride 8
// and keeps only the image-pooling and 1×1 branches of ASPP with no
// low-level decoder: here, deeplabv3 with rates [].
func TestDeepLabParamCounts(t *testing.T) {
	for _, tc := range []struct {
		zoo     string
		options map[string]any
		want    int64
	}{
		{"deeplabv3plus", map[string]any{"backbone": "xception"}, 41258213},
		{"deeplabv3", map[string]any{"backbone": "mobilenetv2", "output_stride": 8, "rates": []any{}}, 2146645},
	} {
		m, err := FromZooWith(tc.zoo, []int{512, 512, 3}, 21, tc.options)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.ParamCount(); got != tc.want {
			t.Errorf("%s %v: %d parameters, want %d", tc.zoo, tc.options, got, tc.want)
		}
	}
}

func dilatedConvs(m *Model) int {
	count := 0
	for _, n := range m.Nodes {
		switch l := n.Layer.(type) {
		case *layers.Conv2D:
			count += min(1, l.Dilation[0]/2)
		case *layers.DepthwiseConv2D:
			count += min(1, l.Dilation[0]/2)
		}
	}
	return count
}

// TestDeepLabShapes builds every backbone × decoder × output stride on 1-,
// 4- and 13-band inputs and checks the strides the encoder reaches, the
// output's shape and activation.
func TestDeepLabShapes(t *testing.T) {
	for _, backbone := range EncoderNames() {
		dilated := map[int]int{}
		for _, os := range []int{8, 16} {
			_, f := encoderModel(t, backbone, []int{64, 64, 4}, os)
			if f.Low.Shape[0] != 16 || f.Out.Shape[0] != 64/os || f.Out.Shape[1] != 64/os {
				t.Errorf("%s at output stride %d: low-level %v, output %v", backbone, os, f.Low.Shape, f.Out.Shape)
			}
			for _, decoder := range DecoderNames() {
				for i, bands := range []int{1, 4, 13} {
					classes := []int{1, 3, 6}[i]
					opts := map[string]any{"backbone": backbone, "decoder": decoder, "output_stride": os, "width": 0.125}
					m, err := FromZooWith("deeplab", []int{32, 32, bands}, classes, opts)
					if err != nil {
						t.Fatalf("%v: %v", opts, err)
					}
					if s := m.Output.Shape; s[0] != 32 || s[1] != 32 || s[2] != classes {
						t.Errorf("%v, %d bands: output %v", opts, bands, s)
					}
					if got, want := m.OutputActivation(), outputActivation(classes); got != want {
						t.Errorf("%v: activation %s, want %s", opts, got, want)
					}
					if want := fmt.Sprintf("deeplab%s_%s", decoder, backbone); m.Name != want {
						t.Errorf("name %s, want %s", m.Name, want)
					}
					dilated[os] = dilatedConvs(m)
				}
			}
		}
		if dilated[8] <= dilated[16] {
			t.Errorf("%s: %d dilated convolutions at output stride 8, %d at 16", backbone, dilated[8], dilated[16])
		}
	}
}

func TestDeepLabVariants(t *testing.T) {
	build := func(zoo string, opts map[string]any) *Model {
		t.Helper()
		m, err := FromZooWith(zoo, []int{64, 64, 3}, 2, opts)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	// deeplabv3 and deeplabv3plus are deeplab with the decoder fixed.
	for _, d := range DecoderNames() {
		a := build("deeplab", map[string]any{"backbone": "resnet50", "decoder": d, "width": 0.25})
		b := build("deeplab"+d, map[string]any{"backbone": "resnet50", "width": 0.25})
		if a.ParamCount() != b.ParamCount() || a.MACs() != b.MACs() {
			t.Errorf("deeplab with decoder %s differs from deeplab%s", d, d)
		}
	}
	// Each atrous rate is one separable branch of ASPP.
	three := build("deeplabv3", map[string]any{"backbone": "mobilenetv2", "width": 0.5})
	four := build("deeplabv3", map[string]any{"backbone": "mobilenetv2", "width": 0.5, "rates": []any{3, 6, 12, 18}})
	if four.ParamCount() <= three.ParamCount() {
		t.Errorf("a fourth atrous rate adds no weights: %d vs %d", four.ParamCount(), three.ParamCount())
	}
	var rates []int
	for _, n := range four.Nodes {
		if l, ok := n.Layer.(*layers.DepthwiseConv2D); ok && len(n.Inputs[0].Shape) == 3 && n.Inputs[0].Shape[0] == 4 && l.Dilation[0] > 2 {
			rates = append(rates, l.Dilation[0])
		}
	}
	if fmt.Sprint(rates) != "[3 6 12 18]" {
		t.Errorf("ASPP rates %v, want [3 6 12 18]", rates)
	}
}

func TestZooErrors(t *testing.T) {
	for _, tc := range []struct {
		zoo   string
		input []int
		opts  map[string]any
		want  string
	}{
		{"deeplab", []int{32, 32, 3}, map[string]any{"backbone": "resnet18"}, "want one of [mobilenetv2 resnet50 vgg16 vgg16_bn xception], got resnet18"},
		{"deeplab", []int{32, 32, 3}, map[string]any{"decoder": "v4"}, "want one of [v3 v3plus]"},
		{"deeplab", []int{32, 32, 3}, map[string]any{"output_stride": 32}, "output_stride must be 8 or 16"},
		{"deeplab", []int{32, 32, 3}, map[string]any{"rates": []any{6, 0}}, "rates must be > 0"},
		{"deeplab", []int{32, 32, 3}, map[string]any{"rates": "6,12"}, "want a list of integers"},
		{"deeplab", []int{32, 32, 3}, map[string]any{"width": 0}, "width must be > 0"},
		{"deeplab", []int{40, 40, 3}, nil, "divisible by the network's stride 16"},
		{"deeplabv3", []int{32, 32, 3}, map[string]any{"decoder": "v3plus"}, "unknown options [decoder]"},
		{"fcn8", []int{48, 48, 3}, nil, "divisible by the network's stride 32"},
		{"unet-vgg", []int{32, 32}, nil, "input must be [height, width, bands]"},
		{"unet-mini", []int{32, 32, 3}, map[string]any{"dropout": 1.5}, "dropout in [0, 1)"},
		{"cbrrnet", []int{20, 20, 198}, nil, "divisible by the network's stride 8"},
		{"cbrrnet", []int{16, 16, 198}, map[string]any{"base": 0}, "base must be > 0"},
	} {
		_, err := FromZooWith(tc.zoo, tc.input, 2, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v %v: error %v, want it to mention %q", tc.zoo, tc.input, tc.opts, err, tc.want)
		}
	}
}

// TestZooSpecRoundTrip writes the new zoo models out as layers and builds
// them back.
func TestZooSpecRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		zoo  string
		opts map[string]any
	}{
		{"deeplab", map[string]any{"backbone": "xception", "output_stride": 8, "width": 0.125}},
		{"deeplabv3", map[string]any{"backbone": "mobilenetv2", "width": 0.25}},
		{"deeplabv3plus", map[string]any{"backbone": "resnet50", "width": 0.125}},
		{"deeplabv3plus", map[string]any{"backbone": "vgg16_bn", "width": 0.125}},
		{"fcn8", map[string]any{"width": 0.125}},
		{"unet-vgg", map[string]any{"width": 0.125, "batchnorm": true}},
		{"unet-mini", map[string]any{"base": 8}},
		{"cbrrnet", map[string]any{"base": 8}},
	} {
		m, err := FromZooWith(tc.zoo, []int{32, 32, 5}, 4, tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		back := roundTrip(t, m)
		if back.ParamCount() != m.ParamCount() || back.MACs() != m.MACs() || len(back.Nodes) != len(m.Nodes) ||
			back.OutputActivation() != m.OutputActivation() || fmt.Sprint(back.Output.Shape) != fmt.Sprint(m.Output.Shape) {
			t.Errorf("%s %v: the round trip changed the model", tc.zoo, tc.opts)
		}
	}
}
