package kernels

import "math"

// VecOp is an elementwise operation on float32 vectors, bools being 0 and
// 1: dst = op(a, b, c).
type VecOp int32

// The VecOps; the comment gives each one's operands.
const (
	VecAdd    VecOp = iota // a + b
	VecSub                 // a - b
	VecMul                 // a * b
	VecDiv                 // a / b
	VecMax                 // max(a, b), NaN if either is
	VecMin                 // min(a, b), NaN if either is
	VecNeg                 // -a
	VecAbs                 // |a|
	VecSqrt                // √a
	VecGT                  // a > b
	VecGE                  // a >= b
	VecLT                  // a < b
	VecLE                  // a <= b
	VecEQ                  // a == b
	VecNE                  // a != b
	VecAnd                 // a && b
	VecOr                  // a || b
	VecXor                 // a != b, as bools
	VecNot                 // !a
	VecWhere               // a ? b : c
	VecCopy                // a
	VecToBool              // a != 0
)

// Vec computes dst = op(a, b, c) over len(dst) elements; the operands an op
// does not use may be nil, and dst must not overlap them.
func Vec(op VecOp, dst, a, b, c []float32) {
	if len(dst) == 0 {
		return
	}
	vec(op, dst, a, b, c)
}

// AddTo64 adds each of vals to the float64 at its index in acc, which is
// at least as long.
func AddTo64(acc []float64, vals []float32) {
	if len(vals) > 0 {
		addTo64(acc[:len(vals)], vals)
	}
}

func goAddTo64(acc []float64, vals []float32) {
	for i, v := range vals {
		acc[i] += float64(v)
	}
}

// BoolsToFloats sets dst[i] to 1 where src[i] is true and 0 elsewhere.
func BoolsToFloats(dst []float32, src []bool) {
	if len(dst) > 0 {
		boolsToFloats(dst, src[:len(dst)])
	}
}

// FloatsToBools sets dst[i] to src[i] != 0.
func FloatsToBools(dst []bool, src []float32) {
	if len(dst) > 0 {
		floatsToBools(dst, src[:len(dst)])
	}
}

func goBoolsToFloats(dst []float32, src []bool) {
	for i, b := range src {
		dst[i] = b2f(b)
	}
}

func goFloatsToBools(dst []bool, src []float32) {
	for i, v := range src {
		dst[i] = v != 0
	}
}

func b2f(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

// goVec is the pure-Go Vec.
func goVec(op VecOp, d, a, b, c []float32) {
	a = a[:len(d)]
	if b != nil {
		b = b[:len(d)]
	}
	switch op {
	case VecAdd:
		for i := range d {
			d[i] = a[i] + b[i]
		}
	case VecSub:
		for i := range d {
			d[i] = a[i] - b[i]
		}
	case VecMul:
		for i := range d {
			d[i] = a[i] * b[i]
		}
	case VecDiv:
		for i := range d {
			d[i] = a[i] / b[i]
		}
	case VecMax:
		for i := range d {
			d[i] = max(a[i], b[i])
		}
	case VecMin:
		for i := range d {
			d[i] = min(a[i], b[i])
		}
	case VecNeg:
		for i := range d {
			d[i] = -a[i]
		}
	case VecAbs:
		for i := range d {
			d[i] = float32(math.Abs(float64(a[i])))
		}
	case VecSqrt:
		for i := range d {
			d[i] = float32(math.Sqrt(float64(a[i])))
		}
	case VecGT:
		for i := range d {
			d[i] = b2f(a[i] > b[i])
		}
	case VecGE:
		for i := range d {
			d[i] = b2f(a[i] >= b[i])
		}
	case VecLT:
		for i := range d {
			d[i] = b2f(a[i] < b[i])
		}
	case VecLE:
		for i := range d {
			d[i] = b2f(a[i] <= b[i])
		}
	case VecEQ:
		for i := range d {
			d[i] = b2f(a[i] == b[i])
		}
	case VecNE:
		for i := range d {
			d[i] = b2f(a[i] != b[i])
		}
	case VecAnd:
		for i := range d {
			d[i] = b2f(a[i] != 0 && b[i] != 0)
		}
	case VecOr:
		for i := range d {
			d[i] = b2f(a[i] != 0 || b[i] != 0)
		}
	case VecXor:
		for i := range d {
			d[i] = b2f((a[i] != 0) != (b[i] != 0))
		}
	case VecNot:
		for i := range d {
			d[i] = b2f(a[i] == 0)
		}
	case VecWhere:
		c = c[:len(d)]
		for i := range d {
			if a[i] != 0 {
				d[i] = b[i]
			} else {
				d[i] = c[i]
			}
		}
	case VecCopy:
		copy(d, a)
	case VecToBool:
		for i := range d {
			d[i] = b2f(a[i] != 0)
		}
	}
}
