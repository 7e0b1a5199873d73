//go:build !cgo || nodnnl

package kernels

// Available reports whether the kernels run on oneDNN and OpenBLAS: never
// in this build.
func Available() bool { return false }

func setNativeThreads(int) {}

func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	goSgemm(Threads(), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// PlanImpl names the implementation a convolution would use: always "go"
// in this build.
func PlanImpl(ConvKind, *ConvSpec) string { return "go" }

// BlockedLayouts reports whether a convolution takes and gives oneDNN's
// blocked layout: never in this build.
func BlockedLayouts(*ConvSpec, bool, bool) (src, dst bool) { return false, false }

// PrepareWeights returns weights in a primitive's layout: there are none
// in this build.
func PrepareWeights(*ConvSpec, bool, bool, []float32) ([]float32, error) { return nil, nil }

// Unblock reorders out of oneDNN's blocked layout, which this build never
// produces.
func Unblock(_, _ []int, _, _ any) error { return errBlocked }

func convForward(s *ConvSpec, src, wei []float32, e Epilogue, dst []float32) error {
	if s.blocked() {
		return errBlocked
	}
	goConvForward(s, src, wei, dst)
	goEpilogue(s, e, dst)
	return nil
}

func convBackwardData(s *ConvSpec, diffDst, wei, diffSrc []float32) error {
	goConvBackwardData(s, diffDst, wei, diffSrc)
	return nil
}

func convBackwardWeights(s *ConvSpec, src, diffDst, diffWei []float32) error {
	goConvBackwardWeights(s, src, diffDst, diffWei)
	return nil
}

func vec(op VecOp, dst, a, b, c []float32) { goVec(op, dst, a, b, c) }

func addTo64(acc []float64, vals []float32) { goAddTo64(acc, vals) }

func boolsToFloats(dst []float32, src []bool) { goBoolsToFloats(dst, src) }

func floatsToBools(dst []bool, src []float32) { goFloatsToBools(dst, src) }
