package train

import (
	"math"
	"math/rand/v2"
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
