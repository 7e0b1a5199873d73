// Package kernels holds tfrun's float32 compute kernels for the CPU: a matrix
// product, convolutions (forward, gradient with respect to the input, and
// gradient with respect to the weights) and elementwise vector loops.
//
// Built with cgo (and without the "nodnnl" tag) they call OpenBLAS for the
// matrix product and oneDNN for convolutions, loading both on first use,
// and run the vector loops as compiled C (AVX2 where the CPU has it);
// otherwise, or when the libraries cannot be loaded, they are pure-Go
// loops, correct but several times slower. Available says which run.
// Building with cgo needs the headers: Debian's libdnnl-dev and
// libopenblas-dev.
//
// Every function is safe to call from several goroutines, but library
// calls are serialised onto one OS thread: OpenMP's thread pool is per
// calling thread, and Go would otherwise hand each call a different one.
package kernels

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
)

// MaxSpatial is the largest number of spatial axes a convolution may have.
const MaxSpatial = 3

// threads is the parallelism the kernels use; 0 until SetThreads is called.
var threads atomic.Int32

// SetThreads sets how many threads the kernels use; n <= 0 means one per CPU.
func SetThreads(n int) {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	threads.Store(int32(n))
	setNativeThreads(n)
}

// Threads returns the parallelism the kernels use.
func Threads() int {
	if n := threads.Load(); n > 0 {
		return int(n)
	}
	return runtime.NumCPU()
}

// Layout describes how a tensor lies in a flat slice: its logical
// dimensions, in the order a convolution names them ([N, C, spatial...] for
// activations), and the element stride of each.
type Layout struct {
	Dims, Strides []int
}

// extent is one more than the largest offset the layout reaches.
func (l Layout) extent() int {
	end := 1
	for i, d := range l.Dims {
		if d == 0 {
			return 0
		}
		end += (d - 1) * l.Strides[i]
	}
	return end
}

// ConvSpec describes a convolution as oneDNN names its parts: the source
// Src [N, C, spatial...] is convolved with weights [G, O/G, C/G, kernel...]
// (dense, row-major) into the destination Dst [N, O, spatial...].
//
// Out-of-range source positions read as zero; the output size must be
// exactly what the input size, padding, kernel, stride and dilation give.
type ConvSpec struct {
	Src, Dst     Layout
	Kernel       []int // spatial kernel sizes
	Groups       int   // feature groups; 0 means 1
	Strides      []int // per spatial axis, >= 1
	Dilations    []int // per spatial axis, 1 means none
	PadLo, PadHi []int // per spatial axis, >= 0
	// SrcBlocked and DstBlocked say that a forward pass's source, or
	// destination, buffer holds oneDNN's 8-channel blocked layout of its
	// dims rather than the strides given; only where BlockedLayouts says
	// the pass takes it.
	SrcBlocked, DstBlocked bool
	// WeightsPrepared says that a forward pass's weights are what
	// PrepareWeights returned rather than dense.
	WeightsPrepared bool
}

func (s *ConvSpec) blocked() bool { return s.SrcBlocked || s.DstBlocked || s.WeightsPrepared }

var errBlocked = errors.New("kernels: a blocked layout or prepared weights need oneDNN's convolution")

func (s *ConvSpec) groups() int { return max(s.Groups, 1) }

// WeightsLen is the number of weight values: G * O/G * C/G * prod(kernel).
func (s *ConvSpec) WeightsLen() int {
	n := s.Dst.Dims[1] * s.Src.Dims[1] / s.groups()
	for _, k := range s.Kernel {
		n *= k
	}
	return n
}

// Validate checks that the spec is self-consistent.
func (s *ConvSpec) Validate() error {
	nd := len(s.Src.Dims)
	sp := nd - 2
	switch {
	case sp < 1 || sp > MaxSpatial:
		return fmt.Errorf("kernels: convolution needs 1 to %d spatial axes, source has dims %v", MaxSpatial, s.Src.Dims)
	case len(s.Src.Strides) != nd || len(s.Dst.Dims) != nd || len(s.Dst.Strides) != nd:
		return fmt.Errorf("kernels: source %v and destination %v layouts disagree in rank", s.Src, s.Dst)
	case len(s.Kernel) != sp || len(s.Strides) != sp || len(s.Dilations) != sp || len(s.PadLo) != sp || len(s.PadHi) != sp:
		return fmt.Errorf("kernels: kernel, strides, dilations and paddings need %d values each: %+v", sp, *s)
	case s.Src.Dims[0] != s.Dst.Dims[0]:
		return fmt.Errorf("kernels: batch %d in, %d out", s.Src.Dims[0], s.Dst.Dims[0])
	case s.Src.Dims[1]%s.groups() != 0 || s.Dst.Dims[1]%s.groups() != 0:
		return fmt.Errorf("kernels: %d groups do not divide %d input and %d output channels",
			s.groups(), s.Src.Dims[1], s.Dst.Dims[1])
	}
	for _, l := range []Layout{s.Src, s.Dst} {
		for i, d := range l.Dims {
			if d <= 0 || l.Strides[i] < 0 {
				return fmt.Errorf("kernels: invalid layout %v", l)
			}
		}
	}
	for i := range sp {
		if s.Kernel[i] < 1 || s.Strides[i] < 1 || s.Dilations[i] < 1 || s.PadLo[i] < 0 || s.PadHi[i] < 0 {
			return fmt.Errorf("kernels: invalid kernel, stride, dilation or padding on spatial axis %d: %+v", i, *s)
		}
		eff := (s.Kernel[i]-1)*s.Dilations[i] + 1
		span := s.Src.Dims[2+i] + s.PadLo[i] + s.PadHi[i] - eff
		if span < 0 || span/s.Strides[i]+1 != s.Dst.Dims[2+i] {
			return fmt.Errorf("kernels: spatial axis %d: input %d, padding %d+%d, kernel %d, dilation %d and stride %d "+
				"do not give output %d", i, s.Src.Dims[2+i], s.PadLo[i], s.PadHi[i], s.Kernel[i], s.Dilations[i],
				s.Strides[i], s.Dst.Dims[2+i])
		}
	}
	return nil
}

// checkLens validates the spec and the lengths of the three slices.
func (s *ConvSpec) checkLens(src, wei, dst []float32) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if len(src) < s.Src.extent() || len(dst) < s.Dst.extent() || len(wei) != s.WeightsLen() && !s.WeightsPrepared {
		return fmt.Errorf("kernels: slices of %d, %d and %d values for source %v, weights %d and destination %v",
			len(src), len(wei), len(dst), s.Src, s.WeightsLen(), s.Dst)
	}
	return nil
}

// ConvKind names the three convolution passes.
type ConvKind int

const (
	KindForward ConvKind = iota
	KindBackwardData
	KindBackwardWeights
)

// ConvForward computes dst = conv(src, wei).
func ConvForward(s *ConvSpec, src, wei, dst []float32) error {
	return ConvForwardThen(s, src, wei, Epilogue{}, dst)
}

// Epilogue is what a forward convolution applies to its output before
// writing it, saving a pass over it: a bias per output channel, then a
// ReLU.
type Epilogue struct {
	Bias []float32 // nil, or one value per output channel
	ReLU bool      // then x > 0 ? x : 0 (oneDNN may give -0 for negative x)
}

func (e Epilogue) flags() int {
	f := 0
	if e.Bias != nil {
		f |= 1
	}
	if e.ReLU {
		f |= 2
	}
	return f
}

// ConvForwardThen computes dst = epilogue(conv(src, wei)).
func ConvForwardThen(s *ConvSpec, src, wei []float32, e Epilogue, dst []float32) error {
	if err := s.checkLens(src, wei, dst); err != nil {
		return err
	}
	if e.Bias != nil && len(e.Bias) != s.Dst.Dims[1] {
		return fmt.Errorf("kernels: %d bias values for %d output channels", len(e.Bias), s.Dst.Dims[1])
	}
	return convForward(s, src, wei, e, dst)
}

// goEpilogue applies e to dst in place.
func goEpilogue(s *ConvSpec, e Epilogue, dst []float32) {
	if e.flags() == 0 {
		return
	}
	c := newConv3(s)
	offs := make([]int, c.pos)
	for n := range c.n {
		c.dstOffsets(n, 0, offs)
		for o := range c.o {
			var b float32
			if e.Bias != nil {
				b = e.Bias[o]
			}
			for _, off := range offs {
				v := dst[off+o*c.dc] + b
				if e.ReLU && !(v > 0) {
					v = 0
				}
				dst[off+o*c.dc] = v
			}
		}
	}
}

// ConvBackwardData computes the gradient with respect to the source,
// diffSrc, from the gradient with respect to the destination, diffDst.
// Source positions no output reads are set to zero.
func ConvBackwardData(s *ConvSpec, diffDst, wei, diffSrc []float32) error {
	if err := s.checkLens(diffSrc, wei, diffDst); err != nil {
		return err
	}
	if s.blocked() {
		return errBlocked
	}
	return convBackwardData(s, diffDst, wei, diffSrc)
}

// ConvBackwardWeights computes the gradient with respect to the weights,
// diffWei, from the source and the gradient with respect to the
// destination.
func ConvBackwardWeights(s *ConvSpec, src, diffDst, diffWei []float32) error {
	if err := s.checkLens(src, diffWei, diffDst); err != nil {
		return err
	}
	if s.blocked() {
		return errBlocked
	}
	return convBackwardWeights(s, src, diffDst, diffWei)
}

// Sgemm computes C = alpha*op(A)*op(B) + beta*C on row-major matrices,
// op(A) being [m, k] and op(B) [k, n]; a transposed operand is stored as
// its transpose. lda, ldb and ldc are the row strides as stored.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scaleRows(m, n, beta, c, ldc)
		return
	}
	sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func scaleRows(m, n int, beta float32, c []float32, ldc int) {
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}
