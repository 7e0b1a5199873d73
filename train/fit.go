// Package train fits models: the train step, the epoch loop with its
// Keras-style callbacks (keep-best, early stopping, reduce-LR-on-plateau),
// the per-epoch CSV log and the progress bar.
package train

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/schollz/progressbar/v3"
	"github.com/tfrun/tfrun/config"
	"github.com/tfrun/tfrun/datasets"
	"github.com/tfrun/tfrun/history"
	"github.com/tfrun/tfrun/infer"
	"github.com/tfrun/tfrun/models"
	"github.com/tfrun/tfrun/tfgraph/nn"
)

// Fitter trains one model in one context.
type Fitter struct {
	Backend backends.Backend
	Model   *models.Model
	Ctx     *context.Context
	Opts    config.Train
	// Progress receives the progress bar and per-epoch lines; nil is quiet.
	Progress io.Writer
	// Save writes the model as it is now; it is called on each
	// improvement of the checkpoint's monitor, or once at the end without one.
	Save func(h *history.History) error
	// EpochEnd runs after each epoch with the history so far (CSV log, plot).
	EpochEnd func(h *history.History) error

	step        *context.Exec
	recalibrate *context.Exec
	eval        *infer.Runner
	loss        nn.Loss
}

// Step runs one training step on a batch and returns its mean loss and the
// number of correct predictions.
func (f *Fitter) Step(x, y *tensors.Tensor) (loss, correct float64, err error) {
	if f.step == nil {
		if f.step, err = f.buildStep(); err != nil {
			return 0, 0, err
		}
	}
	out, err := f.step.Exec(x, y)
	if err != nil {
		return 0, 0, err
	}
	defer finalize(out)
	return scalar(out[0]), scalar(out[1]), nil
}

func (f *Fitter) buildStep() (*context.Exec, error) {
	opt, err := NewOptimizer(f.Opts.Optimizer, f.Opts.Momentum)
	if err != nil {
		return nil, err
	}
	act := f.Model.OutputActivation()
	if err := f.prepareLoss(nil); err != nil {
		return nil, err
	}
	lossFn := f.loss
	LearningRate(f.Ctx, f.Opts.LearningRate)
	return context.NewExec(f.Backend, f.Ctx, func(ctx *context.Context, x, y *graph.Node) []*graph.Node {
		g := x.Graph()
		ctx.SetTraining(g, true)
		logits := f.Model.Forward(ctx, x, true)
		loss := lossFn(logits, y)
		var vars []*context.Variable
		var nodes []*graph.Node
		for v := range ctx.IterVariables() {
			if v.Trainable && v.InUseByGraph(g) {
				vars = append(vars, v)
				nodes = append(nodes, v.ValueGraph(g))
			}
		}
		grads := graph.Gradient(loss, nodes...)
		opt.Update(ctx, g, vars, grads)
		return []*graph.Node{loss, nn.CorrectCount(logits, y, act)}
	})
}

// Fit trains on train for the configured epochs, validating on val when it
// is not nil, and returns the history.
func (f *Fitter) Fit(train, val datasets.Source) (*history.History, error) {
	if err := f.Ctx.SetRNGStateFromSeed(int64(f.Opts.Seed)); err != nil {
		return nil, err
	}
	if err := f.prepareLoss(train); err != nil {
		return nil, err
	}
	if len(train.LabelShape()) == 0 {
		for _, m := range f.Opts.CallbackMonitors() {
			if m == "val_miou" {
				return nil, fmt.Errorf("monitor val_miou: the mean IoU is logged for segmentation models; this one gives one class per example (use val_accuracy)")
			}
		}
	}
	lrVar := LearningRate(f.Ctx, f.Opts.LearningRate)
	lr := f.Opts.LearningRate
	h := &history.History{}
	ck := newMonitor(monitorOf(f.Opts.Checkpoint), 0)
	es := newMonitor("", 0)
	if e := f.Opts.EarlyStopping; e != nil {
		es = newMonitor(e.Monitor, e.MinDelta)
	}
	rl := newMonitor("", 0)
	if r := f.Opts.ReduceLR; r != nil {
		rl = newMonitor(r.Monitor, 0)
	}
	n := train.Len()
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(f.Opts.Seed, 0x73687566))
	bs := f.Opts.BatchSize
	steps := (n + bs - 1) / bs
	inShape, labelShape := train.InputShape(), train.LabelShape()
	for epoch := 0; epoch < f.Opts.Epochs; epoch++ {
		start := time.Now()
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		bar := f.bar(steps, fmt.Sprintf("epoch %d/%d", epoch+1, f.Opts.Epochs))
		var lossSum, correct float64
		seen, labelled, s := 0, 0, 0
		for b, err := range train.Batches(epoch, order, bs) {
			if err != nil {
				return h, err
			}
			x, y := Tensors(b, inShape, labelShape)
			l, c, err := f.Step(x, y)
			x.FinalizeAll()
			y.FinalizeAll()
			if err != nil {
				return h, err
			}
			s++
			if math.IsNaN(l) || math.IsInf(l, 0) {
				return h, fmt.Errorf("epoch %d step %d: loss is %g; lower train.learning_rate", epoch+1, s, l)
			}
			lossSum += l * float64(b.N)
			correct += c
			seen += b.N
			labelled += labelledCount(b.Y)
			if bar != nil {
				bar.Describe(fmt.Sprintf("epoch %d/%d loss %.4f acc %.4f", epoch+1, f.Opts.Epochs, lossSum/float64(seen), correct/float64(max(labelled, 1))))
				bar.Add(1)
			}
		}
		if bar != nil {
			bar.Finish()
		}
		if err := f.RecalibrateBN(train); err != nil {
			return h, err
		}
		rec := history.Record{Epoch: epoch, Values: map[string]float64{
			"loss": lossSum / float64(seen), "accuracy": correct / float64(max(labelled, 1))}}
		if val != nil {
			if f.eval == nil {
				var err error
				if f.eval, err = infer.NewRunnerWithLoss(f.Backend, f.Model, f.Ctx, f.loss); err != nil {
					return h, err
				}
			}
			ev, err := f.eval.Evaluate(val, bs)
			if err != nil {
				return h, err
			}
			rec.Values["val_loss"] = ev.Loss
			rec.Values["val_accuracy"] = ev.Confusion.Accuracy()
			if len(labelShape) > 0 {
				// Pixel accuracy hardly moves when a rare class is found
				// or lost; mean IoU does, so segmentation runs can keep
				// their best epoch by it.
				rec.Values["val_miou"] = ev.Confusion.MeanIoU()
			}
		}
		if f.Opts.ReduceLR != nil {
			rec.Values["lr"] = lr
		}
		h.Add(rec)
		f.logEpoch(rec, time.Since(start))
		if ck.improved(rec) && f.Save != nil {
			if err := f.Save(h); err != nil {
				return h, err
			}
		}
		if f.EpochEnd != nil {
			if err := f.EpochEnd(h); err != nil {
				return h, err
			}
		}
		if e := f.Opts.EarlyStopping; e != nil && !es.improved(rec) && es.wait >= e.Patience {
			f.printf("early stopping: %s has not improved for %d epochs\n", e.Monitor, es.wait)
			break
		}
		if r := f.Opts.ReduceLR; r != nil && !rl.improved(rec) && rl.wait >= r.Patience && lr > r.MinLR {
			lr = math.Max(lr*r.Factor, r.MinLR)
			if err := lrVar.SetValue(tensors.FromScalar(float32(lr))); err != nil {
				return h, err
			}
			rl.wait = 0
			f.printf("reduce_lr: %s has not improved for %d epochs, learning rate now %g\n", r.Monitor, r.Patience, lr)
		}
	}
	if f.Opts.Checkpoint == nil && f.Save != nil {
		return h, f.Save(h)
	}
	return h, nil
}

func monitorOf(c *config.Checkpoint) string {
	if c == nil {
		return ""
	}
	return c.Monitor
}

// monitor tracks the best value of one logged quantity.
type monitor struct {
	key      string
	minDelta float64
	best     float64
	wait     int
}

func newMonitor(key string, minDelta float64) *monitor {
	m := &monitor{key: key, minDelta: minDelta, best: math.Inf(1)}
	if m.maximize() {
		m.best = math.Inf(-1)
	}
	return m
}

func (m *monitor) maximize() bool { return m.key != "" && !strings.HasSuffix(m.key, "loss") }

// improved records an epoch and tells whether it beat the best so far.
// Without a key every epoch counts as an improvement.
func (m *monitor) improved(r history.Record) bool {
	if m.key == "" {
		return true
	}
	v := r.Values[m.key]
	better := v < m.best-m.minDelta
	if m.maximize() {
		better = v > m.best+m.minDelta
	}
	if better {
		m.best, m.wait = v, 0
		return true
	}
	m.wait++
	return false
}

func (f *Fitter) bar(steps int, desc string) *progressbar.ProgressBar {
	if f.Progress == nil {
		return nil
	}
	return progressbar.NewOptions(steps,
		progressbar.OptionSetWriter(f.Progress),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(f.Progress) }),
	)
}

func (f *Fitter) printf(format string, args ...any) {
	if f.Progress != nil {
		fmt.Fprintf(f.Progress, format, args...)
	}
}

func (f *Fitter) logEpoch(r history.Record, took time.Duration) {
	var b strings.Builder
	fmt.Fprintf(&b, "epoch %d/%d - %.1fs", r.Epoch+1, f.Opts.Epochs, took.Seconds())
	for _, k := range []string{"loss", "accuracy", "val_loss", "val_accuracy", "val_miou", "lr"} {
		if v, ok := r.Values[k]; ok {
			fmt.Fprintf(&b, " - %s: %.4f", k, v)
		}
	}
	f.printf("%s\n", b.String())
}

// Tensors wraps a batch as input and label tensors.
func Tensors(b *datasets.Batch, inShape, labelShape []int) (x, y *tensors.Tensor) {
	return tensors.FromFlatDataAndDimensions(b.X, append([]int{b.N}, inShape...)...),
		tensors.FromFlatDataAndDimensions(b.Y, append([]int{b.N}, labelShape...)...)
}

// labelledCount is the number of labels that count: accuracy, like the
// loss, leaves out the ignore index (negative labels).
func labelledCount(y []int32) int {
	n := 0
	for _, v := range y {
		if v >= 0 {
			n++
		}
	}
	return n
}

func scalar(t *tensors.Tensor) float64 {
	switch v := t.Value().(type) {
	case float32:
		return float64(v)
	case float64:
		return v
	}
	panic(fmt.Sprintf("train: want a float scalar, got %s", t.Shape()))
}

func finalize(ts []*tensors.Tensor) {
	for _, t := range ts {
		t.FinalizeAll()
	}
}
