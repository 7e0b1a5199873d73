package train

import (
	"iter"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/config"
	"github.com/tfrun/tfrun/datasets"
	"github.com/tfrun/tfrun/layers"
	"github.com/tfrun/tfrun/models"
	"github.com/tfrun/tfrun/tfgraph/adapter"
)

// TestRecalibrateBNAveragesBatches checks precise-BN recalibration on a
// batch norm that sees the data directly: the stored mean must become the
// average of the recalibration batches' means and the stored variance the
// average of their unbiased variances, computed here in float64 from the
// same batches, whatever the momentum left there before.
func TestRecalibrateBNAveragesBatches(t *testing.T) {
	backend, err := adapter.New("")
	if err != nil {
		t.Fatal(err)
	}
	f := models.NewFunctional("bn")
	m, err := f.Build(f.Apply(&layers.Dense{Units: 2}, f.Apply(&layers.BatchNorm{}, f.Input(3))))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	m.Init(ctx, 1)
	means, stds := []float64{5, -2, 0}, []float64{3, 0.5, 1}
	rng := rand.New(rand.NewPCG(4, 5))
	data := &datasets.Arrays{Shape: []int{3}, N: 100}
	for i := range data.N {
		for c := range 3 {
			data.X = append(data.X, float32(means[c]+stds[c]*rng.NormFloat64()))
		}
		data.Y = append(data.Y, int32(i%2))
	}
	opts := config.Train{BatchSize: 16, BNRecalibration: 3, Seed: 9}
	fr := &Fitter{Backend: backend, Model: m, Ctx: ctx, Opts: opts}
	if err := fr.RecalibrateBN(data); err != nil {
		t.Fatal(err)
	}

	order := recalibrationOrder(data.N, 3*16, opts.Seed)
	wantMean, wantVar := make([]float64, 3), make([]float64, 3)
	for b := 0; b < 3; b++ {
		batch := order[b*16 : (b+1)*16]
		for c := range 3 {
			var s, s2 float64
			for _, i := range batch {
				v := float64(data.X[i*3+c])
				s += v
				s2 += v * v
			}
			n := float64(len(batch))
			mean := s / n
			wantMean[c] += mean / 3
			wantVar[c] += (s2 - n*mean*mean) / (n - 1) / 3
		}
	}
	got := func(name string) []float32 {
		v := ctx.InAbsPath("/batchnorm").GetVariable(name)
		if v == nil {
			t.Fatalf("no variable /batchnorm/%s", name)
		}
		return tensors.MustCopyFlatData[float32](v.MustValue())
	}
	gotMean, gotVar := got("moving_mean"), got("moving_variance")
	for c := range 3 {
		if math.Abs(float64(gotMean[c])-wantMean[c]) > 1e-4*math.Max(1, math.Abs(wantMean[c])) {
			t.Errorf("channel %d: moving mean %g, want the batches' average %g", c, gotMean[c], wantMean[c])
		}
		if math.Abs(float64(gotVar[c])-wantVar[c]) > 1e-4*wantVar[c] {
			t.Errorf("channel %d: moving variance %g, want the batches' average %g", c, gotVar[c], wantVar[c])
		}
	}
}

// TestValMIoU trains a per-pixel model on pixels whose class is their
// sign: the log must carry val_miou, rising near 1 as the model
// learns the rule, and a classifier asked to monitor it must be refused.
func TestValMIoU(t *testing.T) {
	backend, err := adapter.New("")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, 3))
	pixels := func(n int) *pixelSet {
		p := &pixelSet{n: n, hw: 4}
		for range n * 16 {
			v := rng.NormFloat64()
			p.x = append(p.x, float32(v))
			p.y = append(p.y, int32(max(0, int(math.Copysign(1, v)))))
		}
		return p
	}
	seg, val := pixels(64), pixels(16)
	f := models.NewFunctional("pixels")
	m, err := f.Build(f.Apply(&layers.Conv2D{Filters: 2, Kernel: layers.Sq(1), Padding: "same", Activation: "softmax"}, f.Input(4, 4, 1)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	m.Init(ctx, 1)
	opts := config.Train{Optimizer: "adam", LearningRate: 0.1, BatchSize: 16, Epochs: 5, Seed: 1, Checkpoint: &config.Checkpoint{Monitor: "val_miou"}}
	fr := &Fitter{Backend: backend, Model: m, Ctx: ctx, Opts: opts}
	h, err := fr.Fit(seg, val)
	if err != nil {
		t.Fatal(err)
	}
	first, last := h.Records[0].Values, h.Records[len(h.Records)-1].Values
	if _, ok := first["val_miou"]; !ok || last["val_miou"] < 0.95 || last["val_miou"] < first["val_miou"] {
		t.Errorf("val_miou from %v to %v, want it logged and rising above 0.95", first["val_miou"], last["val_miou"])
	}

	c := models.NewFunctional("classifier")
	cm, err := c.Build(c.Apply(&layers.Dense{Units: 2, Activation: "softmax"}, c.Input(3)))
	if err != nil {
		t.Fatal(err)
	}
	cctx := context.New()
	cm.Init(cctx, 1)
	cls := &datasets.Arrays{Shape: []int{3}, N: 4, X: make([]float32, 12), Y: []int32{0, 1, 0, 1}}
	_, err = (&Fitter{Backend: backend, Model: cm, Ctx: cctx, Opts: opts}).Fit(cls, cls)
	if err == nil || !strings.Contains(err.Error(), "val_miou") {
		t.Errorf("a classifier monitoring val_miou: error %v, want one naming val_miou", err)
	}
}

// pixelSet is a segmentation source in memory: per-pixel labels.
type pixelSet struct {
	x     []float32
	y     []int32
	n, hw int
}

func (p *pixelSet) Len() int          { return p.n }
func (p *pixelSet) InputShape() []int { return []int{p.hw, p.hw, 1} }
func (p *pixelSet) LabelShape() []int { return []int{p.hw, p.hw} }
func (p *pixelSet) Batches(_ int, order []int, size int) iter.Seq2[*datasets.Batch, error] {
	return func(yield func(*datasets.Batch, error) bool) {
		px := p.hw * p.hw
		if order == nil {
			order = make([]int, p.n)
			for i := range order {
				order[i] = i
			}
		}
		for start := 0; start < len(order); start += size {
			b := &datasets.Batch{}
			for _, i := range order[start:min(start+size, len(order))] {
				b.X = append(b.X, p.x[i*px:(i+1)*px]...)
				b.Y = append(b.Y, p.y[i*px:(i+1)*px]...)
				b.N++
			}
			if !yield(b, nil) {
				return
			}
		}
	}
}
