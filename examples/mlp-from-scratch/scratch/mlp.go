// Package scratch is the course's "neural network from scratch" exercise in
// plain Go: a fully connected ReLU network with a softmax output, trained by
// mini-batch SGD, using nothing but the standard library and float64.
//
// Besides teaching, it is the reference the engine's gradients are checked
// against, so the weight layout below is a contract.
package scratch

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// MLP is a multilayer perceptron. Layer l maps Sizes[l] inputs to
// Sizes[l+1] outputs: W[l] is row-major [Sizes[l]][Sizes[l+1]] (element
// W[l][i*Sizes[l+1]+j] connects input i to output j) and B[l] has
// Sizes[l+1] biases. Hidden layers use ReLU; the last layer's outputs are
// logits turned into probabilities by softmax.
type MLP struct {
	Sizes []int
	W     [][]float64
	B     [][]float64
}

// New returns an MLP with He-uniform weights, U(-√(6/fan_in), √(6/fan_in)),
// which keeps ReLU activations at a stable scale through the layers, and
// zero biases. The same seed gives the same network.
func New(sizes []int, seed uint64) *MLP {
	if len(sizes) < 2 {
		panic(fmt.Sprintf("scratch.New: need at least an input and an output size, got %v", sizes))
	}
	for _, s := range sizes {
		if s <= 0 {
			panic(fmt.Sprintf("scratch.New: layer sizes must be positive, got %v", sizes))
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	m := &MLP{Sizes: append([]int(nil), sizes...)}
	for l := range len(sizes) - 1 {
		in, out := sizes[l], sizes[l+1]
		limit := math.Sqrt(6 / float64(in))
		w := make([]float64, in*out)
		for i := range w {
			w[i] = (2*rng.Float64() - 1) * limit
		}
		m.W = append(m.W, w)
		m.B = append(m.B, make([]float64, out))
	}
	return m
}

func (m *MLP) layers() int { return len(m.Sizes) - 1 }

func (m *MLP) checkBatch(x []float64, batch int) {
	if batch <= 0 || len(x) != batch*m.Sizes[0] {
		panic(fmt.Sprintf("scratch: x has %d values, want batch %d × %d inputs", len(x), batch, m.Sizes[0]))
	}
}

// forward returns every layer's output: acts[0] is x, acts[l+1] the ReLU
// output of hidden layer l, and the last entry the logits.
func (m *MLP) forward(x []float64, batch int) [][]float64 {
	acts := [][]float64{x}
	a := x
	for l := range m.layers() {
		in, out := m.Sizes[l], m.Sizes[l+1]
		z := make([]float64, batch*out)
		for s := range batch {
			row := z[s*out : (s+1)*out]
			copy(row, m.B[l])
			for i, v := range a[s*in : (s+1)*in] {
				// Skipping zeros pays: most MNIST pixels and about half
				// the ReLU outputs are 0.
				if v == 0 {
					continue
				}
				w := m.W[l][i*out : (i+1)*out]
				for j := range row {
					row[j] += v * w[j]
				}
			}
		}
		if l < m.layers()-1 {
			for i, v := range z {
				if v < 0 {
					z[i] = 0
				}
			}
		}
		acts = append(acts, z)
		a = z
	}
	return acts
}

// Forward returns the softmax probabilities, [batch][Sizes[last]]
// row-major, for x holding batch samples of Sizes[0] values.
func (m *MLP) Forward(x []float64, batch int) (probs []float64) {
	m.checkBatch(x, batch)
	acts := m.forward(x, batch)
	logits := acts[len(acts)-1]
	k := m.Sizes[len(m.Sizes)-1]
	probs = make([]float64, len(logits))
	for s := range batch {
		lse := logSumExp(logits[s*k : (s+1)*k])
		for j := range k {
			probs[s*k+j] = math.Exp(logits[s*k+j] - lse)
		}
	}
	return probs
}

// logSumExp computes log Σ exp(v) without overflow by factoring out the max.
func logSumExp(v []float64) float64 {
	mx := math.Inf(-1)
	for _, x := range v {
		mx = max(mx, x)
	}
	var sum float64
	for _, x := range v {
		sum += math.Exp(x - mx)
	}
	return mx + math.Log(sum)
}

// Gradients returns the mean softmax cross-entropy of the batch against the
// class labels y and its gradients, laid out like W and B.
func (m *MLP) Gradients(x []float64, y []int, batch int) (loss float64, dW, dB [][]float64) {
	m.checkBatch(x, batch)
	k := m.Sizes[len(m.Sizes)-1]
	if len(y) != batch {
		panic(fmt.Sprintf("scratch: %d labels for a batch of %d", len(y), batch))
	}
	acts := m.forward(x, batch)
	logits := acts[len(acts)-1]

	// d(mean CE)/d logits = (softmax − one-hot) / batch.
	delta := make([]float64, batch*k)
	inv := 1 / float64(batch)
	for s := range batch {
		if y[s] < 0 || y[s] >= k {
			panic(fmt.Sprintf("scratch: label %d at index %d is outside 0..%d", y[s], s, k-1))
		}
		row := logits[s*k : (s+1)*k]
		lse := logSumExp(row)
		loss += lse - row[y[s]]
		for j, z := range row {
			delta[s*k+j] = math.Exp(z-lse) * inv
		}
		delta[s*k+y[s]] -= inv
	}
	loss *= inv

	dW = make([][]float64, m.layers())
	dB = make([][]float64, m.layers())
	for l := m.layers() - 1; l >= 0; l-- {
		in, out := m.Sizes[l], m.Sizes[l+1]
		a := acts[l]
		gw, gb := make([]float64, in*out), make([]float64, out)
		var prev []float64
		if l > 0 {
			prev = make([]float64, batch*in)
		}
		for s := range batch {
			d := delta[s*out : (s+1)*out]
			for j, v := range d {
				gb[j] += v
			}
			for i, v := range a[s*in : (s+1)*in] {
				// A zero input contributes nothing to dW, and for a hidden
				// layer a zero ReLU output also passes no gradient back.
				if v == 0 {
					continue
				}
				g := gw[i*out : (i+1)*out]
				for j := range g {
					g[j] += v * d[j]
				}
				if prev != nil && v > 0 {
					w := m.W[l][i*out : (i+1)*out]
					var sum float64
					for j := range w {
						sum += w[j] * d[j]
					}
					prev[s*in+i] = sum
				}
			}
		}
		dW[l], dB[l] = gw, gb
		delta = prev
	}
	return loss, dW, dB
}

// Step applies one SGD update, W −= lr·dW and B −= lr·dB.
func (m *MLP) Step(dW, dB [][]float64, lr float64) {
	for l := range m.layers() {
		for i, g := range dW[l] {
			m.W[l][i] -= lr * g
		}
		for j, g := range dB[l] {
			m.B[l][j] -= lr * g
		}
	}
}

// Accuracy returns the fraction of the batch samples in x whose most
// probable class equals y.
func (m *MLP) Accuracy(x []float64, y []int, batch int) float64 {
	m.checkBatch(x, batch)
	// Evaluate in chunks so a whole test set never needs every layer's
	// activations at once.
	const chunk = 1000
	in, k := m.Sizes[0], m.Sizes[len(m.Sizes)-1]
	correct := 0
	for lo := 0; lo < batch; lo += chunk {
		n := min(chunk, batch-lo)
		acts := m.forward(x[lo*in:(lo+n)*in], n)
		logits := acts[len(acts)-1]
		for s := range n {
			row := logits[s*k : (s+1)*k]
			best := 0
			for j, v := range row {
				if v > row[best] {
					best = j
				}
			}
			if best == y[lo+s] {
				correct++
			}
		}
	}
	return float64(correct) / float64(batch)
}
