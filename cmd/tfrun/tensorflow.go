package main

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tfrun/tfrun/config"
	"github.com/tfrun/tfrun/datasets"
	"github.com/tfrun/tfrun/history"
	"github.com/tfrun/tfrun/infer"
	"github.com/tfrun/tfrun/metrics"
	"github.com/tfrun/tfrun/tfgraph/tf"
	"github.com/urfave/cli/v2"
)

// tensorFlowEngine names the engine that runs SavedModels on libtensorflow
// instead of rebuilding them in GoMLX.
const tensorFlowEngine = "tensorflow"

// usesTensorFlow tells whether the flags, or else the config, pick the
// TensorFlow runtime.
func usesTensorFlow(c *cli.Context, fromConfig config.Engine) bool {
	name := fromConfig.Name
	if c.IsSet("engine") {
		name = c.String("engine")
	}
	return strings.EqualFold(strings.TrimSpace(name), tensorFlowEngine)
}

func signatureFlag() *cli.StringFlag {
	return &cli.StringFlag{Name: "signature", Usage: "SavedModel signature the tensorflow engine serves (default serving_default)"}
}

// tfModel is a SavedModel loaded into the TensorFlow runtime
// (tfgraph/tf.Model, in a binary built with -tags tensorflow).
type tfModel interface {
	predictor
	TrainStep(x []float32, y []int32, n int) (map[string]float64, error)
	Export(dir string) error
	Close() error
}

// tfPreprocess is what --scale asks of inputs; a SavedModel records none.
func tfPreprocess(c *cli.Context) (datasets.Preprocess, error) {
	if !c.IsSet("scale") {
		return datasets.Preprocess{}, nil
	}
	if s := c.Float64("scale"); s > 0 {
		return datasets.Preprocess{Scale: s}, nil
	}
	return datasets.Preprocess{}, fmt.Errorf("--scale must be > 0, got %g", c.Float64("scale"))
}

// binaryOutput tells whether a model's output is one probability per
// example or pixel (a sigmoid), which scores two classes.
func binaryOutput(shape []int) bool { return shape[len(shape)-1] == 1 }

func predictTF(c *cli.Context) error {
	pre, err := tfPreprocess(c)
	if err != nil {
		return err
	}
	m, serve, _, err := openTF(c.String("model"), c.String("signature"))
	if err != nil {
		return err
	}
	defer m.Close()
	return predictExamples(c, m, serve.Input.Shape, serve.Output.Shape, pre, binaryOutput(serve.Output.Shape))
}

func evalTF(c *cli.Context) (*infer.Eval, error) {
	pre, err := tfPreprocess(c)
	if err != nil {
		return nil, err
	}
	m, serve, _, err := openTF(c.String("model"), c.String("signature"))
	if err != nil {
		return nil, err
	}
	defer m.Close()
	data, err := datasets.Load(c.String("data"), pre)
	if err != nil {
		return nil, err
	}
	src := fitInput(data, serve.Input.Shape)
	if err := checkSource(src, serve.Input.Shape, serve.Output.Shape); err != nil {
		return nil, err
	}
	return evalProbs(m, src, c.Int("batch"), serve.Output.Shape)
}

// evalProbs evaluates a model that outputs probabilities, as a serving
// signature does: the loss is Keras' cross-entropy on probabilities,
// clipped to [1e-7, 1-1e-7] as Keras clips them.
func evalProbs(r predictor, data datasets.Source, batch int, outShape []int) (*infer.Eval, error) {
	k := outShape[len(outShape)-1]
	binary := binaryOutput(outShape)
	classes := k
	if binary {
		classes = 2
	}
	ev := &infer.Eval{Confusion: metrics.NewConfusion(classes)}
	labelled := 0
	for b, err := range data.Batches(0, nil, batch) {
		if err != nil {
			return nil, err
		}
		p, err := r.Predict(b.X, b.N)
		if err != nil {
			return nil, err
		}
		if len(p) != len(b.Y)*k {
			return nil, fmt.Errorf("evaluate: %d outputs for %d labels of %d classes", len(p), len(b.Y), k)
		}
		pred := make([]int32, len(b.Y))
		for i, y := range b.Y {
			row := p[i*k : (i+1)*k]
			pred[i], _ = classOf(row, binary)
			if y < 0 {
				continue
			}
			ev.Loss += crossEntropy(row, y, binary)
			labelled++
		}
		if err := ev.Confusion.Add(b.Y, pred); err != nil {
			return nil, err
		}
	}
	if labelled > 0 {
		ev.Loss /= float64(labelled)
	}
	return ev, nil
}

func crossEntropy(row []float32, y int32, binary bool) float64 {
	const eps = 1e-7
	clip := func(p float32) float64 { return min(max(float64(p), eps), 1-eps) }
	if binary {
		p := clip(row[0])
		if y == 1 {
			return -math.Log(p)
		}
		return -math.Log(1 - p)
	}
	return -math.Log(clip(row[y]))
}

// trainTF drives a SavedModel's train_step over the config's data, then
// exports the trained model as a SavedModel into --out. The optimizer and
// learning rate are the ones the model was exported with.
func trainTF(c *cli.Context, cfg *config.Config) error {
	if !c.IsSet("init") {
		return fmt.Errorf("the tensorflow engine trains a SavedModel with a %s signature: give it with --init (scripts/export_trainable.py exports one)", tf.TrainSignature)
	}
	if s := cfg.Model; s.Name != "" || s.Zoo != "" || len(s.Input) > 0 || len(s.Layers) > 0 {
		return fmt.Errorf("config %s: give its model: section or --init, not both", c.String("config"))
	}
	t := cfg.Train
	if t.Checkpoint != nil || t.EarlyStopping != nil || t.ReduceLR != nil {
		return fmt.Errorf("config %s: train.checkpoint, early_stopping and reduce_lr need the go or xla engine", c.String("config"))
	}
	m, serve, train, err := openTF(c.String("init"), c.String("signature"))
	if err != nil {
		return err
	}
	defer m.Close()
	if train == nil {
		return fmt.Errorf("%s exports no %s signature (export it with scripts/export_trainable.py)", c.String("init"), tf.TrainSignature)
	}
	data, err := loadData(cfg)
	if err != nil {
		return err
	}
	data.fit(train.X.Shape)
	if tr := data.train; !slices.Equal(tr.InputShape(), train.X.Shape) || !slices.Equal(tr.LabelShape(), train.Y.Shape) {
		return fmt.Errorf("the data gives examples %v with labels %v, the train step of %s takes %v and %v",
			tr.InputShape(), tr.LabelShape(), c.String("init"), train.X.Shape, train.Y.Shape)
	}
	for _, s := range []datasets.Source{data.val, data.test} {
		if s == nil {
			continue
		}
		if err := checkSource(s, serve.Input.Shape, serve.Output.Shape); err != nil {
			return fmt.Errorf("%v, serving signature of %s", err, c.String("init"))
		}
	}
	out := c.String("out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var progress io.Writer = os.Stderr
	if c.Bool("quiet") {
		progress = io.Discard
	}
	fmt.Fprintf(progress, "engine tensorflow; %s; %d training examples; the optimizer is the SavedModel's own\n", c.String("init"), data.train.Len())
	log := history.NewCSVLogger(filepath.Join(out, "history.csv"))
	h := &history.History{}
	order := make([]int, data.train.Len())
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(t.Seed, 0x7466))
	for epoch := range t.Epochs {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		sums, n := map[string]float64{}, 0
		for b, err := range data.train.Batches(epoch, order, t.BatchSize) {
			if err != nil {
				return err
			}
			logs, err := m.TrainStep(b.X, b.Y, b.N)
			if err != nil {
				return err
			}
			for k, v := range logs {
				sums[k] += v * float64(b.N)
			}
			n += b.N
		}
		rec := map[string]float64{}
		for k, v := range sums {
			rec[k] = v / float64(n)
		}
		if data.val != nil {
			ev, err := evalProbs(m, data.val, t.BatchSize, serve.Output.Shape)
			if err != nil {
				return err
			}
			rec["val_loss"], rec["val_accuracy"] = ev.Loss, ev.Confusion.Accuracy()
		}
		h.Add(history.Record{Epoch: epoch, Values: rec})
		if err := log.Write(h); err != nil {
			return err
		}
		if err := history.PlotCurves(filepath.Join(out, "curves.png"), h, filepath.Base(c.String("init"))); err != nil {
			return err
		}
		fmt.Fprintf(progress, "epoch %d/%d: %v\n", epoch+1, t.Epochs, rec)
	}
	if err := m.Export(out); err != nil {
		return err
	}
	fmt.Fprintf(progress, "trained SavedModel written to %s\n", out)
	if data.test == nil {
		return nil
	}
	ev, err := evalProbs(m, data.test, t.BatchSize, serve.Output.Shape)
	if err != nil {
		return err
	}
	rep := classReportOf(ev)
	fmt.Fprintf(progress, "test (%s): %s\n", data.testName, rep.summary())
	return writeJSONAtomic(filepath.Join(out, "test.json"), rep)
}
