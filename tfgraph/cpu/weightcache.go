package cpu

import (
	"bytes"
	"slices"
	"sync/atomic"
	"unsafe"

	"github.com/tfrun/tfrun/tfgraph/cpu/kernels"
)

// In inference the same weights come into every call, and preparing them
// took three passes at each: gathering the tensor into the kernels' dense
// order, folding a batch norm's scale into it, and oneDNN's reorder into
// the order its primitive reads (DeepLabV3+-ResNet50, batch 4: some 150 ms
// of a 1 s inference). An executable that computes no convolution
// gradient keeps each convolution's prepared weights instead, and knows
// its weights unchanged by comparing them bytewise with a copy: one read,
// which stops at the first difference when they have changed.

// preparedWeights are a convolution's weights as its pass reads them, with
// copies of the operands they came from.
type preparedWeights struct {
	operands []any // copies of the kernel, then bias, scale and shift as the op has them
	wei      []float32
	bias     []float32
	spec     kernels.ConvSpec
}

// weightCache holds the last preparedWeights; executions running at once
// each read a whole entry or replace it.
type weightCache struct {
	last atomic.Pointer[preparedWeights]
}

// enableWeightCaches gives the forward convolutions of steps a cache, unless
// some step is a convolution gradient: then the weights change at every
// call, and keeping copies would cost a pass and memory for nothing.
func enableWeightCaches(steps []*step) {
	for _, st := range steps {
		if op, ok := st.native.(*convOp); ok && op.kind != kernels.KindForward {
			return
		}
	}
	for _, st := range steps {
		if op, ok := st.native.(*convOp); ok {
			op.cache = &weightCache{}
		}
	}
}

func floatBytes(f []float32) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(f))), 4*len(f))
}

func (p *preparedWeights) matches(operands []any) bool {
	if len(operands) != len(p.operands) {
		return false
	}
	for i, o := range operands {
		if !bytes.Equal(floatBytes(o.([]float32)), floatBytes(p.operands[i].([]float32))) {
			return false
		}
	}
	return true
}

// prepared returns the forward pass's weights and bias for the operands
// after its source (kernel, bias, scale, shift), from the cache when they
// are the ones it holds.
func (c *convOp) prepared(operands []any) (*preparedWeights, error) {
	if p := c.cache.last.Load(); p != nil && p.matches(operands) {
		return p, nil
	}
	p := &preparedWeights{spec: c.spec}
	for _, o := range operands {
		p.operands = append(p.operands, slices.Clone(o.([]float32)))
	}
	w, bias := c.foldedWeights(p.operands)
	defer scratchFloats.put(w)
	p.bias = bias
	wei, err := kernels.PrepareWeights(&c.spec, p.bias != nil, c.relu, w)
	if err != nil {
		return nil, err
	}
	if wei != nil {
		p.wei, p.spec.WeightsPrepared = wei, true
	} else {
		p.wei = slices.Clone(w)
	}
	c.cache.last.Store(p)
	return p, nil
}
