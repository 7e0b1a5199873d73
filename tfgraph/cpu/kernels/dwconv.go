//go:build cgo && !nodnnl

package kernels

/*
#include "dnnl_glue.h"
*/
import "C"

// depthwise2D reports whether s is a 2-D convolution with one filter per
// channel (as many groups as input and output channels) over activations
// with unit channel stride, which tf_dwconv computes.
func depthwise2D(s *ConvSpec) bool {
	c := s.Src.Dims[1]
	return len(s.Kernel) == 2 && s.groups() == c && s.Dst.Dims[1] == c && c > 1 &&
		s.Src.Strides[1] == 1 && s.Dst.Strides[1] == 1
}

// dwForward runs a depthwise2D convolution on the calling goroutine and
// Threads()-1 more, each taking a share of the output rows; it does not go
// through the worker thread, as no library is involved.
func dwForward(s *ConvSpec, src, wei []float32, e Epilogue, dst []float32) {
	c := s.Src.Dims[1]
	kvol := s.Kernel[0] * s.Kernel[1]
	// The weights come as [C, 1, 1, kh, kw]; the kernel reads each tap's
	// channels contiguously.
	taps := make([]float32, len(wei))
	for ch := range c {
		for t := range kvol {
			taps[t*c+ch] = wei[ch*kvol+t]
		}
	}
	g := C.tf_dw{
		c:   C.long(c),
		xsn: C.long(s.Src.Strides[0]), xsh: C.long(s.Src.Strides[2]), xsw: C.long(s.Src.Strides[3]),
		ysn: C.long(s.Dst.Strides[0]), ysh: C.long(s.Dst.Strides[2]), ysw: C.long(s.Dst.Strides[3]),
		ih: C.int(s.Src.Dims[2]), iw: C.int(s.Src.Dims[3]), oh: C.int(s.Dst.Dims[2]), ow: C.int(s.Dst.Dims[3]),
		kh: C.int(s.Kernel[0]), kw: C.int(s.Kernel[1]), sh: C.int(s.Strides[0]), sw: C.int(s.Strides[1]),
		dh: C.int(s.Dilations[0]), dw: C.int(s.Dilations[1]), pt: C.int(s.PadLo[0]), pl: C.int(s.PadLo[1]),
		relu: C.int(cbool(e.ReLU)),
	}
	var bias *C.float
	if e.Bias != nil {
		bias = ptr(e.Bias)
	}
	rows := s.Dst.Dims[0] * s.Dst.Dims[2]
	workers := min(Threads(), rows)
	parallelFor(workers, workers, func(w int) {
		lo, hi := rows*w/workers, rows*(w+1)/workers
		C.tf_dwconv(&g, C.int(lo), C.int(hi), ptr(src), ptr(taps), bias, ptr(dst))
	})
}
