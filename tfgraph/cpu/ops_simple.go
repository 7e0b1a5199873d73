package cpu

// The ops recorded alike: unary, binary (both classified for fusion when
// recorded) and reductions over axes (given a native kernel when one fits).

import (
	"slices"

	"github.com/gomlx/gomlx/backends"
)

func (b *Builder) unary(op backends.OpType, f func(backends.Builder, backends.Op) (backends.Op, error),
	x backends.Op) (backends.Op, error) {
	return b.op1(op, []backends.Op{x}, func(bb backends.Builder, in []backends.Op) (backends.Op, error) {
		return f(bb, in[0])
	})
}

func (b *Builder) binary(op backends.OpType, f func(backends.Builder, backends.Op, backends.Op) (backends.Op, error),
	x, y backends.Op) (backends.Op, error) {
	return b.op1(op, []backends.Op{x, y}, func(bb backends.Builder, in []backends.Op) (backends.Op, error) {
		return f(bb, in[0], in[1])
	})
}

// reduceTypes are the reductions that have a native kernel.
var reduceTypes = map[backends.OpType]backends.ReduceOpType{
	backends.OpTypeReduceSum: backends.ReduceOpSum,
	backends.OpTypeReduceMax: backends.ReduceOpMax,
	backends.OpTypeReduceMin: backends.ReduceOpMin,
}

func (b *Builder) reduce(op backends.OpType, f func(backends.Builder, backends.Op, ...int) (backends.Op, error),
	x backends.Op, axes []int) (backends.Op, error) {
	v, err := b.record1(op, []backends.Op{x}, func(bb backends.Builder, in []backends.Op) (backends.Op, error) {
		return f(bb, in[0], axes...)
	})
	if err != nil {
		return nil, err
	}
	if typ, ok := reduceTypes[op]; ok {
		if native := newReduce(v.node, typ, axes); native != nil {
			v.node.native = native
		}
	}
	return v, nil
}

// Abs implements backends.Builder.
func (b *Builder) Abs(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeAbs, backends.Builder.Abs, x)
}

// BitCount implements backends.Builder.
func (b *Builder) BitCount(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeBitCount, backends.Builder.BitCount, x)
}

// BitwiseNot implements backends.Builder.
func (b *Builder) BitwiseNot(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeBitwiseNot, backends.Builder.BitwiseNot, x)
}

// Ceil implements backends.Builder.
func (b *Builder) Ceil(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeCeil, backends.Builder.Ceil, x)
}

// Clz implements backends.Builder.
func (b *Builder) Clz(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeClz, backends.Builder.Clz, x)
}

// Conj implements backends.Builder.
func (b *Builder) Conj(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeConj, backends.Builder.Conj, x)
}

// Cos implements backends.Builder.
func (b *Builder) Cos(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeCos, backends.Builder.Cos, x)
}

// Erf implements backends.Builder.
func (b *Builder) Erf(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeErf, backends.Builder.Erf, x)
}

// Exp implements backends.Builder.
func (b *Builder) Exp(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeExp, backends.Builder.Exp, x)
}

// Expm1 implements backends.Builder.
func (b *Builder) Expm1(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeExpm1, backends.Builder.Expm1, x)
}

// Floor implements backends.Builder.
func (b *Builder) Floor(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeFloor, backends.Builder.Floor, x)
}

// Identity implements backends.Builder.
// Values are never written after they are computed, so the identity is
// its operand: recorded as an op, it was a copy of a whole activation
// wherever a program wrote it out (GoMLX's StopGradient and custom
// gradients are identities).
func (b *Builder) Identity(x backends.Op) (backends.Op, error) {
	if _, err := b.values(ops{x}); err != nil {
		return nil, err
	}
	return x, nil
}

// Imag implements backends.Builder.
func (b *Builder) Imag(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeImag, backends.Builder.Imag, x)
}

// IsFinite implements backends.Builder.
func (b *Builder) IsFinite(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeIsFinite, backends.Builder.IsFinite, x)
}

// IsNaN implements backends.Builder.
func (b *Builder) IsNaN(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeIsNaN, backends.Builder.IsNaN, x)
}

// Log implements backends.Builder.
func (b *Builder) Log(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeLog, backends.Builder.Log, x)
}

// Log1p implements backends.Builder.
func (b *Builder) Log1p(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeLog1p, backends.Builder.Log1p, x)
}

// LogicalNot implements backends.Builder.
func (b *Builder) LogicalNot(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeLogicalNot, backends.Builder.LogicalNot, x)
}

// Logistic implements backends.Builder.
func (b *Builder) Logistic(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeLogistic, backends.Builder.Logistic, x)
}

// Neg implements backends.Builder.
func (b *Builder) Neg(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeNeg, backends.Builder.Neg, x)
}

// Real implements backends.Builder.
func (b *Builder) Real(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeReal, backends.Builder.Real, x)
}

// Round implements backends.Builder.
func (b *Builder) Round(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeRound, backends.Builder.Round, x)
}

// Rsqrt implements backends.Builder.
func (b *Builder) Rsqrt(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeRsqrt, backends.Builder.Rsqrt, x)
}

// Sign implements backends.Builder.
func (b *Builder) Sign(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeSign, backends.Builder.Sign, x)
}

// Sin implements backends.Builder.
func (b *Builder) Sin(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeSin, backends.Builder.Sin, x)
}

// Sqrt implements backends.Builder.
func (b *Builder) Sqrt(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeSqrt, backends.Builder.Sqrt, x)
}

// Tanh implements backends.Builder.
func (b *Builder) Tanh(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeTanh, backends.Builder.Tanh, x)
}

// Add implements backends.Builder.
func (b *Builder) Add(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeAdd, backends.Builder.Add, lhs, rhs)
}

// BitwiseAnd implements backends.Builder.
func (b *Builder) BitwiseAnd(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeBitwiseAnd, backends.Builder.BitwiseAnd, lhs, rhs)
}

// BitwiseOr implements backends.Builder.
func (b *Builder) BitwiseOr(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeBitwiseOr, backends.Builder.BitwiseOr, lhs, rhs)
}

// BitwiseXor implements backends.Builder.
func (b *Builder) BitwiseXor(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeBitwiseXor, backends.Builder.BitwiseXor, lhs, rhs)
}

// Complex implements backends.Builder.
func (b *Builder) Complex(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeComplex, backends.Builder.Complex, lhs, rhs)
}

// Div implements backends.Builder.
func (b *Builder) Div(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeDiv, backends.Builder.Div, lhs, rhs)
}

// Dot implements backends.Builder.
func (b *Builder) Dot(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeDot, backends.Builder.Dot, lhs, rhs)
}

// Equal implements backends.Builder.
func (b *Builder) Equal(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeEqual, backends.Builder.Equal, lhs, rhs)
}

// EqualTotalOrder implements backends.Builder.
func (b *Builder) EqualTotalOrder(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeEqualTotalOrder, backends.Builder.EqualTotalOrder, lhs, rhs)
}

// GreaterOrEqual implements backends.Builder.
func (b *Builder) GreaterOrEqual(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeGreaterOrEqual, backends.Builder.GreaterOrEqual, lhs, rhs)
}

// GreaterOrEqualTotalOrder implements backends.Builder.
func (b *Builder) GreaterOrEqualTotalOrder(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeGreaterOrEqualTotalOrder, backends.Builder.GreaterOrEqualTotalOrder, lhs, rhs)
}

// GreaterThan implements backends.Builder.
func (b *Builder) GreaterThan(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeGreaterThan, backends.Builder.GreaterThan, lhs, rhs)
}

// GreaterThanTotalOrder implements backends.Builder.
func (b *Builder) GreaterThanTotalOrder(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeGreaterThanTotalOrder, backends.Builder.GreaterThanTotalOrder, lhs, rhs)
}

// LessOrEqual implements backends.Builder.
func (b *Builder) LessOrEqual(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeLessOrEqual, backends.Builder.LessOrEqual, lhs, rhs)
}

// LessOrEqualTotalOrder implements backends.Builder.
func (b *Builder) LessOrEqualTotalOrder(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeLessOrEqualTotalOrder, backends.Builder.LessOrEqualTotalOrder, lhs, rhs)
}

// LessThan implements backends.Builder.
func (b *Builder) LessThan(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeLessThan, backends.Builder.LessThan, lhs, rhs)
}

// LessThanTotalOrder implements backends.Builder.
func (b *Builder) LessThanTotalOrder(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeLessThanTotalOrder, backends.Builder.LessThanTotalOrder, lhs, rhs)
}

// LogicalAnd implements backends.Builder.
func (b *Builder) LogicalAnd(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeLogicalAnd, backends.Builder.LogicalAnd, lhs, rhs)
}

// LogicalOr implements backends.Builder.
func (b *Builder) LogicalOr(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeLogicalOr, backends.Builder.LogicalOr, lhs, rhs)
}

// LogicalXor implements backends.Builder.
func (b *Builder) LogicalXor(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeLogicalXor, backends.Builder.LogicalXor, lhs, rhs)
}

// Max implements backends.Builder.
func (b *Builder) Max(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeMax, backends.Builder.Max, lhs, rhs)
}

// Min implements backends.Builder.
func (b *Builder) Min(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeMin, backends.Builder.Min, lhs, rhs)
}

// Mul implements backends.Builder.
func (b *Builder) Mul(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeMul, backends.Builder.Mul, lhs, rhs)
}

// NotEqual implements backends.Builder.
func (b *Builder) NotEqual(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeNotEqual, backends.Builder.NotEqual, lhs, rhs)
}

// NotEqualTotalOrder implements backends.Builder.
func (b *Builder) NotEqualTotalOrder(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeNotEqualTotalOrder, backends.Builder.NotEqualTotalOrder, lhs, rhs)
}

// Pow implements backends.Builder.
func (b *Builder) Pow(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypePow, backends.Builder.Pow, lhs, rhs)
}

// Rem implements backends.Builder.
func (b *Builder) Rem(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeRem, backends.Builder.Rem, lhs, rhs)
}

// ShiftLeft implements backends.Builder.
func (b *Builder) ShiftLeft(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeShiftLeft, backends.Builder.ShiftLeft, lhs, rhs)
}

// ShiftRightArithmetic implements backends.Builder.
func (b *Builder) ShiftRightArithmetic(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeShiftRightArithmetic, backends.Builder.ShiftRightArithmetic, lhs, rhs)
}

// ShiftRightLogical implements backends.Builder.
func (b *Builder) ShiftRightLogical(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeShiftRightLogical, backends.Builder.ShiftRightLogical, lhs, rhs)
}

// Sub implements backends.Builder.
func (b *Builder) Sub(lhs, rhs backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeSub, backends.Builder.Sub, lhs, rhs)
}

// ReduceBitwiseAnd implements backends.Builder.
func (b *Builder) ReduceBitwiseAnd(x backends.Op, axes ...int) (backends.Op, error) {
	return b.reduce(backends.OpTypeReduceBitwiseAnd, backends.Builder.ReduceBitwiseAnd, x, slices.Clone(axes))
}

// ReduceBitwiseOr implements backends.Builder.
func (b *Builder) ReduceBitwiseOr(x backends.Op, axes ...int) (backends.Op, error) {
	return b.reduce(backends.OpTypeReduceBitwiseOr, backends.Builder.ReduceBitwiseOr, x, slices.Clone(axes))
}

// ReduceBitwiseXor implements backends.Builder.
func (b *Builder) ReduceBitwiseXor(x backends.Op, axes ...int) (backends.Op, error) {
	return b.reduce(backends.OpTypeReduceBitwiseXor, backends.Builder.ReduceBitwiseXor, x, slices.Clone(axes))
}

// ReduceLogicalAnd implements backends.Builder.
func (b *Builder) ReduceLogicalAnd(x backends.Op, axes ...int) (backends.Op, error) {
	return b.reduce(backends.OpTypeReduceLogicalAnd, backends.Builder.ReduceLogicalAnd, x, slices.Clone(axes))
}

// ReduceLogicalOr implements backends.Builder.
func (b *Builder) ReduceLogicalOr(x backends.Op, axes ...int) (backends.Op, error) {
	return b.reduce(backends.OpTypeReduceLogicalOr, backends.Builder.ReduceLogicalOr, x, slices.Clone(axes))
}

// ReduceLogicalXor implements backends.Builder.
func (b *Builder) ReduceLogicalXor(x backends.Op, axes ...int) (backends.Op, error) {
	return b.reduce(backends.OpTypeReduceLogicalXor, backends.Builder.ReduceLogicalXor, x, slices.Clone(axes))
}

// ReduceMax implements backends.Builder.
func (b *Builder) ReduceMax(x backends.Op, axes ...int) (backends.Op, error) {
	return b.reduce(backends.OpTypeReduceMax, backends.Builder.ReduceMax, x, slices.Clone(axes))
}

// ReduceMin implements backends.Builder.
func (b *Builder) ReduceMin(x backends.Op, axes ...int) (backends.Op, error) {
	return b.reduce(backends.OpTypeReduceMin, backends.Builder.ReduceMin, x, slices.Clone(axes))
}

// ReduceProduct implements backends.Builder.
func (b *Builder) ReduceProduct(x backends.Op, axes ...int) (backends.Op, error) {
	return b.reduce(backends.OpTypeReduceProduct, backends.Builder.ReduceProduct, x, slices.Clone(axes))
}

// ReduceSum implements backends.Builder.
func (b *Builder) ReduceSum(x backends.Op, axes ...int) (backends.Op, error) {
	return b.reduce(backends.OpTypeReduceSum, backends.Builder.ReduceSum, x, slices.Clone(axes))
}
