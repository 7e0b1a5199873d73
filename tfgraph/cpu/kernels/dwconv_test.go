//go:build cgo && !nodnnl

package kernels

import (
	"math/rand/v2"
	"testing"
)

// depthwiseCases are one-filter-per-channel convolutions, including the
// atrous ones oneDNN runs as a GEMM, whose kernel reaches past the input.
func depthwiseCases() map[string]*ConvSpec {
	one, two := []int{1, 1}, []int{2, 2}
	dw := func(n, c int, in, kernel, strides, dil, lo, hi []int) *ConvSpec {
		return convCase(n, c, c, c, in, kernel, strides, dil, lo, hi, nhwc(2))
	}
	return map[string]*ConvSpec{
		"3x3":               dw(2, 16, []int{9, 9}, []int{3, 3}, one, one, one, one),
		"1x1":               dw(3, 5, []int{4, 6}, one, one, one, []int{0, 0}, []int{0, 0}),
		"stride 2":          dw(2, 13, []int{11, 8}, []int{3, 3}, two, one, one, []int{1, 0}),
		"dilation 6":        dw(2, 24, []int{16, 16}, []int{3, 3}, one, []int{6, 6}, []int{6, 6}, []int{6, 6}),
		"dilation 18":       dw(1, 40, []int{16, 16}, []int{3, 3}, one, []int{18, 18}, []int{18, 18}, []int{18, 18}),
		"batch 1 nonsquare": dw(1, 9, []int{7, 5}, []int{2, 3}, one, []int{2, 1}, []int{0, 1}, []int{2, 1}),
	}
}

func TestDepthwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for name, s := range depthwiseCases() {
		if err := s.Validate(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !depthwise2D(s) {
			t.Fatalf("%s: not taken as depthwise", name)
		}
		if testing.Verbose() {
			t.Logf("%s: %s", name, PlanImpl(KindForward, s))
		}
		src, wei := randSlice(rng, s.Src.extent()), randSlice(rng, s.WeightsLen())
		bias := randSlice(rng, s.Dst.Dims[1])
		for _, e := range []Epilogue{{}, {Bias: bias, ReLU: true}} {
			want := make([]float32, s.Dst.extent())
			goConvForward(s, src, wei, want)
			goEpilogue(s, e, want)
			for impl, f := range map[string]func(y []float32) error{
				"own":      func(y []float32) error { dwForward(s, src, wei, e, y); return nil },
				"dispatch": func(y []float32) error { return ConvForwardThen(s, src, wei, e, y) },
			} {
				y := randSlice(rng, len(want))
				if err := f(y); err != nil {
					t.Fatalf("%s %s: %v", name, impl, err)
				}
				if err := relErr(y, want); err > 1e-5 {
					t.Errorf("%s %s bias and relu %v: relative error %.2g", name, impl, e.Bias != nil, err)
				}
			}
		}
	}
	if s := convCases()["nchw"]; depthwise2D(s) {
		t.Error("a plain convolution was taken as depthwise")
	}
	s := convCase(1, 4, 4, 4, []int{5, 5}, []int{3, 3}, []int{1, 1}, []int{1, 1}, []int{1, 1}, []int{1, 1}, nil)
	if depthwise2D(s) {
		t.Error("a channels-first depthwise convolution was taken for the channels-last kernel")
	}
}
