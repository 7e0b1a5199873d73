package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// dense returns the row-major layout of dims in the order given by perm:
// perm lists the logical axes from the outermost in memory to the innermost.
// dense(dims, nil) is plain row-major.
func dense(dims []int, perm []int) Layout {
	strides := make([]int, len(dims))
	step := 1
	for i := len(dims) - 1; i >= 0; i-- {
		axis := i
		if perm != nil {
			axis = perm[i]
		}
		strides[axis] = step
		step *= dims[axis]
	}
	return Layout{Dims: append([]int(nil), dims...), Strides: strides}
}

// flops is the count of floating-point operations of one pass, two per
// multiply-accumulate.
func flops(s *ConvSpec) float64 {
	f := 2 * float64(s.WeightsLen()) * float64(s.Src.Dims[0])
	for _, d := range s.Dst.Dims[2:] {
		f *= float64(d)
	}
	return f
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

// relErr is the largest absolute difference relative to the largest
// reference magnitude.
func relErr(got, want []float32) float64 {
	var diff, scale float64
	for i := range want {
		diff = max(diff, math.Abs(float64(got[i])-float64(want[i])))
		scale = max(scale, math.Abs(float64(want[i])))
	}
	if scale == 0 {
		return diff
	}
	return diff / scale
}

func naiveGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := range m {
		for j := range n {
			var sum float64
			for p := range k {
				ai, bi := i*lda+p, p*ldb+j
				if transA {
					ai = p*lda + i
				}
				if transB {
					bi = j*ldb + p
				}
				av, bv := a[ai], b[bi]
				sum += float64(av) * float64(bv)
			}
			c[i*ldc+j] = alpha*float32(sum) + beta*c[i*ldc+j]
		}
	}
}

func TestSgemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		ta, tb  bool
		m, n, k int
		pad     int // extra row stride
	}{
		{false, false, 1, 1, 1, 0}, {false, false, 37, 29, 300, 0}, {true, false, 64, 33, 17, 3},
		{false, true, 5, 130, 513, 1}, {true, true, 70, 9, 40, 2}, {false, false, 3, 4, 0, 0},
	} {
		lda := tc.k + tc.pad
		if tc.ta {
			lda = tc.m + tc.pad
		}
		ldb := tc.n + tc.pad
		if tc.tb {
			ldb = tc.k + tc.pad
		}
		ldc := tc.n + tc.pad
		rowsA, rowsB := tc.m, tc.k
		if tc.ta {
			rowsA = tc.k
		}
		if tc.tb {
			rowsB = tc.n
		}
		a, b := randSlice(rng, rowsA*lda), randSlice(rng, rowsB*ldb)
		c0 := randSlice(rng, tc.m*ldc)
		want := append([]float32(nil), c0...)
		naiveGemm(tc.ta, tc.tb, tc.m, tc.n, tc.k, 0.5, a, lda, b, ldb, 2, want, ldc)
		for name, f := range map[string]func(c []float32){
			"Sgemm": func(c []float32) { Sgemm(tc.ta, tc.tb, tc.m, tc.n, tc.k, 0.5, a, lda, b, ldb, 2, c, ldc) },
			"go": func(c []float32) {
				goSgemm(2, tc.ta, tc.tb, tc.m, tc.n, tc.k, 0.5, a, lda, b, ldb, 2, c, ldc)
			},
		} {
			got := append([]float32(nil), c0...)
			f(got)
			if e := relErr(got, want); e > 1e-5 {
				t.Errorf("%s %+v: relative error %.2g", name, tc, e)
			}
		}
	}
}

// naiveConv visits every (source, weight, destination) offset triple that
// contributes to the convolution.
func naiveConv(s *ConvSpec, visit func(src, wei, dst int)) {
	sp := len(s.Kernel)
	g := s.groups()
	cg, og := s.Src.Dims[1]/g, s.Dst.Dims[1]/g
	kvol := 1
	for _, k := range s.Kernel {
		kvol *= k
	}
	outPos := 1
	for _, d := range s.Dst.Dims[2:] {
		outPos *= d
	}
	oidx, kidx := make([]int, sp), make([]int, sp)
	for n := range s.Src.Dims[0] {
		for o := range s.Dst.Dims[1] {
			grp := o / og
			for p := range outPos {
				r := p
				for i := sp - 1; i >= 0; i-- {
					oidx[i] = r % s.Dst.Dims[2+i]
					r /= s.Dst.Dims[2+i]
				}
				dst := n*s.Dst.Strides[0] + o*s.Dst.Strides[1]
				for i := range sp {
					dst += oidx[i] * s.Dst.Strides[2+i]
				}
				for c := range cg {
					for q := range kvol {
						r := q
						for i := sp - 1; i >= 0; i-- {
							kidx[i] = r % s.Kernel[i]
							r /= s.Kernel[i]
						}
						src := n*s.Src.Strides[0] + (grp*cg+c)*s.Src.Strides[1]
						inside := true
						for i := range sp {
							pos := oidx[i]*s.Strides[i] - s.PadLo[i] + kidx[i]*s.Dilations[i]
							inside = inside && pos >= 0 && pos < s.Src.Dims[2+i]
							src += pos * s.Src.Strides[2+i]
						}
						if inside {
							visit(src, (o*cg+c)*kvol+q, dst)
						}
					}
				}
			}
		}
	}
}

// convCase builds a spec from an activation-axis order: perm lists the
// logical axes [N, C, spatial...] from outermost to innermost in memory.
func convCase(n, c, o, groups int, in, kernel, strides, dil, lo, hi []int, perm []int) *ConvSpec {
	sp := len(in)
	out := make([]int, sp)
	for i := range sp {
		eff := (kernel[i]-1)*dil[i] + 1
		out[i] = (in[i]+lo[i]+hi[i]-eff)/strides[i] + 1
	}
	return &ConvSpec{
		Src: dense(append([]int{n, c}, in...), perm), Dst: dense(append([]int{n, o}, out...), perm),
		Kernel: kernel, Groups: groups, Strides: strides, Dilations: dil, PadLo: lo, PadHi: hi,
	}
}

func nhwc(sp int) []int {
	perm := []int{0}
	for i := range sp {
		perm = append(perm, 2+i)
	}
	return append(perm, 1)
}

func convCases() map[string]*ConvSpec {
	one, two := []int{1, 1}, []int{2, 2}
	return map[string]*ConvSpec{
		"3x3 same":          convCase(2, 8, 16, 1, []int{9, 9}, []int{3, 3}, one, one, one, one, nhwc(2)),
		"1x1":               convCase(3, 5, 7, 1, []int{4, 6}, []int{1, 1}, one, one, []int{0, 0}, []int{0, 0}, nhwc(2)),
		"stride 2":          convCase(2, 4, 6, 1, []int{11, 8}, []int{3, 3}, two, one, one, []int{1, 0}, nhwc(2)),
		"dilation 6":        convCase(1, 3, 5, 1, []int{20, 17}, []int{3, 3}, one, []int{6, 6}, []int{6, 6}, []int{6, 6}, nhwc(2)),
		"batch 1 nonsquare": convCase(1, 3, 4, 1, []int{7, 5}, []int{2, 3}, one, one, []int{0, 1}, []int{1, 1}, nhwc(2)),
		"groups 2":          convCase(2, 6, 4, 2, []int{6, 6}, []int{3, 3}, one, one, one, one, nhwc(2)),
		"depthwise":         convCase(2, 8, 8, 8, []int{7, 7}, []int{3, 3}, two, one, one, one, nhwc(2)),
		"nchw":              convCase(2, 5, 3, 1, []int{6, 7}, []int{3, 3}, one, one, one, one, nil),
		"cnhw":              convCase(2, 5, 3, 1, []int{6, 7}, []int{3, 2}, one, one, one, []int{1, 0}, []int{1, 0, 2, 3}),
		"1d":                convCase(2, 4, 6, 1, []int{13}, []int{5}, []int{2}, []int{1}, []int{2}, []int{2}, nhwc(1)),
		"3d":                convCase(1, 3, 4, 1, []int{5, 4, 6}, []int{3, 2, 3}, []int{1, 2, 1}, []int{1, 1, 2}, []int{1, 0, 2}, []int{1, 1, 2}, nhwc(3)),
		"wide kernel":       convCase(4, 3, 2, 1, []int{10, 10}, []int{8, 9}, one, one, []int{1, 0}, []int{0, 1}, nhwc(2)),
	}
}

func TestConv(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for name, s := range convCases() {
		if err := s.Validate(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		src, dy := randSlice(rng, s.Src.extent()), randSlice(rng, s.Dst.extent())
		wei := randSlice(rng, s.WeightsLen())
		wantY := make([]float32, len(dy))
		wantDX := make([]float32, len(src))
		wantDW := make([]float32, len(wei))
		naiveConv(s, func(si, wi, di int) {
			wantY[di] += src[si] * wei[wi]
			wantDX[si] += dy[di] * wei[wi]
			wantDW[wi] += src[si] * dy[di]
		})
		impls := map[string][3]func(y, dx, dw []float32) error{
			"dispatch": {
				func(y, _, _ []float32) error { return ConvForward(s, src, wei, y) },
				func(_, dx, _ []float32) error { return ConvBackwardData(s, dy, wei, dx) },
				func(_, _, dw []float32) error { return ConvBackwardWeights(s, src, dy, dw) },
			},
			"go": {
				func(y, _, _ []float32) error { goConvForward(s, src, wei, y); return nil },
				func(_, dx, _ []float32) error { goConvBackwardData(s, dy, wei, dx); return nil },
				func(_, _, dw []float32) error { goConvBackwardWeights(s, src, dy, dw); return nil },
			},
		}
		for impl, fs := range impls {
			// Outputs start as garbage: every kernel must overwrite all of it.
			y, dx, dw := randSlice(rng, len(dy)), randSlice(rng, len(src)), randSlice(rng, len(wei))
			for pass, f := range fs {
				if err := f(y, dx, dw); err != nil {
					t.Fatalf("%s %s pass %d: %v", name, impl, pass, err)
				}
			}
			for _, c := range []struct {
				what      string
				got, want []float32
			}{{"forward", y, wantY}, {"backward data", dx, wantDX}, {"backward weights", dw, wantDW}} {
				if e := relErr(c.got, c.want); e > 1e-5 {
					t.Errorf("%s %s %s: relative error %.2g", name, impl, c.what, e)
				}
			}
		}
		if testing.Verbose() {
			for _, k := range []ConvKind{KindForward, KindBackwardData, KindBackwardWeights} {
				t.Logf("%s kind %d: %s", name, k, PlanImpl(k, s))
			}
		}
	}
}

// TestConvEpilogue checks a forward convolution with a bias and a ReLU
// against ConvForward followed by both, applied by walking the output
// layout.
func TestConvEpilogue(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for name, s := range convCases() {
		src, wei := randSlice(rng, s.Src.extent()), randSlice(rng, s.WeightsLen())
		bias := randSlice(rng, s.Dst.Dims[1])
		plain := make([]float32, s.Dst.extent())
		if err := ConvForward(s, src, wei, plain); err != nil {
			t.Fatal(err)
		}
		for _, e := range []Epilogue{{Bias: bias}, {ReLU: true}, {Bias: bias, ReLU: true}} {
			want := slices.Clone(plain)
			eachOffset(s.Dst, func(off, channel int) {
				if e.Bias != nil {
					want[off] += e.Bias[channel]
				}
				if e.ReLU {
					want[off] = max(want[off], 0)
				}
			})
			for impl, f := range map[string]func(y []float32) error{
				"dispatch": func(y []float32) error { return ConvForwardThen(s, src, wei, e, y) },
				"go": func(y []float32) error {
					goConvForward(s, src, wei, y)
					goEpilogue(s, e, y)
					return nil
				},
			} {
				y := randSlice(rng, len(want))
				if err := f(y); err != nil {
					t.Fatalf("%s %s: %v", name, impl, err)
				}
				if err := relErr(y, want); err > 1e-5 {
					t.Errorf("%s %s bias %v relu %v: relative error %.2g", name, impl, e.Bias != nil, e.ReLU, err)
				}
			}
		}
	}
	s := convCases()["1x1"]
	if err := ConvForwardThen(s, make([]float32, s.Src.extent()), make([]float32, s.WeightsLen()),
		Epilogue{Bias: make([]float32, 3)}, make([]float32, s.Dst.extent())); err == nil {
		t.Error("a bias of the wrong length was accepted")
	}
}

// eachOffset calls f with the offset and channel of every element of l.
func eachOffset(l Layout, f func(off, channel int)) {
	idx := make([]int, len(l.Dims))
	for {
		off := 0
		for i, x := range idx {
			off += x * l.Strides[i]
		}
		f(off, idx[1])
		a := len(idx) - 1
		for ; a >= 0; a-- {
			if idx[a]++; idx[a] < l.Dims[a] {
				break
			}
			idx[a] = 0
		}
		if a < 0 {
			return
		}
	}
}

func TestConvValidate(t *testing.T) {
	s := convCase(1, 2, 2, 1, []int{5, 5}, []int{3, 3}, []int{1, 1}, []int{1, 1}, []int{1, 1}, []int{1, 1}, nhwc(2))
	s.Dst.Dims[2] = 4
	if err := ConvForward(s, make([]float32, 50), make([]float32, 36), make([]float32, 40)); err == nil {
		t.Error("a wrong output size was accepted")
	}
	s = convCase(1, 3, 2, 2, []int{5, 5}, []int{3, 3}, []int{1, 1}, []int{1, 1}, []int{1, 1}, []int{1, 1}, nhwc(2))
	if err := s.Validate(); err == nil {
		t.Error("groups that do not divide the channels were accepted")
	}
}

func BenchmarkConvNet(b *testing.B) {
	benchConvs(b, []convShape{{128, 28, 32, 32}, {128, 14, 64, 64}})
}

// BenchmarkConvUNet times the 3×3 convolutions of a U-Net with 16 base
// filters at batch 4 on 256×256 inputs, one per level.
func BenchmarkConvUNet(b *testing.B) {
	benchConvs(b, []convShape{{4, 256, 16, 16}, {4, 128, 32, 32}, {4, 64, 64, 64}, {4, 32, 128, 128}, {4, 16, 256, 256}})
}

type convShape struct{ n, hw, cin, cout int }

func benchConvs(b *testing.B, cases []convShape) {
	one := []int{1, 1}
	for _, c := range cases {
		s := convCase(c.n, c.cin, c.cout, 1, []int{c.hw, c.hw}, []int{3, 3}, one, one, one, one, nhwc(2))
		x, y := make([]float32, s.Src.extent()), make([]float32, s.Dst.extent())
		w := make([]float32, s.WeightsLen())
		for _, k := range []struct {
			name string
			f    func() error
		}{
			{"fwd", func() error { return ConvForward(s, x, w, y) }},
			{"bwd_data", func() error { return ConvBackwardData(s, y, w, x) }},
			{"bwd_weights", func() error { return ConvBackwardWeights(s, x, y, w) }},
		} {
			b.Run(fmt.Sprintf("%dx%d_%d_%s", c.hw, c.hw, c.cin, k.name), func(b *testing.B) {
				for b.Loop() {
					if err := k.f(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(flops(s)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

func BenchmarkSgemm2048(b *testing.B) {
	const n = 2048
	a, bb, c := make([]float32, n*n), make([]float32, n*n), make([]float32, n*n)
	for b.Loop() {
		Sgemm(false, false, n, n, n, 1, a, n, bb, n, 0, c, n)
	}
	b.ReportMetric(2*n*n*n*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func TestVec(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n = 1031
	special := []float32{0, float32(math.Copysign(0, -1)), 1, -1, float32(math.NaN()), float32(math.Inf(1)), 2.5}
	a, b, c := randSlice(rng, n), randSlice(rng, n), randSlice(rng, n)
	for i := range 200 {
		a[i], b[i] = special[i%len(special)], special[(i/len(special))%len(special)]
	}
	for i := 300; i < 400; i++ {
		b[i] = a[i] // ties for the comparisons
	}
	bools := make([]float32, n)
	for i := range bools {
		bools[i] = float32(rng.IntN(2))
	}
	for op := VecAdd; op <= VecToBool; op++ {
		x, y := a, b
		switch op {
		case VecAnd, VecOr, VecXor, VecNot, VecWhere:
			x = bools
		}
		if op == VecSqrt {
			x = make([]float32, n)
			for i, v := range a {
				x[i] = float32(math.Abs(float64(v)))
			}
		}
		want, got := make([]float32, n), make([]float32, n)
		goVec(op, want, x, y, c)
		Vec(op, got, x, y, c)
		for i := range want {
			w, g := want[i], got[i]
			if w != g && !(w != w && g != g) && !(w == 0 && g == 0) {
				t.Errorf("op %d at %d (%v, %v, %v): got %v, want %v", op, i, x[i], y[i], c[i], g, w)
				break
			}
		}
	}
}

func TestBoolConversions(t *testing.T) {
	src := []bool{true, false, false, true, true}
	f := make([]float32, len(src))
	BoolsToFloats(f, src)
	back := make([]bool, len(src))
	FloatsToBools(back, []float32{1, 0, float32(math.Copysign(0, -1)), -2, float32(math.NaN())})
	for i := range src {
		if f[i] != b2f(src[i]) || back[i] != src[i] {
			t.Errorf("element %d: %v became %v, and back %v", i, src[i], f[i], back[i])
		}
	}
}

func TestAddTo64(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for _, n := range []int{1, 7, 8, 33, 4096} {
		vals := randSlice(rng, n)
		acc := make([]float64, n+3)
		for i := range acc {
			acc[i] = rng.Float64()
		}
		want := slices.Clone(acc)
		goAddTo64(want, vals)
		AddTo64(acc, vals)
		if !slices.Equal(acc, want) {
			t.Errorf("%d values: got %v, want %v", n, acc, want)
		}
	}
}
