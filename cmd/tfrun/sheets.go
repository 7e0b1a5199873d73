package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"

	"github.com/tfrun/tfrun/config"
	"github.com/tfrun/tfrun/infer"
	"github.com/tfrun/tfrun/mapping"
	"github.com/tfrun/tfrun/mapping/batch"
	"github.com/tfrun/tfrun/mapping/sheet"
	"github.com/tfrun/tfrun/modeldir"
	"github.com/tfrun/tfrun/raster"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// sheetFlags are predict's flags for map sheets; setting any of them
// (but --batch) selects map-sheet prediction.
func sheetFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "list", Usage: "map sheets to predict, one path per line (# comments; relative paths are relative to the list's folder)"},
		&cli.BoolFlag{Name: "sheets", Usage: "treat the inputs as map sheets (automatic for --list, the flags below, and georeferenced TIFFs; --sheets=false takes georeferenced TIFFs as plain images)"},
		&cli.IntFlag{Name: "window", Usage: "window size in pixels (default: the model's input size; other sizes need a fully convolutional model)"},
		&cli.IntFlag{Name: "overlap", Usage: "pixels shared by neighbouring windows (default: a quarter of the window for per-pixel models, 0 for classifiers, whose cells are then whole windows)"},
		&cli.StringFlag{Name: "blend", Value: string(mapping.Gaussian), Usage: "how overlapping windows combine: center (each window's own central part), average, or gaussian (weighted towards window centres)"},
		&cli.StringFlag{Name: "probs", Usage: "also write class probabilities, NAME_probs.tif: uint16 (×10000, nodata 65535) or float32 (nodata NaN)"},
		&cli.BoolFlag{Name: "polygons", Usage: "also write the classes as polygons, NAME.gpkg (layer classes, field class)"},
		&cli.IntFlag{Name: "sieve", Usage: "before polygons, merge regions smaller than this many pixels into their neighbours"},
		&cli.BoolFlag{Name: "quicklook", Value: true, Usage: "write NAME.png, the class map at most 1024 pixels across (--quicklook=false skips it)"},
		&cli.StringFlag{Name: "shard", Usage: "predict only part I of N of the sheet list, as I/N (0 ≤ I < N); sheet k belongs to part k mod N"},
		&cli.IntFlag{Name: "shards", Usage: "the N of a Kubernetes Indexed Job, whose pods get I from " + batch.IndexEnv + " (default: " + batch.CountEnv + ")"},
	}
}

// sheetMode tells whether predict is to map sheets rather than classify
// images or write PNG masks.
func sheetMode(c *cli.Context) bool {
	if c.IsSet("sheets") {
		return c.Bool("sheets")
	}
	for _, f := range []string{"list", "window", "overlap", "blend", "probs", "polygons", "sieve", "shard", "shards"} {
		if c.IsSet(f) {
			return true
		}
	}
	for _, in := range c.StringSlice("input") {
		if ext := strings.ToLower(filepath.Ext(in)); ext != ".tif" && ext != ".tiff" {
			continue
		}
		if info, err := raster.Stat(in); err == nil && info.Projection != "" {
			return true
		}
	}
	return false
}

// sheetList gathers the sheets of --input and --list, in that order.
func sheetList(c *cli.Context) ([]string, error) {
	sheets := slices.Clone(c.StringSlice("input"))
	if l := c.String("list"); l != "" {
		listed, err := batch.ReadList(l)
		if err != nil {
			return nil, err
		}
		sheets = append(sheets, listed...)
	}
	if len(sheets) == 0 {
		return nil, fmt.Errorf("no map sheets: give --input SHEET.tif or --list SHEETS.txt")
	}
	return sheets, nil
}

func shardOf(c *cli.Context) (batch.Shard, error) {
	if s := c.String("shard"); s != "" {
		return batch.ParseShard(s)
	}
	s, ok, err := batch.ShardFromEnv(c.Int("shards"))
	if !ok && c.IsSet("shards") {
		return s, fmt.Errorf("--shards %d without %s: give --shard I/N outside an Indexed Job", c.Int("shards"), batch.IndexEnv)
	}
	return s, err
}

// predictSheets maps every sheet of this shard into --out.
func predictSheets(c *cli.Context) error {
	out := c.String("out")
	if out == "" {
		return fmt.Errorf("map sheets need an output folder: give --out DIR")
	}
	sheets, err := sheetList(c)
	if err != nil {
		return err
	}
	shard, err := shardOf(c)
	if err != nil {
		return err
	}
	blend, err := mapping.ParseBlend(c.String("blend"))
	if err != nil {
		return fmt.Errorf("--blend: %v", err)
	}
	o := sheet.Outputs{Probs: c.String("probs"), Polygons: c.Bool("polygons"), Sieve: c.Int("sieve"), Quicklook: c.Bool("quicklook")}
	if o.Probs != "" && !slices.Contains(sheet.ProbTypes, o.Probs) {
		return fmt.Errorf("--probs %q: want uint16 or float32", o.Probs)
	}
	if o.Sieve < 0 || c.IsSet("sieve") && !o.Polygons {
		return fmt.Errorf("--sieve %d: a region size ≥ 0, for --polygons", o.Sieve)
	}
	p, info, done, err := sheetModel(c)
	if err != nil {
		return err
	}
	defer done()
	opt := mapping.Options{Blend: blend, Overlap: mapping.DefaultOverlap(info), Batch: c.Int("batch")}
	if c.IsSet("overlap") {
		opt.Overlap = c.Int("overlap")
	}
	if !c.IsSet("batch") {
		// Map windows are large; a classifier's are usually small.
		opt.Batch = 8
		if !info.IsMap() {
			opt.Batch = 64
		}
	}
	if w := min(info.Input[0], info.Input[1]); opt.Overlap < 0 || opt.Overlap >= w {
		return fmt.Errorf("--overlap %d: want 0 ≤ overlap < the window's %d pixels", opt.Overlap, w)
	}
	if _, set := os.LookupEnv("GOGC"); !set {
		// The pipeline's live memory is a few bands and strips the width of
		// the sheet; Go's default lets the heap grow to twice that.
		debug.SetGCPercent(50)
	}
	ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
	defer stop()
	job := &batch.Job{Sheets: sheets, Shard: shard, Dir: out, Predictor: p, Model: info, Options: opt, Outputs: o, Log: os.Stdout}
	if term.IsTerminal(int(os.Stderr.Fd())) {
		job.Progress = os.Stderr
	}
	sum, err := job.Run(ctx)
	if err != nil {
		return err
	}
	summary := batch.SummaryPath(out, shard)
	fmt.Printf("%d sheets: %d done, %d skipped (already complete), %d failed; summary in %s\n",
		len(sum.Sheets), sum.Done, sum.Skipped, sum.Failed, summary)
	if sum.Failed > 0 {
		for _, r := range sum.Sheets {
			if r.Status == batch.Failed {
				return fmt.Errorf("%d of %d sheets failed, the first: %s; see %s", sum.Failed, len(sum.Sheets), r.Error, summary)
			}
		}
	}
	return nil
}

// sheetModel loads --model as a predictor of --window windows, with what
// the sliding window needs to know of it; done releases the engine.
func sheetModel(c *cli.Context) (mapping.Predictor, mapping.ModelInfo, func(), error) {
	win := c.Int("window")
	if c.IsSet("window") && win < 1 {
		return nil, mapping.ModelInfo{}, nil, fmt.Errorf("--window %d: want a size in pixels ≥ 1", win)
	}
	if usesTensorFlow(c, config.Engine{}) {
		return tfSheetModel(c, win)
	}
	ld, err := loadModel(c, c.String("model"))
	if err != nil {
		return nil, mapping.ModelInfo{}, nil, err
	}
	if c.IsSet("window") {
		if err := resizeWindow(c.String("model"), ld, win); err != nil {
			return nil, mapping.ModelInfo{}, nil, err
		}
	}
	info := mapping.InfoOf(ld)
	if c.IsSet("scale") {
		info.Scale = ld.Meta.Preprocess.Scale
	}
	backend, err := newBackend(c, config.Engine{})
	if err != nil {
		return nil, mapping.ModelInfo{}, nil, err
	}
	r, err := infer.NewRunner(backend, ld.Model, ld.Ctx, "")
	if err != nil {
		backend.Finalize()
		return nil, mapping.ModelInfo{}, nil, err
	}
	return r, info, backend.Finalize, nil
}

// resizeWindow rebuilds a model for win×win windows with the same
// weights: a fully convolutional model takes any size its poolings divide.
func resizeWindow(path string, ld *modeldir.Loaded, win int) error {
	in := ld.Model.Input.Shape
	if len(in) != 3 || in[0] == win && in[1] == win {
		return nil
	}
	spec := ld.Meta.Model
	spec.Input = []int{win, win, in[2]}
	m, err := spec.Build()
	if err == nil && len(m.Output.Shape) != 3 {
		err = fmt.Errorf("it is a classifier (output %v)", m.Output.Shape)
	}
	if err != nil {
		return fmt.Errorf("%s: --window %d: the model, made for %s windows, cannot take %d×%d ones: %v", path, win, dimsString(in[:2]), win, win, err)
	}
	ld.Model = m
	return nil
}

// tfSheetModel serves a SavedModel on libtensorflow; its signature fixes
// the window, and its outputs are taken as probabilities.
func tfSheetModel(c *cli.Context, win int) (mapping.Predictor, mapping.ModelInfo, func(), error) {
	pre, err := tfPreprocess(c)
	if err != nil {
		return nil, mapping.ModelInfo{}, nil, err
	}
	m, serve, _, err := openTF(c.String("model"), c.String("signature"))
	if err != nil {
		return nil, mapping.ModelInfo{}, nil, err
	}
	info := mapping.ModelInfo{Input: serve.Input.Shape, Output: serve.Output.Shape, Activation: "softmax", Scale: pre.Scale}
	if binaryOutput(serve.Output.Shape) {
		info.Activation = "sigmoid"
	}
	if in := info.Input; c.IsSet("window") && (len(in) != 3 || in[0] != win || in[1] != win) {
		m.Close()
		return nil, mapping.ModelInfo{}, nil, fmt.Errorf("%s: --window %d: the SavedModel's signature takes %v", c.String("model"), win, in)
	}
	return m, info, func() { m.Close() }, nil
}
