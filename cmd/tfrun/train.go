package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/config"
	"github.com/tfrun/tfrun/datasets"
	"github.com/tfrun/tfrun/history"
	"github.com/tfrun/tfrun/infer"
	"github.com/tfrun/tfrun/modeldir"
	"github.com/tfrun/tfrun/train"
	"github.com/urfave/cli/v2"
)

func trainCommand() *cli.Command {
	return &cli.Command{
		Name:      "train",
		Usage:     "train a model from a YAML config",
		UsageText: "tfrun train --config configs/mnist_mlp.yaml --out runs/mlp [--set train.epochs=5 ...]",
		Description: "Writes into --out: the model (model.yaml, weights.npz; the best epoch when train.checkpoint is set), " +
			"history.csv (Keras CSVLogger columns), curves.png (loss and accuracy per epoch) and, when data.test is set, " +
			"test.json with the saved model's accuracy on it.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "run config (see configs/)", Required: true},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "output folder for the model, log and plot", Required: true},
			&cli.StringSliceFlag{Name: "set", Usage: "override a config key, e.g. --set train.learning_rate=0.01 (repeatable)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress bar or per-epoch lines"},
		}, engineFlags()...),
		Action: runTrain,
	}
}

func runTrain(c *cli.Context) error {
	cfg, err := config.Load(c.String("config"), c.StringSlice("set"))
	if err != nil {
		return err
	}
	m, err := cfg.Model.Build()
	if err != nil {
		return fmt.Errorf("config %s: %v", c.String("config"), err)
	}
	trainSet, valSet, err := loadTrainData(cfg)
	if err != nil {
		return err
	}
	for _, s := range []*datasets.Arrays{trainSet, valSet} {
		if s != nil && !slices.Equal(s.Shape, m.Input.Shape) {
			return fmt.Errorf("data %s gives examples of shape %v, model %s takes %v", cfg.Data.Train, s.Shape, m.Name, m.Input.Shape)
		}
	}
	backend, err := newBackend(c, cfg.Engine)
	if err != nil {
		return err
	}
	defer backend.Finalize()

	out := c.String("out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var progress io.Writer = os.Stderr
	if c.Bool("quiet") {
		progress = nil
	}
	ctx := context.New()
	m.Init(ctx, cfg.Train.Seed)
	log := history.NewCSVLogger(filepath.Join(out, "history.csv"))
	f := &train.Fitter{
		Backend: backend, Model: m, Ctx: ctx, Opts: cfg.Train, Progress: progress,
		Save: func(*history.History) error { return modeldir.Save(out, m, ctx, cfg.Data.Preprocess) },
		EpochEnd: func(h *history.History) error {
			if err := log.Write(h); err != nil {
				return err
			}
			return history.PlotCurves(filepath.Join(out, "curves.png"), h, m.Name)
		},
	}
	if progress != nil {
		m.Summary(progress)
		fmt.Fprintf(progress, "engine %s; %d training examples", backend.Name(), trainSet.N)
		if valSet != nil {
			fmt.Fprintf(progress, ", %d validation", valSet.N)
		}
		fmt.Fprintln(progress)
	}
	start := time.Now()
	var val datasets.Source
	if valSet != nil {
		val = valSet
	}
	if _, err := f.Fit(trainSet, val); err != nil {
		return err
	}
	if progress != nil {
		fmt.Fprintf(progress, "trained in %s; model saved in %s\n", time.Since(start).Round(time.Second), out)
	}
	if cfg.Data.Test == "" {
		return nil
	}
	// The test score is the saved model's, read back from disk, so it is
	// what `tfrun eval` will report.
	ev, err := evalSaved(c, out, cfg.Data.Test, cfg.Train.BatchSize)
	if err != nil {
		return err
	}
	if progress != nil {
		fmt.Fprintf(progress, "test (%s): accuracy %.4f, loss %.4f on %d examples\n", cfg.Data.Test, ev.Confusion.Accuracy(), ev.Loss, ev.Confusion.N())
	}
	return writeJSONAtomic(filepath.Join(out, "test.json"), evalReport(ev))
}

func loadTrainData(cfg *config.Config) (trainSet, valSet *datasets.Arrays, err error) {
	d := cfg.Data
	if trainSet, err = datasets.Load(d.Train, d.Preprocess); err != nil {
		return nil, nil, err
	}
	if d.Limit > 0 && d.Limit < trainSet.N {
		trainSet = trainSet.Range(0, d.Limit)
	}
	switch {
	case d.Validation != "":
		valSet, err = datasets.Load(d.Validation, d.Preprocess)
	case d.ValidationSplit > 0:
		trainSet, valSet, err = trainSet.SplitLast(d.ValidationSplit)
	}
	return trainSet, valSet, err
}

func evalSaved(c *cli.Context, dir, source string, batch int) (*infer.Eval, error) {
	ld, err := modeldir.Load(dir)
	if err != nil {
		return nil, err
	}
	data, err := datasets.Load(source, ld.Meta.Preprocess)
	if err != nil {
		return nil, err
	}
	backend, err := newBackend(c, config.Engine{})
	if err != nil {
		return nil, err
	}
	defer backend.Finalize()
	r, err := infer.NewRunner(backend, ld.Model, ld.Ctx, "")
	if err != nil {
		return nil, err
	}
	if !slices.Equal(data.Shape, ld.Model.Input.Shape) {
		return nil, fmt.Errorf("data %s gives examples of shape %v, model %s takes %v", source, data.Shape, dir, ld.Model.Input.Shape)
	}
	return r.Evaluate(data, batch)
}
