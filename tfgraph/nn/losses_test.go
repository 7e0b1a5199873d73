package nn

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/tfrun/tfrun/tfgraph/adapter"
)

// lossCase is a batch of pixels: logits [pixels, channels] (one channel is
// a sigmoid output) and labels, −1 for unlabelled.
type lossCase struct {
	logits   []float64
	labels   []int32
	channels int
}

func (c lossCase) activation() string {
	if c.channels == 1 {
		return "sigmoid"
	}
	return "softmax"
}

// refLoss computes a single loss directly from its textbook formula, pixel
// by pixel, in float64: the oracle for the graph version.
func refLoss(name string, s LossSpec, c lossCase) float64 {
	type px struct {
		nll    float64
		p, t   []float64 // overlap channels
		class  int       // index into class weights
		object bool
	}
	var pixels []px
	for i, y := range c.labels {
		if y < 0 {
			continue
		}
		z := c.logits[i*c.channels : (i+1)*c.channels]
		if c.channels == 1 {
			p := 1 / (1 + math.Exp(-z[0]))
			nll := -math.Log(1 - p)
			if y == 1 {
				nll = -math.Log(p)
			}
			pixels = append(pixels, px{nll: nll, p: []float64{p}, t: []float64{float64(y)}, class: int(y), object: y == 1})
			continue
		}
		var sum float64
		for _, v := range z {
			sum += math.Exp(v)
		}
		p := make([]float64, len(z))
		t := make([]float64, len(z))
		for k, v := range z {
			p[k] = math.Exp(v) / sum
		}
		t[y] = 1
		pixels = append(pixels, px{nll: -math.Log(p[y]), p: p, t: t, class: int(y)})
	}
	weight := func(q px) float64 {
		if s.ClassWeights == nil {
			return 1
		}
		return s.ClassWeights[q.class]
	}
	var num, den float64
	switch name {
	case "crossentropy", "bce", "wce", "focal":
		for _, q := range pixels {
			w, term := 1.0, q.nll
			if name == "wce" || name == "focal" {
				w = weight(q)
			}
			if name == "focal" {
				alpha := s.Focal.Alpha
				if c.channels == 1 && !q.object {
					alpha = 1 - alpha
				}
				term = alpha * math.Pow(1-math.Exp(-q.nll), s.Focal.Gamma) * q.nll
			}
			num += w * term
			den += w
		}
		return num / den
	}
	k := len(pixels[0].p)
	var loss float64
	for ch := range k {
		var tp, sp, st float64
		for _, q := range pixels {
			tp += q.p[ch] * q.t[ch]
			sp += q.p[ch]
			st += q.t[ch]
		}
		if name == "dice" {
			loss += 1 - (2*tp+1)/(sp+st+1)
		} else {
			loss += 1 - (tp+0.5)/(tp+s.Tversky.Alpha*(sp-tp)+s.Tversky.Beta*(st-tp)+0.5)
		}
	}
	return loss / float64(k)
}

// lossRun evaluates a loss and its gradient w.r.t. the logits.
type lossRun struct {
	value, grad *graph.Exec
	c           lossCase
}

func newLossRun(t *testing.T, backend backends.Backend, s LossSpec, c lossCase) *lossRun {
	t.Helper()
	loss, err := NewLoss(s, c.activation(), c.channels)
	if err != nil {
		t.Fatal(err)
	}
	return &lossRun{
		value: graph.MustNewExec(backend, func(l, y *graph.Node) *graph.Node { return loss(l, y) }),
		grad:  graph.MustNewExec(backend, func(l, y *graph.Node) *graph.Node { return graph.Gradient(loss(l, y), l)[0] }),
		c:     c,
	}
}

func (r *lossRun) tensors(logits []float64) (*tensors.Tensor, *tensors.Tensor) {
	n := len(r.c.labels)
	return tensors.FromFlatDataAndDimensions(logits, n, r.c.channels), tensors.FromFlatDataAndDimensions(r.c.labels, n)
}

func (r *lossRun) at(logits []float64) float64 {
	l, y := r.tensors(logits)
	return r.value.MustExec(l, y)[0].Value().(float64)
}

func (r *lossRun) gradient(logits []float64) []float64 {
	l, y := r.tensors(logits)
	return tensors.MustCopyFlatData[float64](r.grad.MustExec(l, y)[0])
}

// testCases: 12 pixels, three of them unlabelled, for a 3-class softmax
// and for a sigmoid output.
func testCases() []lossCase {
	rng := rand.New(rand.NewPCG(5, 8))
	labels3 := []int32{0, 2, 1, -1, 2, 2, 0, -1, 1, 2, -1, 0}
	labels2 := []int32{1, 0, 0, -1, 1, 0, 0, -1, 1, 1, -1, 0}
	var cases []lossCase
	for _, ch := range []int{3, 1} {
		logits := make([]float64, len(labels3)*ch)
		for i := range logits {
			logits[i] = rng.Float64()*4 - 2
		}
		labels := labels3
		if ch == 1 {
			labels = labels2
		}
		cases = append(cases, lossCase{logits: logits, labels: labels, channels: ch})
	}
	return cases
}

func specFor(name string, c lossCase) LossSpec {
	s := LossSpec{Name: name, Focal: Focal{Gamma: 1.5, Alpha: 0.3}, Tversky: Tversky{Alpha: 0.2, Beta: 0.9}}
	if UsesClassWeights(name) {
		s.ClassWeights = []float64{0.4, 2.5, 1.2}
		if c.channels == 1 {
			s.ClassWeights = []float64{0.6, 1.9}
		}
	}
	return s
}

// TestLossValuesAndGradients compares every loss and some combinations,
// on a softmax and a sigmoid output with unlabelled pixels, with the
// direct formula, and their gradients with central finite differences,
// in float64.
func TestLossValuesAndGradients(t *testing.T) {
	backend, err := adapter.New("")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range testCases() {
		for _, name := range []string{"crossentropy", "bce", "wce", "focal", "dice", "tversky", "ce+dice", "focal+dice", "wce+tversky"} {
			if name == "bce" && c.channels != 1 {
				continue
			}
			s := specFor(name, c)
			r := newLossRun(t, backend, s, c)
			var want float64
			parts, _ := ParseLoss(name)
			for _, p := range parts {
				want += refLoss(p, s, c)
			}
			if got := r.at(c.logits); math.Abs(got-want) > 1e-12 {
				t.Errorf("%s (%s) = %.15g, formula %.15g", name, c.activation(), got, want)
			}
			g := r.gradient(c.logits)
			var worst float64
			for i := range c.logits {
				const eps = 1e-6
				up, down := append([]float64{}, c.logits...), append([]float64{}, c.logits...)
				up[i] += eps
				down[i] -= eps
				fd := (r.at(up) - r.at(down)) / (2 * eps)
				worst = math.Max(worst, math.Abs(g[i]-fd))
				if math.Abs(g[i]-fd) > 1e-8 {
					t.Errorf("%s (%s) gradient[%d] = %g, finite difference %g", name, c.activation(), i, g[i], fd)
				}
			}
			t.Logf("%-12s %-7s loss %.6f, worst |gradient − finite difference| %.2e", name, c.activation(), want, worst)
		}
	}
}

// TestLossIgnoresUnlabelled: a batch whose unlabelled pixels carry
// garbage predictions gives the loss of the batch without them, and no
// gradient flows to those predictions.
func TestLossIgnoresUnlabelled(t *testing.T) {
	backend, err := adapter.New("")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range testCases() {
		garbage := append([]float64{}, c.logits...)
		var kept lossCase
		kept.channels = c.channels
		for i, y := range c.labels {
			px := garbage[i*c.channels : (i+1)*c.channels]
			if y < 0 {
				for k := range px {
					px[k] = 40 * float64(1-2*(k%2)) // confident and wrong for any label
				}
				continue
			}
			kept.labels = append(kept.labels, y)
			kept.logits = append(kept.logits, px...)
		}
		for _, name := range []string{"crossentropy", "wce", "focal", "dice", "tversky", "ce+dice", "focal+dice"} {
			full := newLossRun(t, backend, specFor(name, c), c)
			part := newLossRun(t, backend, specFor(name, kept), kept)
			got, want := full.at(garbage), part.at(kept.logits)
			if math.Abs(got-want) > 1e-12 {
				t.Errorf("%s (%s): %.15g with garbage on unlabelled pixels, %.15g without them", name, c.activation(), got, want)
			}
			g := full.gradient(garbage)
			for i, y := range c.labels {
				for k := range c.channels {
					if v := g[i*c.channels+k]; y < 0 && v != 0 {
						t.Errorf("%s (%s): gradient %g on unlabelled pixel %d", name, c.activation(), v, i)
					}
				}
			}
		}
		// All pixels unlabelled: zero loss, not NaN.
		none := lossCase{logits: c.logits, labels: make([]int32, len(c.labels)), channels: c.channels}
		for i := range none.labels {
			none.labels[i] = -1
		}
		if v := newLossRun(t, backend, specFor("wce", none), none).at(none.logits); v != 0 {
			t.Errorf("wce (%s) of a batch without labels = %g, want 0", c.activation(), v)
		}
	}
}

// TestLossSpecialCases checks the identities the parameters promise.
func TestLossSpecialCases(t *testing.T) {
	backend, err := adapter.New("")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range testCases() {
		at := func(s LossSpec) float64 { return newLossRun(t, backend, s, c).at(c.logits) }
		ce := at(LossSpec{Name: "ce"})
		weights := func(v float64) []float64 { return []float64{v, v, v}[:max(c.channels, 2)] }
		for what, got := range map[string]float64{
			"wce with unit weights":     at(LossSpec{Name: "wce", ClassWeights: weights(1)}),
			"wce with uniform weights":  at(LossSpec{Name: "wce", ClassWeights: weights(3)}),
			"2 × focal with γ=0, α=0.5": 2 * at(LossSpec{Name: "focal", Focal: Focal{Gamma: 0, Alpha: 0.5}}),
		} {
			if math.Abs(got-ce) > 1e-12 {
				t.Errorf("%s (%s) = %g, cross-entropy %g", what, c.activation(), got, ce)
			}
		}
		dice, tv := at(LossSpec{Name: "dice"}), at(LossSpec{Name: "tversky", Tversky: Tversky{Alpha: 0.5, Beta: 0.5}})
		if math.Abs(dice-tv) > 1e-12 {
			t.Errorf("tversky α=β=½ (%s) = %g, dice %g", c.activation(), tv, dice)
		}
		// β > α punishes misses more: on a model that misses, Tversky grows.
		if recall := at(LossSpec{Name: "tversky", Tversky: Tversky{Alpha: 0.1, Beta: 0.9}}); recall == tv {
			t.Errorf("tversky (%s) ignores α and β", c.activation())
		}
	}
}

func TestLossNamesAndErrors(t *testing.T) {
	for name, want := range map[string][]string{
		"":           {"crossentropy"},
		"CE":         {"crossentropy"},
		"ce+dice":    {"crossentropy", "dice"},
		"focal+dice": {"focal", "dice"},
		"bce+dice":   {"bce", "dice"},
	} {
		got, err := ParseLoss(name)
		if err != nil || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("ParseLoss(%q) = %v, %v; want %v", name, got, err, want)
		}
	}
	for name, mention := range map[string]string{
		"hinge":         `unknown loss "hinge"`,
		"ce+dice+focal": "at most two",
		"ce+":           "unknown loss",
	} {
		if _, err := ParseLoss(name); err == nil || !strings.Contains(err.Error(), mention) {
			t.Errorf("ParseLoss(%q): %v, want %q", name, err, mention)
		}
	}
	if !UsesClassWeights("focal+dice") || !UsesClassWeights("wce") || UsesClassWeights("ce+dice") {
		t.Error("UsesClassWeights is wrong")
	}
	if _, err := NewLoss(LossSpec{Name: "wce", ClassWeights: []float64{1, 2}}, "softmax", 3); err == nil ||
		!strings.Contains(err.Error(), "2 class weights for 3 classes") {
		t.Errorf("wrong weight count: %v", err)
	}
	if _, err := NewLoss(LossSpec{Name: "wce", ClassWeights: []float64{1, 2}}, "sigmoid", 1); err != nil {
		t.Errorf("two weights for a sigmoid output: %v", err)
	}
	if _, err := LossByName("ce+bce", "softmax"); err == nil || !strings.Contains(err.Error(), "sigmoid") {
		t.Errorf("bce on a softmax output: %v", err)
	}
}
