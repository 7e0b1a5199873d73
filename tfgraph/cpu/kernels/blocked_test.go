package kernels

import (
	"math/rand/v2"
	"testing"
)

// blockedOffset is where oneDNN's 8-channel blocked layout of dims [N, C,
// spatial...] keeps element idx: channel blocks outside the spatial axes,
// 8 channels innermost.
func blockedOffset(dims, idx []int) int {
	off := idx[0]*(dims[1]/8) + idx[1]/8
	for a := 2; a < len(dims); a++ {
		off = off*dims[a] + idx[a]
	}
	return off*8 + idx[1]%8
}

// toBlocked returns the plain layout l's values of data in the blocked
// layout.
func toBlocked(l Layout, data []float32) []float32 {
	out := make([]float32, len(data))
	idx := make([]int, len(l.Dims))
	eachIndex(l.Dims, idx, func() {
		off := 0
		for a, i := range idx {
			off += i * l.Strides[a]
		}
		out[blockedOffset(l.Dims, idx)] = data[off]
	})
	return out
}

func eachIndex(dims, idx []int, f func()) {
	for {
		f()
		a := len(idx) - 1
		for ; a >= 0; a-- {
			if idx[a]++; idx[a] < dims[a] {
				break
			}
			idx[a] = 0
		}
		if a < 0 {
			return
		}
	}
}

// TestBlockedChain runs a ResNet-like pair of convolutions with the
// activation between them, and the second one's output, in the blocked
// layout, and checks both against the strided path and the blocked
// layout's definition.
func TestBlockedChain(t *testing.T) {
	if !Available() {
		t.Skip("oneDNN is not loaded: the blocked layout is never used")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	one, zero := []int{1, 1}, []int{0, 0}
	first := convCase(2, 32, 64, 1, []int{9, 7}, []int{1, 1}, one, one, zero, zero, nhwc(2))
	second := convCase(2, 64, 32, 1, []int{9, 7}, []int{3, 3}, one, []int{2, 2}, []int{2, 2}, []int{2, 2}, nhwc(2))
	_, dst1 := BlockedLayouts(first, true, true)
	src2, dst2 := BlockedLayouts(second, false, false)
	if !dst1 || !src2 || !dst2 {
		t.Fatalf("blocked layouts: first destination %v, second source %v and destination %v; want all", dst1, src2, dst2)
	}
	x := randSlice(rng, first.Src.extent())
	w1, w2 := randSlice(rng, first.WeightsLen()), randSlice(rng, second.WeightsLen())
	bias := randSlice(rng, 64)
	e := Epilogue{Bias: bias, ReLU: true}

	mid, want := make([]float32, first.Dst.extent()), make([]float32, second.Dst.extent())
	if err := ConvForwardThen(first, x, w1, e, mid); err != nil {
		t.Fatal(err)
	}
	if err := ConvForward(second, mid, w2, want); err != nil {
		t.Fatal(err)
	}

	b1, b2 := *first, *second
	b1.DstBlocked, b2.SrcBlocked, b2.DstBlocked = true, true, true
	midBlocked, gotBlocked := make([]float32, len(mid)), make([]float32, len(want))
	if err := ConvForwardThen(&b1, x, w1, e, midBlocked); err != nil {
		t.Fatal(err)
	}
	if e := relErr(midBlocked, toBlocked(first.Dst, mid)); e != 0 {
		t.Errorf("first destination in the blocked layout: relative error %.2g", e)
	}
	if err := ConvForward(&b2, midBlocked, w2, gotBlocked); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, len(want))
	if err := Unblock(second.Dst.Dims, second.Dst.Strides, gotBlocked, got); err != nil {
		t.Fatal(err)
	}
	if e := relErr(got, want); e > 1e-6 {
		t.Errorf("blocked chain: relative error %.2g against the strided one", e)
	}

	mask, maskBlocked := make([]bool, len(want)), make([]bool, len(want))
	for i, v := range gotBlocked {
		maskBlocked[i] = v > 0
	}
	if err := Unblock(second.Dst.Dims, second.Dst.Strides, maskBlocked, mask); err != nil {
		t.Fatal(err)
	}
	for i, v := range want {
		if mask[i] != (v > 0) {
			t.Fatalf("bool unblock: element %d is %v, want %v", i, mask[i], v > 0)
		}
	}

	// A pass whose primitive does not block (3 input channels) refuses a
	// blocked buffer rather than reading it as strided.
	stem := convCase(2, 3, 32, 1, []int{9, 7}, []int{3, 3}, one, one, one, one, nhwc(2))
	if src, _ := BlockedLayouts(stem, false, false); src {
		t.Fatal("a 3-channel source reported blocked")
	}
	stem.SrcBlocked = true
	if err := ConvForward(stem, make([]float32, stem.Src.extent()), make([]float32, stem.WeightsLen()),
		make([]float32, stem.Dst.extent())); err == nil {
		t.Error("a blocked source was accepted by a pass that does not take one")
	}
	if err := ConvBackwardData(&b2, make([]float32, len(want)), w2, make([]float32, len(mid))); err == nil {
		t.Error("a backward pass accepted a blocked layout")
	}
}
