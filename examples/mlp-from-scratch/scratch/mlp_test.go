package scratch

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGradientsFiniteDifference compares every analytic gradient of a tiny
// network with a central difference of the loss.
func TestGradientsFiniteDifference(t *testing.T) {
	m := New([]int{5, 4, 3, 2}, 7)
	rng := rand.New(rand.NewPCG(1, 2))
	// Non-zero biases so that no ReLU sits exactly at its kink.
	for _, b := range m.B {
		for j := range b {
			b[j] = rng.NormFloat64() * 0.1
		}
	}
	const batch = 3
	x := make([]float64, batch*5)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	y := []int{0, 1, 1}

	loss, dW, dB := m.Gradients(x, y, batch)
	if loss <= 0 || math.IsNaN(loss) {
		t.Fatalf("loss %v, want a positive number", loss)
	}
	lossAt := func() float64 { l, _, _ := m.Gradients(x, y, batch); return l }

	const eps = 1e-6
	check := func(name string, p []float64, g []float64) {
		for i := range p {
			orig := p[i]
			p[i] = orig + eps
			up := lossAt()
			p[i] = orig - eps
			down := lossAt()
			p[i] = orig
			num := (up - down) / (2 * eps)
			if d := math.Abs(num - g[i]); d > 1e-7+1e-5*math.Abs(num) {
				t.Errorf("%s[%d]: analytic %.10g, numeric %.10g", name, i, g[i], num)
			}
		}
	}
	for l := range m.W {
		check("dW"+string(rune('0'+l)), m.W[l], dW[l])
		check("dB"+string(rune('0'+l)), m.B[l], dB[l])
	}

	// At the start the loss must match the probabilities Forward reports.
	probs := m.Forward(x, batch)
	var ce float64
	for s := range batch {
		ce -= math.Log(probs[s*2+y[s]])
	}
	if math.Abs(ce/batch-loss) > 1e-12 {
		t.Errorf("Gradients loss %v, mean −log p from Forward %v", loss, ce/batch)
	}
}

func TestLayoutAndForward(t *testing.T) {
	m := New([]int{2, 3}, 1)
	if len(m.W) != 1 || len(m.W[0]) != 6 || len(m.B[0]) != 3 {
		t.Fatalf("shapes W %d, B %d", len(m.W[0]), len(m.B[0]))
	}
	// W[0][i*3+j] connects input i to output j: input (1, 0) selects row 0.
	m.W[0] = []float64{0, 0, math.Log(2), 5, 5, 5}
	p := m.Forward([]float64{1, 0}, 1)
	if want := []float64{0.25, 0.25, 0.5}; math.Abs(p[0]-want[0])+math.Abs(p[1]-want[1])+math.Abs(p[2]-want[2]) > 1e-12 {
		t.Errorf("probs %v, want %v", p, want)
	}
	if a := m.Accuracy([]float64{1, 0, 0, 1}, []int{2, 1}, 2); a != 0.5 {
		t.Errorf("accuracy %v, want 0.5", a)
	}

	same := New([]int{4, 3, 2}, 9)
	again := New([]int{4, 3, 2}, 9)
	for l := range same.W {
		for i := range same.W[l] {
			if same.W[l][i] != again.W[l][i] {
				t.Fatal("the same seed gave different weights")
			}
			if lim := math.Sqrt(6 / float64(same.Sizes[l])); math.Abs(same.W[l][i]) > lim {
				t.Fatalf("weight %v outside the He-uniform limit %v", same.W[l][i], lim)
			}
		}
	}
}

func TestTrainOnMNISTSlice(t *testing.T) {
	dir, err := MNISTDir()
	if err != nil {
		t.Skip(err)
	}
	x, y, err := LoadMNIST(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(y) != 10000 || len(x) != 10000*784 || y[0] != 7 {
		t.Fatalf("got %d labels, %d pixels, first label %d", len(y), len(x), y[0])
	}
	// Train on the first 2000 test images, evaluate on the last 2000.
	const n, batch = 2000, 32
	trainX, trainY := x[:n*784], y[:n]
	evalX, evalY := x[8000*784:], y[8000:]

	m := New([]int{784, 64, 32, 10}, 1)
	before, _, _ := m.Gradients(trainX, trainY, n)
	for lo := 0; lo < n; lo += batch {
		_, dW, dB := m.Gradients(trainX[lo*784:(lo+batch)*784], trainY[lo:lo+batch], batch)
		m.Step(dW, dB, 0.1)
	}
	after, _, _ := m.Gradients(trainX, trainY, n)
	if after > before/3 {
		t.Errorf("loss %.3f → %.3f after one epoch, want it to fall by two thirds", before, after)
	}
	if acc := m.Accuracy(evalX, evalY, 2000); acc < 0.75 {
		t.Errorf("held-out accuracy %.3f after one small epoch, want ≥ 0.75", acc)
	}
}
