// Command cpuprof times a zoo model's train step or inference batch alone
// on the tfrun-cpu engine, so that TFRUN_CPU_PROFILE=1 attributes the time
// of one of them: tfrun bench runs both in one process and profiles them
// together.
//
//	TFRUN_CPU_PROFILE=1 go run ./scripts/bench/cpuprof -mode infer -model unet -option base=16 -classes 1 -batch 4 -input 256x256x3
package main

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/config"
	"github.com/tfrun/tfrun/infer"
	"github.com/tfrun/tfrun/internal/dims"
	"github.com/tfrun/tfrun/models"
	"github.com/tfrun/tfrun/tfgraph/engine"
	"github.com/tfrun/tfrun/train"
)

type options map[string]any

func (o options) String() string { return fmt.Sprint(map[string]any(o)) }

func (o options) Set(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if !ok {
		return fmt.Errorf("want key=value, got %q", kv)
	}
	if n, err := strconv.Atoi(v); err == nil {
		o[k] = n
	} else {
		o[k] = v
	}
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cpuprof:", err)
		os.Exit(2)
	}
}

func run() error {
	opts := options{}
	mode := flag.String("mode", "train", "train or infer")
	model := flag.String("model", "unet", "zoo model")
	classes := flag.Int("classes", 1, "output classes")
	batch := flag.Int("batch", 4, "batch size")
	input := flag.String("input", "256x256x3", "input HxWxC")
	repeats := flag.Int("repeats", 3, "timed repetitions after one warm-up")
	threads := flag.Int("threads", 0, "kernel threads (0 = all cores)")
	flag.Var(opts, "option", "zoo option key=value (repeatable)")
	flag.Parse()
	var shape []int
	for _, p := range strings.Split(*input, "x") {
		n, err := strconv.Atoi(p)
		if err != nil {
			return fmt.Errorf("-input %q: %v", *input, err)
		}
		shape = append(shape, n)
	}
	m, err := models.FromZooWith(*model, shape, *classes, opts)
	if err != nil {
		return err
	}
	backend, err := engine.New(engine.Config{Name: engine.Go, Threads: *threads})
	if err != nil {
		return err
	}
	defer backend.Finalize()
	ctx := context.New()
	m.Init(ctx, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	xs := make([]float32, *batch*dims.Product(shape))
	for i := range xs {
		xs[i] = rng.Float32()
	}
	var step func() error
	switch *mode {
	case "train":
		out := m.Output.Shape
		labelShape := out[:len(out)-1]
		ys := make([]int32, *batch*dims.Product(labelShape))
		for i := range ys {
			ys[i] = int32(rng.IntN(max(out[len(out)-1], 2)))
		}
		x := tensors.FromFlatDataAndDimensions(xs, append([]int{*batch}, shape...)...)
		y := tensors.FromFlatDataAndDimensions(ys, append([]int{*batch}, labelShape...)...)
		f := &train.Fitter{Backend: backend, Model: m, Ctx: ctx, Opts: config.Defaults().Train}
		step = func() error { _, _, err := f.Step(x, y); return err }
	case "infer":
		r, err := infer.NewRunner(backend, m, ctx, "")
		if err != nil {
			return err
		}
		step = func() error { _, err := r.Predict(xs, *batch); return err }
	default:
		return fmt.Errorf("-mode %q: want train or infer", *mode)
	}
	// CPU time is reported besides wall time: on a shared machine it
	// moves less with the load than wall time does.
	ms, cpu, sys := make([]float64, *repeats+1), make([]float64, *repeats+1), make([]float64, *repeats+1)
	faults := make([]float64, *repeats+1)
	for i := range ms {
		start, u0 := time.Now(), usage()
		if err := step(); err != nil {
			return err
		}
		ms[i] = float64(time.Since(start).Microseconds()) / 1000
		u1 := usage()
		cpu[i], sys[i], faults[i] = u1[0]+u1[1]-u0[0]-u0[1], u1[1]-u0[1], u1[2]-u0[2]
	}
	timed := slices.Sorted(slices.Values(ms[1:]))
	cpuTimed := slices.Sorted(slices.Values(cpu[1:]))
	med := func(xs []float64) float64 { t := slices.Sorted(slices.Values(xs[1:])); return t[len(t)/2] }
	fmt.Printf("%s %s: warm-up %.1f ms, median %.1f ms, min %.1f ms, CPU median %.1f ms (sys %.1f), %.0f page faults (%s)\n",
		*model, *mode, ms[0], timed[len(timed)/2], timed[0], cpuTimed[len(cpuTimed)/2], med(sys), med(faults),
		backend.Description())
	return nil
}

// usage is the process's user and system CPU time so far, in ms, and its
// minor page faults.
func usage() [3]float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return [3]float64{}
	}
	return [3]float64{float64(ru.Utime.Nano()) / 1e6, float64(ru.Stime.Nano()) / 1e6, float64(ru.Minflt)}
}
