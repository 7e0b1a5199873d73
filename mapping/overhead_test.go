package mapping

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/tfrun/tfrun/raster"
)

// constant is a free "model": it shows what the pipeline costs around
// the engine.
type constant struct{ size int }

func (c constant) Predict(x []float32, n int) ([]float32, error) {
	out := make([]float32, n*c.size)
	for i := range out {
		out[i] = 0.5
	}
	return out, nil
}

// cpuTime is the process's user and system time so far: on a shared
// machine it tells the pipeline's cost better than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPipelineOverhead times reading, cutting, batching, blending and
// handing on strips of a 4096×4096 3-band sheet in 256-pixel windows
// overlapping by 64, with a model that costs nothing. Run with
// go test ./mapping -run - -bench Overhead.
func BenchmarkPipelineOverhead(b *testing.B) {
	const size, win = 4096, 256
	nd := 0.0
	src := &memSource{info: raster.Info{Width: size, Height: size, Bands: 3, NoData: []*float64{&nd, &nd, &nd}},
		data: make([]float32, size*size*3)}
	for i := range src.data {
		src.data[i] = float32(i%251 + 1)
	}
	m := ModelInfo{Input: []int{win, win, 3}, Output: []int{win, win, 2}, Activation: "softmax", Scale: 255}
	for _, blend := range Blends {
		b.Run(string(blend), func(b *testing.B) {
			var st Stats
			cpu0 := cpuTime()
			for b.Loop() {
				var err error
				st, err = Run(context.Background(), src, constant{win * win * 2}, m, Options{Overlap: 64, Blend: blend, Batch: 8}, func(*Strip) error { return nil })
				if err != nil {
					b.Fatal(err)
				}
			}
			windows := float64(b.N * st.Windows)
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/windows, "ms/window")
			b.ReportMetric((cpuTime()-cpu0).Seconds()*1000/windows, "cpu-ms/window")
		})
	}
}
