package models

import "testing"

// convParams counts a k×k convolution's weights, with its bias.
func convParams(k, in, out int) int64 { return int64(k*k*in*out + out) }

// bnParams counts batch norm's gamma, beta and moving statistics.
func bnParams(c int) int64 { return int64(4 * c) }

// TestCourseZooParams checks the course's case-3 and case-4 models against
// counts worked out layer by layer from the course's Keras code.
func TestCourseZooParams(t *testing.T) {
	const bands, classes = 4, 2
	vgg := int64(14714688) - convParams(3, 3, 64) + convParams(3, bands, 64)

	mini := convParams(3, bands, 32) + convParams(3, 32, 32) +
		convParams(3, 32, 64) + convParams(3, 64, 64) +
		convParams(3, 64, 128) + convParams(3, 128, 128) +
		convParams(3, 128+64, 64) + convParams(3, 64, 64) +
		convParams(3, 64+32, 32) + convParams(3, 32, 32) +
		convParams(1, 32, classes)

	up := func(k int) int64 { return int64(k*k*classes*classes + classes) }
	fcn := vgg + convParams(1, 512, 4096) + convParams(1, 4096, 4096) + convParams(1, 4096, classes) +
		up(2) + convParams(1, 512, classes) + up(2) + convParams(1, 256, classes) + up(8) +
		convParams(1, classes, classes)

	unetVGG, below := vgg, 512
	for _, f := range []int{512, 256, 128, 64} {
		unetVGG += convParams(2, below, f) + convParams(3, 2*f, f) + convParams(3, f, f)
		below = f
	}
	unetVGG += convParams(1, 64, classes)

	cbrr := func(in, f int) int64 {
		return convParams(1, in, f) + convParams(3, f, f) + convParams(1, f, f) + 3*bnParams(f)
	}
	side := func(in int) int64 { return convParams(3, in, 64) + bnParams(64) }
	cbrrnet := cbrr(bands, 64) + cbrr(64, 128) + cbrr(128, 256) + cbrr(256, 512) + 2*cbrr(512, 512) + // encoder
		cbrr(512, 512) + cbrr(1024, 512) + cbrr(1024, 512) + // decoder at stride 8, each joined with 512
		cbrr(1024, 256) + cbrr(512, 128) + cbrr(256, 64) + // up-sampled levels
		3*side(1024) + side(512) + side(256) + side(128) + convParams(1, 6*64, classes)

	for _, tc := range []struct {
		zoo  string
		want int64
	}{{"unet-mini", mini}, {"fcn8", fcn}, {"unet-vgg", unetVGG}, {"cbrrnet", cbrrnet}} {
		m, err := FromZoo(tc.zoo, []int{64, 64, bands}, classes)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.ParamCount(); got != tc.want {
			t.Errorf("%s: %d parameters, want %d", tc.zoo, got, tc.want)
		}
		if s := m.Output.Shape; s[0] != 64 || s[1] != 64 || s[2] != classes || m.OutputActivation() != "softmax" {
			t.Errorf("%s: output %v %s", tc.zoo, s, m.OutputActivation())
		}
	}
}
