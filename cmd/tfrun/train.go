package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/config"
	"github.com/tfrun/tfrun/datasets"
	"github.com/tfrun/tfrun/history"
	"github.com/tfrun/tfrun/infer"
	"github.com/tfrun/tfrun/layers"
	"github.com/tfrun/tfrun/modeldir"
	"github.com/tfrun/tfrun/models"
	"github.com/tfrun/tfrun/pipeline"
	"github.com/tfrun/tfrun/scenes"
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
			// Checked in runTrain: urfave/cli would demand required flags of
			// `train` before it reaches the deeplab subcommand.
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "run config (see configs/); required"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "output folder for the model, log and plot; required"},
			&cli.StringSliceFlag{Name: "set", Usage: "override a config key, e.g. --set train.learning_rate=0.01 (repeatable)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress bar or per-epoch lines"},
			&cli.StringFlag{Name: "init", Usage: "fine-tune this model (a tfrun folder, a Keras SavedModel or .h5) instead of building the config's model:; " +
				"with --engine tensorflow, a SavedModel exported by scripts/export_trainable.py, trained and written back as a SavedModel"},
			signatureFlag(),
		}, engineFlags()...),
		Action:      runTrain,
		Subcommands: []*cli.Command{trainDeepLabCommand()},
	}
}

func runTrain(c *cli.Context) error {
	if !c.IsSet("config") || !c.IsSet("out") {
		return fmt.Errorf("train: give --config and --out (or use `tfrun train deeplab`)")
	}
	cfg, err := config.Load(c.String("config"), c.StringSlice("set"))
	if err != nil {
		return err
	}
	if usesTensorFlow(c, cfg.Engine) {
		return trainTF(c, cfg)
	}
	var progress io.Writer = os.Stderr
	if c.Bool("quiet") {
		progress = nil
	}
	_, err = trainConfig(c, cfg, c.String("out"), progress)
	return err
}

// trainedRun is a finished training run: its history, the wall time of
// Fit, and the saved model's score on the config's test data (nil without
// one).
type trainedRun struct {
	model   *models.Model
	history *history.History
	fitTime time.Duration
	test    *infer.Eval
}

// trainConfig trains cfg's model on the go engines into out, as `tfrun
// train` does; progress nil is quiet.
func trainConfig(c *cli.Context, cfg *config.Config, out string, progress io.Writer) (*trainedRun, error) {
	m, ctx, err := startingModel(c, cfg)
	if err != nil {
		return nil, err
	}
	data, err := loadData(cfg)
	if err != nil {
		return nil, err
	}
	defer data.close()
	data.fit(m.Input.Shape)
	if err := data.check(m.Input.Shape, m.Output.Shape); err != nil {
		return nil, fmt.Errorf("%v, model %s", err, m.Name)
	}
	backend, err := newBackend(c, cfg.Engine)
	if err != nil {
		return nil, err
	}
	defer backend.Finalize()

	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	log := history.NewCSVLogger(filepath.Join(out, "history.csv"))
	f := &train.Fitter{
		Backend: backend, Model: m, Ctx: ctx, Opts: cfg.Train, Progress: progress,
		Save: func(*history.History) error { return modeldir.Save(out, m, ctx, data.inputs(cfg)) },
		EpochEnd: func(h *history.History) error {
			if err := log.Write(h); err != nil {
				return err
			}
			return history.PlotCurves(filepath.Join(out, "curves.png"), h, m.Name)
		},
	}
	if progress != nil {
		m.Summary(progress)
		fmt.Fprintf(progress, "engine %s; %d training examples", backend.Name(), data.train.Len())
		if data.val != nil {
			fmt.Fprintf(progress, ", %d validation", data.val.Len())
		}
		fmt.Fprintln(progress)
		if data.scene != nil {
			fmt.Fprintln(progress, sceneSummary(data.scene))
		}
	}
	start := time.Now()
	h, err := f.Fit(data.train, data.val)
	if err != nil {
		return nil, err
	}
	run := &trainedRun{model: m, history: h, fitTime: time.Since(start)}
	if progress != nil {
		fmt.Fprintf(progress, "trained in %s; model saved in %s\n", run.fitTime.Round(time.Second), out)
	}
	if data.test == nil {
		return run, nil
	}
	// The test score is the saved model's, read back from disk, so it is
	// what `tfrun eval` will report.
	ld, err := modeldir.Load(out)
	if err != nil {
		return nil, err
	}
	if run.test, err = evaluate(c, ld, data.test, cfg.Train.BatchSize); err != nil {
		return nil, err
	}
	rep := evalReport(run.test, ld)
	if progress != nil {
		fmt.Fprintf(progress, "test (%s): %s\n", data.testName, rep.summary())
	}
	return run, writeJSONAtomic(filepath.Join(out, "test.json"), rep)
}

// startingModel is the config's model with fresh weights, or the --init
// model with its own.
func startingModel(c *cli.Context, cfg *config.Config) (*models.Model, *context.Context, error) {
	if !c.IsSet("init") {
		m, err := cfg.Model.Build()
		if err != nil {
			return nil, nil, fmt.Errorf("config %s: %v", c.String("config"), err)
		}
		ctx := context.New()
		m.Init(ctx, cfg.Train.Seed)
		return m, ctx, nil
	}
	if s := cfg.Model; s.Name != "" || s.Zoo != "" || len(s.Input) > 0 || len(s.Layers) > 0 {
		return nil, nil, fmt.Errorf("config %s: give its model: section or --init, not both", c.String("config"))
	}
	ld, err := modeldir.Load(c.String("init"))
	if err != nil {
		return nil, nil, err
	}
	return ld.Model, ld.Ctx, nil
}

// modelInputs is what the saved model records of the data's preparation.
func modelInputs(cfg *config.Config) modeldir.Inputs {
	in := modeldir.Inputs{Preprocess: cfg.Data.Preprocess}
	if f := cfg.Data.Folders; f != nil {
		in.Decode = &f.Decode
	}
	return in
}

// runData are the sets of one run; val and test may be nil.
type runData struct {
	train, val, test datasets.Source
	testName         string
	// scene is the open scene of data.scene, whose fitted preprocessing
	// the saved model records.
	scene *scenes.Scene
}

// inputs is what the saved model records of the data's preparation,
// including what was fitted on the data.
func (rd *runData) inputs(cfg *config.Config) modeldir.Inputs {
	in := modelInputs(cfg)
	if rd.scene != nil {
		in.Raster = rd.scene.Prep
	}
	return in
}

// close releases the scene's files and temporary labels.
func (rd *runData) close() {
	if rd.scene != nil {
		rd.scene.Close()
	}
}

// loadScene opens data.scene: chips of the region, read on the fly.
func loadScene(cfg scenes.Config) (*runData, error) {
	s, err := scenes.Open(cfg)
	if err != nil {
		return nil, err
	}
	train, val, err := s.Sources()
	if err != nil {
		s.Close()
		return nil, err
	}
	return &runData{train: train, val: val, scene: s}, nil
}

// sceneSummary says what training will see of the scene.
func sceneSummary(s *scenes.Scene) string {
	where := "read from the files"
	if s.Cached() {
		where = "cached in memory"
	}
	return fmt.Sprintf("scene %s, %s: %d training chips (with copies), %d validation, %d dropped across the split, %s; %s",
		s.Image, s.Tiling.Region, len(s.Train), len(s.Validation), s.Dropped, where, sceneClasses(s))
}

// sceneClasses lists the classes with their labelled pixels in the region.
func sceneClasses(s *scenes.Scene) string {
	var classes []string
	for k, name := range s.Prep.Labels.Names {
		classes = append(classes, fmt.Sprintf("%d %s (value %d): %d px", k, name, s.Prep.Labels.Values[k], s.Counts[k]))
	}
	return "classes: " + strings.Join(classes, ", ")
}

func loadData(cfg *config.Config) (*runData, error) {
	d := cfg.Data
	if d.Scene != nil {
		return loadScene(*d.Scene)
	}
	if f := d.Folders; f != nil {
		sets, err := pipeline.OpenFolders(*f)
		if err != nil {
			return nil, err
		}
		if sets.Train == nil {
			return nil, fmt.Errorf("data.folders: the split leaves no training pairs")
		}
		rd := &runData{train: sets.Train, val: sets.Validation, test: sets.Test, testName: "the folders' test split"}
		if rd.val == nil {
			// The course validates on its test split.
			rd.val = sets.Test
		}
		return rd, nil
	}
	trainSet, err := datasets.Load(d.Train, d.Preprocess)
	if err != nil {
		return nil, err
	}
	if d.Limit > 0 && d.Limit < trainSet.N {
		trainSet = trainSet.Range(0, d.Limit)
	}
	rd := &runData{train: trainSet, testName: d.Test}
	switch {
	case d.Validation != "":
		if rd.val, err = datasets.Load(d.Validation, d.Preprocess); err != nil {
			return nil, err
		}
	case d.ValidationSplit > 0:
		tr, val, err := trainSet.SplitLast(d.ValidationSplit)
		if err != nil {
			return nil, err
		}
		rd.train, rd.val = tr, val
	}
	if d.Test != "" {
		if rd.test, err = datasets.Load(d.Test, d.Preprocess); err != nil {
			return nil, err
		}
	}
	return rd, nil
}

// fit lets in-memory sets feed a model that takes flat examples.
func (rd *runData) fit(in []int) {
	rd.train, rd.val, rd.test = fitInput(rd.train, in), fitInput(rd.val, in), fitInput(rd.test, in)
}

// check compares every set's shapes with the model's: a classifier's
// labels are one per example, a segmentation model's one per output pixel.
func (rd *runData) check(in, out []int) error {
	for _, s := range []datasets.Source{rd.train, rd.val, rd.test} {
		if s == nil {
			continue
		}
		if err := checkSource(s, in, out); err != nil {
			return err
		}
	}
	return nil
}

func checkSource(s datasets.Source, in, out []int) error {
	if !slices.Equal(s.InputShape(), in) {
		return fmt.Errorf("the data gives examples of shape %v, the model takes %v", s.InputShape(), in)
	}
	if want := out[:len(out)-1]; !slices.Equal(s.LabelShape(), want) {
		return fmt.Errorf("the data gives labels of shape %v, the model's output %v needs %v", s.LabelShape(), out, want)
	}
	return nil
}

// evalSaved evaluates a saved model on a data source string.
func evalSaved(c *cli.Context, dir, source string, batch int) (*modeldir.Loaded, *infer.Eval, error) {
	ld, err := loadModel(c, dir)
	if err != nil {
		return nil, nil, err
	}
	if s := datasets.ConventionalScale(source); s != 0 && !c.IsSet("scale") && unscaledImport(ld) {
		fmt.Fprintf(os.Stderr, "tfrun: note: %s records no input scaling; dividing %s by %g as is conventional for it (--scale overrides)\n", dir, source, s)
		ld.Meta.Preprocess.Scale = s
	}
	data, err := datasets.Load(source, ld.Meta.Preprocess)
	if err != nil {
		return nil, nil, err
	}
	ev, err := evaluate(c, ld, fitInput(data, ld.Model.Input.Shape), batch)
	return ld, ev, err
}

// unscaledImport tells whether ld is an imported Keras model with no word
// on how its inputs were scaled: Keras files do not record preprocessing,
// and a model with a Rescaling layer scales for itself.
func unscaledImport(ld *modeldir.Loaded) bool {
	if !strings.HasPrefix(ld.Meta.Format, "keras") || ld.Meta.Preprocess.Scale != 0 {
		return false
	}
	for _, n := range ld.Model.Nodes {
		if _, ok := n.Layer.(*layers.Rescaling); ok {
			return false
		}
	}
	return true
}

func evaluate(c *cli.Context, ld *modeldir.Loaded, data datasets.Source, batch int) (*infer.Eval, error) {
	backend, err := newBackend(c, config.Engine{})
	if err != nil {
		return nil, err
	}
	defer backend.Finalize()
	return evaluateOn(backend, ld, data, batch)
}

// evaluateOn runs on a given backend; a model's variables stay bound to
// the first backend that used them.
func evaluateOn(backend backends.Backend, ld *modeldir.Loaded, data datasets.Source, batch int) (*infer.Eval, error) {
	if err := checkSource(data, ld.Model.Input.Shape, ld.Model.Output.Shape); err != nil {
		return nil, err
	}
	r, err := infer.NewRunner(backend, ld.Model, ld.Ctx, "")
	if err != nil {
		return nil, err
	}
	return r.Evaluate(data, batch)
}
