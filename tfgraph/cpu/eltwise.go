package cpu

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/tfrun/tfrun/tfgraph/cpu/kernels"
)

// Elementwise ops on float32 and bool run fused: Compile gathers runs of
// them with the same element count into one program that streams through
// its inputs in blocks small enough to stay in cache, writing only the
// values other steps read. Bools travel as 0 and 1 inside a program.

type eltOp int

const (
	eltAdd eltOp = iota
	eltSub
	eltMul
	eltDiv
	eltMax
	eltMin
	eltPow
	eltNeg
	eltAbs
	eltExp
	eltExpm1
	eltLog
	eltLog1p
	eltSqrt
	eltRsqrt
	eltTanh
	eltLogistic
	eltSign
	eltErf
	eltGT
	eltGE
	eltLT
	eltLE
	eltEQ
	eltNE
	eltAnd
	eltOr
	eltXor
	eltNot
	eltWhere
	eltCopy   // Identity, Reshape, ConvertDType between float32 and bool
	eltToBool // ConvertDType float32 to bool
	// Loads read a leaf (a value from outside the program) into a register.
	eltLoadFull   // same element count
	eltLoadSuffix // a tensor broadcast over leading axes: leaf[i % period]
	eltLoadPrefix // a tensor broadcast over trailing axes: leaf[i / div]
)

// eltInfo marks a recorded node as fusible.
type eltInfo struct {
	op          eltOp
	period, div int // for a broadcast: how the output index maps to the input's
}

var (
	eltFloatBinary = map[backends.OpType]eltOp{
		backends.OpTypeAdd: eltAdd, backends.OpTypeSub: eltSub, backends.OpTypeMul: eltMul, backends.OpTypeDiv: eltDiv,
		backends.OpTypeMax: eltMax, backends.OpTypeMin: eltMin, backends.OpTypePow: eltPow,
	}
	eltCompare = map[backends.OpType]eltOp{
		backends.OpTypeGreaterThan: eltGT, backends.OpTypeGreaterOrEqual: eltGE, backends.OpTypeLessThan: eltLT,
		backends.OpTypeLessOrEqual: eltLE, backends.OpTypeEqual: eltEQ, backends.OpTypeNotEqual: eltNE,
	}
	eltFloatUnary = map[backends.OpType]eltOp{
		backends.OpTypeNeg: eltNeg, backends.OpTypeAbs: eltAbs, backends.OpTypeExp: eltExp, backends.OpTypeExpm1: eltExpm1,
		backends.OpTypeLog: eltLog, backends.OpTypeLog1p: eltLog1p, backends.OpTypeSqrt: eltSqrt,
		backends.OpTypeRsqrt: eltRsqrt, backends.OpTypeTanh: eltTanh, backends.OpTypeLogistic: eltLogistic,
		backends.OpTypeSign: eltSign, backends.OpTypeErf: eltErf,
	}
	eltLogical = map[backends.OpType]eltOp{
		backends.OpTypeLogicalAnd: eltAnd, backends.OpTypeLogicalOr: eltOr, backends.OpTypeLogicalXor: eltXor,
	}
)

func isEltDType(d dtypes.DType) bool { return d == dtypes.Float32 || d == dtypes.Bool }

// leafPattern says how an operand of dims in is read by an elementwise op
// with output dims out: in full, or broadcast (a scalar, a tensor filling
// the trailing axes, or one filling the leading axes). ok is false for
// other broadcasts.
func leafPattern(in, out []int) (p instr, ok bool) {
	inSize, outSize := 1, 1
	for _, d := range in {
		inSize *= d
	}
	for _, d := range out {
		outSize *= d
	}
	switch {
	case inSize == outSize:
		return instr{op: eltLoadFull}, true
	case inSize == 1:
		return instr{op: eltLoadSuffix, period: 1}, true
	case len(in) != len(out):
		return instr{}, false
	}
	var kept []int // axes the operand varies along
	for a, d := range in {
		switch d {
		case 1:
		case out[a]:
			kept = append(kept, a)
		default:
			return instr{}, false
		}
	}
	suffix, prefix := true, true
	for j, a := range kept {
		suffix = suffix && a == len(out)-len(kept)+j
		prefix = prefix && a == j
	}
	switch {
	case suffix:
		return instr{op: eltLoadSuffix, period: inSize}, true
	case prefix:
		return instr{op: eltLoadPrefix, div: outSize / inSize}, true
	}
	return instr{}, false
}

// classifyElt returns how n runs inside a fused program, or nil. Operands
// must be readable with leafPattern.
func classifyElt(n *node) *eltInfo {
	if len(n.outs) != 1 {
		return nil
	}
	out := n.outs[0].shape
	if !isEltDType(out.DType) {
		return nil
	}
	size := out.Size()
	dts := make([]dtypes.DType, len(n.inputs))
	for i, in := range n.inputs {
		if _, ok := leafPattern(in.shape.Dimensions, out.Dimensions); !ok {
			return nil
		}
		dts[i] = in.shape.DType
	}
	all := func(d dtypes.DType) bool {
		for _, x := range dts {
			if x != d {
				return false
			}
		}
		return true
	}
	f32, b := dtypes.Float32, dtypes.Bool
	if op, ok := eltFloatBinary[n.op]; ok && all(f32) {
		return &eltInfo{op: op}
	}
	if op, ok := eltFloatUnary[n.op]; ok && all(f32) {
		return &eltInfo{op: op}
	}
	if op, ok := eltCompare[n.op]; ok && all(f32) {
		return &eltInfo{op: op}
	}
	if op, ok := eltLogical[n.op]; ok && all(b) {
		return &eltInfo{op: op}
	}
	switch n.op {
	case backends.OpTypeLogicalNot:
		if all(b) {
			return &eltInfo{op: eltNot}
		}
	case backends.OpTypeWhere:
		if dts[0] == b && dts[1] == out.DType && dts[2] == out.DType {
			return &eltInfo{op: eltWhere}
		}
	case backends.OpTypeIdentity, backends.OpTypeReshape:
		if n.inputs[0].shape.Size() == size {
			return &eltInfo{op: eltCopy}
		}
	case backends.OpTypeConvertDType:
		if isEltDType(dts[0]) && n.inputs[0].shape.Size() == size {
			if dts[0] == f32 && out.DType == b {
				return &eltInfo{op: eltToBool}
			}
			return &eltInfo{op: eltCopy}
		}
	}
	return nil
}

// classifyBroadcast marks a BroadcastInDim fusible when leafPattern can
// read its operand.
func classifyBroadcast(n *node, axes []int) *eltInfo {
	in, out := n.inputs[0].shape, n.outs[0].shape
	if !isEltDType(out.DType) || in.DType != out.DType {
		return nil
	}
	expanded := make([]int, out.Rank())
	for i := range expanded {
		expanded[i] = 1
	}
	for i, a := range axes {
		expanded[a] = in.Dimensions[i]
	}
	p, ok := leafPattern(expanded, out.Dimensions)
	switch {
	case !ok:
		return nil
	case p.op == eltLoadFull:
		// Only size-1 axes are added ([] to [1], [n] to [n,1]): the values
		// are unchanged, so this is a copy of its operand, which may be a
		// register of the same program (same element count). Program nodes
		// that load read a leaf from outside, which only a broadcast that
		// grows the operand is guaranteed to be.
		return &eltInfo{op: eltCopy}
	}
	return &eltInfo{op: p.op, period: p.period, div: p.div}
}

// instr is one program instruction: dst = op(a, b, c), or a load of leaf.
type instr struct {
	op          eltOp
	dst         int
	a, b, c     int
	leaf        int
	period, div int
}

// eltProgram is a fused run of elementwise nodes.
type eltProgram struct {
	size    int // elements of every register
	nregs   int
	code    []instr
	outRegs []int
	isOut   []bool // by register
	ops     []string
	// sums are registers summed over their leading axes into outputs
	// after the others, each a vector of its trailing extent.
	sums []eltSum
}

// eltSum is a ReduceSum over the leading axes of a program's value, done
// as the program streams through it rather than as a pass of its own over
// a written copy (a batch norm's statistics and their gradients).
type eltSum struct{ reg, cols int }

// newEltProgram compiles nodes (in order); leaves lists the values read
// from outside, in input order, outs the values to write, in output order,
// and sums the ReduceSum nodes over values of the program that it computes
// too.
func newEltProgram(nodes []*node, outs []*value, sums []*node) (*eltProgram, []*value) {
	p := &eltProgram{size: nodes[0].outs[0].shape.Size()}
	type load struct {
		v           *value
		op          eltOp
		period, div int
	}
	regOf := make(map[*value]int)
	loaded := make(map[load]int)
	leafOf := make(map[*value]int)
	var leaves []*value
	newReg := func() int { p.nregs++; return p.nregs - 1 }
	leaf := func(v *value) int {
		if k, ok := leafOf[v]; ok {
			return k
		}
		leafOf[v] = len(leaves)
		leaves = append(leaves, v)
		return len(leaves) - 1
	}
	reg := func(v *value, out []int) int {
		if r, ok := regOf[v]; ok {
			return r
		}
		// A value from outside, read as the consuming op reads it.
		in, _ := leafPattern(v.shape.Dimensions, out)
		key := load{v: v, op: in.op, period: in.period, div: in.div}
		if r, ok := loaded[key]; ok {
			return r
		}
		in.dst, in.leaf = newReg(), leaf(v)
		p.code = append(p.code, in)
		loaded[key] = in.dst
		return in.dst
	}
	for _, n := range nodes {
		e := n.elt
		in := instr{op: e.op, period: e.period, div: e.div}
		switch e.op {
		case eltLoadSuffix, eltLoadPrefix:
			in.leaf = leaf(n.inputs[0])
		default:
			regs := []*int{&in.a, &in.b, &in.c}
			for i, v := range n.inputs {
				*regs[i] = reg(v, n.outs[0].shape.Dimensions)
			}
		}
		in.dst = newReg()
		regOf[n.outs[0]] = in.dst
		p.code = append(p.code, in)
		if name := n.op.String(); !slices.Contains(p.ops, name) {
			p.ops = append(p.ops, name)
		}
	}
	p.isOut = make([]bool, p.nregs)
	for _, v := range outs {
		p.outRegs = append(p.outRegs, regOf[v])
		p.isOut[regOf[v]] = true
	}
	for _, n := range sums {
		p.sums = append(p.sums, eltSum{reg: regOf[n.inputs[0]], cols: n.outs[0].shape.Size()})
	}
	return p, leaves
}

func (p *eltProgram) String() string {
	ops := p.ops
	if len(ops) > 6 {
		ops = append(slices.Clone(ops[:6]), fmt.Sprintf("+%d", len(ops)-6))
	}
	sums := ""
	if len(p.sums) > 0 {
		sums = fmt.Sprintf(" and %d sums", len(p.sums))
	}
	return fmt.Sprintf("fused %d ops x %d: %v%s", len(p.code), p.size, ops, sums)
}

const (
	eltBlock       = 4096
	eltMinParallel = 1 << 15
)

func (p *eltProgram) run(ins, outs []any) error {
	// A float32 leaf broadcast with a short period is tiled once, so each
	// block reads it in place.
	tiles := make([][]float32, len(p.code))
	for i, in := range p.code {
		if in.op != eltLoadSuffix || in.period >= eltBlock {
			continue
		}
		l, ok := ins[in.leaf].([]float32)
		if !ok {
			continue
		}
		tile := scratchFloats.get(eltBlock + in.period)
		defer scratchFloats.put(tile)
		for j := 0; j < len(tile); j += in.period {
			copy(tile[j:], l[:in.period])
		}
		tiles[i] = tile
	}
	blocks := (p.size + eltBlock - 1) / eltBlock
	workers := 1
	if p.size >= eltMinParallel {
		workers = min(kernels.Threads(), blocks)
	}
	// Each worker sums in float64 into vectors of its own, added up in
	// worker order after: the same sums at every run.
	parts := make([][][]float64, workers)
	for w := range parts {
		for _, sum := range p.sums {
			parts[w] = append(parts[w], make([]float64, sum.cols))
		}
	}
	if workers == 1 {
		p.runBlocks(ins, outs, tiles, parts[0], 0, blocks)
	} else {
		var wg sync.WaitGroup
		per := (blocks + workers - 1) / workers
		for w := range workers {
			wg.Go(func() { p.runBlocks(ins, outs, tiles, parts[w], w*per, min(blocks, (w+1)*per)) })
		}
		wg.Wait()
	}
	for k := range p.sums {
		out := outs[len(p.outRegs)+k].([]float32)
		for j := range out {
			var acc float64
			for _, part := range parts {
				acc += part[k][j]
			}
			out[j] = float32(acc)
		}
	}
	return nil
}

// addColumns adds the values of a block starting at element base to the
// sums of their columns: element i is column i % len(acc).
func addColumns(acc []float64, vals []float32, base int) {
	col := base % len(acc)
	if len(acc) < 64 {
		// Runs this short (a sum over every axis has one column) would
		// cost a kernel call each.
		for _, v := range vals {
			acc[col] += float64(v)
			if col++; col == len(acc) {
				col = 0
			}
		}
		return
	}
	for len(vals) > 0 {
		k := min(len(acc)-col, len(vals))
		kernels.AddTo64(acc[col:], vals[:k])
		vals, col = vals[k:], 0
	}
}

// runBlocks runs blocks [b0, b1) with registers of its own, adding the
// summed registers into parts.
func (p *eltProgram) runBlocks(ins, outs []any, tiles [][]float32, parts [][]float64, b0, b1 int) {
	// Scratch survives garbage collections: made afresh at every call,
	// these blocks were most of a train step's garbage, and came back as
	// fresh pages.
	backing := scratchFloats.get(p.nregs * eltBlock)
	defer scratchFloats.put(backing)
	regs := make([][]float32, p.nregs)
	for blk := b0; blk < b1; blk++ {
		base := blk * eltBlock
		n := min(eltBlock, p.size-base)
		for r := range regs {
			regs[r] = backing[r*eltBlock : r*eltBlock+n]
		}
		// Float32 outputs are computed in place.
		for i, r := range p.outRegs {
			if o, ok := outs[i].([]float32); ok {
				regs[r] = o[base : base+n]
			}
		}
		for i := range p.code {
			in := &p.code[i]
			switch in.op {
			case eltLoadFull, eltLoadSuffix, eltLoadPrefix:
				if t := tiles[i]; t != nil {
					k := base % in.period
					if p.isOut[in.dst] {
						copy(regs[in.dst], t[k:k+n])
					} else {
						regs[in.dst] = t[k : k+n]
					}
					continue
				}
				p.load(in, ins[in.leaf], regs, base, n)
			default:
				exec(in, regs)
			}
		}
		for i, r := range p.outRegs {
			if o, ok := outs[i].([]bool); ok {
				kernels.FloatsToBools(o[base:base+n], regs[r])
			}
		}
		for k, sum := range p.sums {
			addColumns(parts[k], regs[sum.reg], base)
		}
	}
}

func (p *eltProgram) load(in *instr, leaf any, regs [][]float32, base, n int) {
	if l, ok := leaf.([]float32); ok && in.op == eltLoadFull {
		// Full float32 leaves are read in place, unless the register is an
		// output, which lives in the output's memory.
		if p.isOut[in.dst] {
			copy(regs[in.dst], l[base:base+n])
		} else {
			regs[in.dst] = l[base : base+n]
		}
		return
	}
	dst := regs[in.dst]
	switch l := leaf.(type) {
	case []float32:
		switch in.op {
		case eltLoadSuffix:
			// Whole periods are copies.
			k := base % in.period
			for j := 0; j < n; {
				c := copy(dst[j:], l[k:])
				j += c
				k = 0
			}
		case eltLoadPrefix:
			for j := 0; j < n; {
				i := (base + j) / in.div
				end := min(n, (i+1)*in.div-base)
				v := l[i]
				for t := j; t < end; t++ {
					dst[t] = v
				}
				j = end
			}
		}
	case []bool:
		if in.op == eltLoadFull {
			kernels.BoolsToFloats(dst, l[base:base+n])
			return
		}
		for j := range dst {
			i := base + j
			if in.op == eltLoadSuffix {
				i %= in.period
			} else {
				i /= in.div
			}
			dst[j] = b2f(l[i])
		}
	}
}

func b2f(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

func f64(f func(float64) float64) func(float32) float32 {
	return func(x float32) float32 { return float32(f(float64(x))) }
}

var eltUnaryFns = map[eltOp]func(float32) float32{
	eltExp: f64(math.Exp), eltExpm1: f64(math.Expm1), eltLog: f64(math.Log), eltLog1p: f64(math.Log1p),
	eltTanh: f64(math.Tanh), eltErf: f64(math.Erf),
	eltLogistic: func(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) },
	eltRsqrt:    func(x float32) float32 { return float32(1 / math.Sqrt(float64(x))) },
	eltSign: func(x float32) float32 {
		switch {
		case x > 0:
			return 1
		case x < 0:
			return -1
		}
		return x // 0, -0 and NaN are their own sign
	},
}

// vecOps maps the ops kernels.Vec runs; the others (powers and
// transcendental functions) run in Go.
var vecOps = map[eltOp]kernels.VecOp{
	eltAdd: kernels.VecAdd, eltSub: kernels.VecSub, eltMul: kernels.VecMul, eltDiv: kernels.VecDiv,
	eltMax: kernels.VecMax, eltMin: kernels.VecMin, eltNeg: kernels.VecNeg, eltAbs: kernels.VecAbs,
	eltSqrt: kernels.VecSqrt, eltGT: kernels.VecGT, eltGE: kernels.VecGE, eltLT: kernels.VecLT,
	eltLE: kernels.VecLE, eltEQ: kernels.VecEQ, eltNE: kernels.VecNE, eltAnd: kernels.VecAnd,
	eltOr: kernels.VecOr, eltXor: kernels.VecXor, eltNot: kernels.VecNot, eltWhere: kernels.VecWhere,
	eltCopy: kernels.VecCopy, eltToBool: kernels.VecToBool,
}

// exec runs one arithmetic instruction on a block.
func exec(in *instr, regs [][]float32) {
	d := regs[in.dst]
	if op, ok := vecOps[in.op]; ok {
		kernels.Vec(op, d, regs[in.a], regs[in.b], regs[in.c])
		return
	}
	a := regs[in.a][:len(d)]
	if in.op == eltPow {
		b := regs[in.b][:len(d)]
		for i := range d {
			d[i] = float32(math.Pow(float64(a[i]), float64(b[i])))
		}
		return
	}
	f := eltUnaryFns[in.op]
	for i := range d {
		d[i] = f(a[i])
	}
}
