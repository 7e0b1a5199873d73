package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/config"
	"github.com/tfrun/tfrun/infer"
	"github.com/tfrun/tfrun/internal/dims"
	"github.com/tfrun/tfrun/models"
	"github.com/tfrun/tfrun/train"
	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"
)

func benchCommand() *cli.Command {
	return &cli.Command{
		Name:      "bench",
		Usage:     "time a train step and an inference batch of a zoo model",
		UsageText: "tfrun bench --model convnet --batch 128 --input 28x28x1 [--only train|inference] [--json]",
		Description: "Runs one warm-up, then --repeats timed train steps (Adam) and inference batches on random data, " +
			"and reports the medians, GFLOP/s (2 FLOPs per multiply-accumulate; a train step counts 3 forward passes), " +
			"and the process's CPU time and page faults per step, which move less with a shared machine's load than wall time. " +
			"With --only one of the two runs, so that TFRUN_CPU_PROFILE=1 profiles it alone. " +
			"Compare with PyTorch: python3 scripts/bench/torch_peer.py --model convnet --batch 128 --input 28x28x1 --ours OURS.json",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "model", Usage: "zoo model: " + strings.Join(models.ZooNames(), ", "), Required: true},
			&cli.IntFlag{Name: "batch", Value: 32, Usage: "batch size"},
			&cli.StringFlag{Name: "input", Value: "28x28x1", Usage: "input shape HxWxC"},
			&cli.IntFlag{Name: "classes", Value: 10, Usage: "output classes"},
			&cli.StringSliceFlag{Name: "option", Usage: "zoo model option, e.g. --option base=16 (repeatable)"},
			&cli.IntFlag{Name: "repeats", Value: 5, Usage: "timed repetitions"},
			&cli.StringFlag{Name: "only", Usage: "time only \"train\" or \"inference\""},
			&cli.BoolFlag{Name: "json", Usage: "print a JSON object"},
		}, engineFlags()...),
		Action: runBench,
	}
}

type benchResult struct {
	Model               string  `json:"model"`
	Engine              string  `json:"engine"`
	Batch               int     `json:"batch"`
	Input               []int   `json:"input"`
	Threads             int     `json:"threads"`
	Params              int64   `json:"params"`
	TrainStepMS         float64 `json:"train_step_ms,omitempty"`
	InferenceMS         float64 `json:"inference_ms,omitempty"`
	TrainGFLOPS         float64 `json:"train_gflops,omitempty"`
	InferenceGFLOPS     float64 `json:"inference_gflops,omitempty"`
	TrainCPUMS          float64 `json:"train_cpu_ms,omitempty"`
	InferenceCPUMS      float64 `json:"inference_cpu_ms,omitempty"`
	TrainPageFaults     float64 `json:"train_page_faults,omitempty"`
	InferencePageFaults float64 `json:"inference_page_faults,omitempty"`
}

func runBench(c *cli.Context) error {
	shape, err := parseShape(c.String("input"))
	if err != nil {
		return err
	}
	batch, repeats := c.Int("batch"), c.Int("repeats")
	if batch <= 0 || repeats <= 0 {
		return fmt.Errorf("--batch and --repeats must be > 0")
	}
	only := c.String("only")
	if only != "" && only != "train" && only != "inference" {
		return fmt.Errorf("--only %q: want train or inference", only)
	}
	opts, err := parseOptions(c.StringSlice("option"))
	if err != nil {
		return err
	}
	m, err := models.FromZooWith(c.String("model"), shape, c.Int("classes"), opts)
	if err != nil {
		return err
	}
	backend, err := newBackend(c, config.Engine{})
	if err != nil {
		return err
	}
	defer backend.Finalize()
	ctx := context.New()
	m.Init(ctx, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	xs := make([]float32, batch*dims.Product(shape))
	for i := range xs {
		xs[i] = rng.Float32()
	}
	// A classifier has one label per example; a segmentation model one per
	// output pixel.
	out := m.Output.Shape
	labelShape := out[:len(out)-1]
	classes := max(out[len(out)-1], 2)
	ys := make([]int32, batch*dims.Product(labelShape))
	for i := range ys {
		ys[i] = int32(rng.IntN(classes))
	}
	x := tensors.FromFlatDataAndDimensions(xs, append([]int{batch}, shape...)...)
	y := tensors.FromFlatDataAndDimensions(ys, append([]int{batch}, labelShape...)...)
	flops := 2 * float64(m.MACs()) * float64(batch)
	threads := c.Int("threads")
	if threads == 0 {
		threads = runtime.NumCPU()
	}
	res := benchResult{Model: m.Name, Engine: backend.Name(), Batch: batch, Input: shape, Threads: threads,
		Params: m.ParamCount()}
	if only != "inference" {
		f := &train.Fitter{Backend: backend, Model: m, Ctx: ctx, Opts: config.Defaults().Train}
		t, err := median(repeats, func() error { _, _, err := f.Step(x, y); return err })
		if err != nil {
			return err
		}
		res.TrainStepMS, res.TrainCPUMS, res.TrainPageFaults = t.ms, t.cpuMS, t.faults
		res.TrainGFLOPS = 3 * flops / t.ms / 1e6
	}
	if only != "train" {
		r, err := infer.NewRunner(backend, m, ctx, "")
		if err != nil {
			return err
		}
		t, err := median(repeats, func() error { _, err := r.Predict(xs, batch); return err })
		if err != nil {
			return err
		}
		res.InferenceMS, res.InferenceCPUMS, res.InferencePageFaults = t.ms, t.cpuMS, t.faults
		res.InferenceGFLOPS = flops / t.ms / 1e6
	}
	if c.Bool("json") {
		return json.NewEncoder(os.Stdout).Encode(res)
	}
	fmt.Printf("%s batch %d input %v on %s (%d threads)\n", res.Model, batch, shape, res.Engine, threads)
	if res.TrainStepMS > 0 {
		fmt.Printf("train step  %9.1f ms  %6.2f GFLOP/s  CPU %9.1f ms  %7.0f page faults\n", res.TrainStepMS,
			res.TrainGFLOPS, res.TrainCPUMS, res.TrainPageFaults)
	}
	if res.InferenceMS > 0 {
		fmt.Printf("inference   %9.1f ms  %6.2f GFLOP/s  CPU %9.1f ms  %7.0f page faults\n", res.InferenceMS,
			res.InferenceGFLOPS, res.InferenceCPUMS, res.InferencePageFaults)
	}
	return nil
}

// timing is the median wall time, CPU time and page faults of a step.
type timing struct{ ms, cpuMS, faults float64 }

// median times fn once to warm up (graph compilation), then repeats times;
// each measure's median is taken on its own.
func median(repeats int, fn func() error) (timing, error) {
	if err := fn(); err != nil {
		return timing{}, err
	}
	ms, cpu, faults := make([]float64, repeats), make([]float64, repeats), make([]float64, repeats)
	for i := range ms {
		start, u0 := time.Now(), processUsage()
		if err := fn(); err != nil {
			return timing{}, err
		}
		ms[i] = float64(time.Since(start).Microseconds()) / 1000
		u1 := processUsage()
		cpu[i], faults[i] = u1.cpuMS-u0.cpuMS, u1.faults-u0.faults
	}
	mid := func(xs []float64) float64 { slices.Sort(xs); return xs[repeats/2] }
	return timing{ms: mid(ms), cpuMS: mid(cpu), faults: mid(faults)}, nil
}

// parseOptions reads key=value pairs, values as YAML scalars (16, true, a
// word), the way a config's model.options would hold them.
func parseOptions(kvs []string) (map[string]any, error) {
	opts := map[string]any{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--option %q: want key=value", kv)
		}
		var val any
		if err := yaml.Unmarshal([]byte(v), &val); err != nil {
			return nil, fmt.Errorf("--option %s: %v", k, err)
		}
		opts[k] = val
	}
	return opts, nil
}

func parseShape(s string) ([]int, error) {
	parts := strings.Split(s, "x")
	shape := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("--input %q: want a shape like 28x28x1", s)
		}
		shape[i] = n
	}
	return shape, nil
}
