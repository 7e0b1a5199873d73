package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tfrun/tfrun/config"
	"github.com/tfrun/tfrun/internal/atomicfile"
	"github.com/tfrun/tfrun/metrics"
	"github.com/tfrun/tfrun/modeldir"
	rpt "github.com/tfrun/tfrun/report"
	"github.com/urfave/cli/v2"
)

func ablateCommand() *cli.Command {
	return &cli.Command{
		Name:  "ablate",
		Usage: "train variants of one config with the same data, seed and budget, and compare them in one table",
		UsageText: "tfrun ablate --config BASE.yaml --out DIR [--backbones resnet50,mobilenetv2,xception] [--decoders v3,v3plus] " +
			"[--losses ce,wce,focal,dice] [--vary KEY=V1,V2 ...] [--set KEY=V ...]",
		Description: "Every combination of the listed values is one run of `tfrun train` on the base config: --backbones sets model.options.backbone, " +
			"--decoders model.options.decoder, --losses train.loss (ce is crossentropy), --vary any other key. " +
			"All runs share the config's data, seed, epochs and batch size. Each is scored on the config's test data, " +
			"or, with --raster/--reference/--columns/--rows, on a map of a scene as `eval --raster` scores it; for a data.scene config the scene's " +
			"image and label raster are the defaults, so --columns 450:900 scores the east half of a scene trained on the west. " +
			"Writes DIR/VARIANT/ (the model, history.csv, test.json, and assessment/ with report.csv, report.md, report.json and confusion.png) per run, and DIR/ablation.csv and ablation.md, " +
			"rewritten after every run so that finished rows survive an interrupted ablation; prints the table: " +
			"params, seconds per epoch (training plus validation), OA, kappa, mIoU, and per-class F1 when --losses is given.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "base run config", Required: true},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "output folder: one subfolder per variant, ablation.csv and ablation.md", Required: true},
			&cli.StringFlag{Name: "backbones", Usage: "comma-separated model.options.backbone values"},
			&cli.StringFlag{Name: "decoders", Usage: "comma-separated model.options.decoder values"},
			&cli.StringFlag{Name: "losses", Usage: "comma-separated train.loss values (ce = crossentropy); adds per-class F1 to the table"},
			&cli.StringSliceFlag{Name: "vary", Usage: "KEY=V1,V2: also vary any config key, e.g. model.options.base=16,32 (repeatable)"},
			&cli.StringSliceFlag{Name: "set", Usage: "override a config key in every run, e.g. --set train.epochs=5 (repeatable)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress bars or per-epoch lines"},
		}, append(rasterFlags(), engineFlags()...)...),
		Action: runAblate,
	}
}

// axis is one varied config key and its values.
type axis struct {
	label, key string
	values     []string
}

// variant is one combination: its name (also its folder) and its overrides.
type variant struct {
	name   string
	values []string // one per axis
	sets   []string
}

func ablationAxes(c *cli.Context) ([]axis, error) {
	var axes []axis
	for _, f := range []struct{ flag, label, key string }{
		{"backbones", "backbone", "model.options.backbone"},
		{"decoders", "decoder", "model.options.decoder"},
		{"losses", "loss", "train.loss"},
	} {
		if !c.IsSet(f.flag) {
			continue
		}
		vals := splitList(c.String(f.flag))
		if len(vals) == 0 {
			return nil, fmt.Errorf("--%s is empty", f.flag)
		}
		axes = append(axes, axis{label: f.label, key: f.key, values: vals})
	}
	for _, v := range c.StringSlice("vary") {
		key, list, ok := strings.Cut(v, "=")
		vals := splitList(list)
		if !ok || key == "" || len(vals) == 0 {
			return nil, fmt.Errorf("--vary %q: want KEY=V1,V2", v)
		}
		axes = append(axes, axis{label: key, key: key, values: vals})
	}
	if len(axes) == 0 {
		return nil, fmt.Errorf("nothing to compare: give --backbones, --decoders, --losses or --vary")
	}
	return axes, nil
}

// splitList splits on commas outside brackets, so that a value may be a
// YAML list such as [64,64,3].
func splitList(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s + "," {
		switch {
		case r == '[' || r == '{':
			depth++
		case r == ']' || r == '}':
			depth--
		case r == ',' && depth == 0:
			if v := strings.TrimSpace(s[start:i]); v != "" {
				out = append(out, v)
			}
			start = i + 1
		}
	}
	return out
}

// lossAlias maps the short names of the course's exercises to train.loss.
func lossAlias(v string) string {
	if v == "ce" {
		return "crossentropy"
	}
	return v
}

// variants is the cartesian product of the axes, first axis slowest.
func variants(axes []axis) []variant {
	out := []variant{{}}
	for _, a := range axes {
		var next []variant
		for _, v := range out {
			for _, val := range a.values {
				set := val
				if a.key == "train.loss" {
					set = lossAlias(val)
				}
				next = append(next, variant{
					values: append(append([]string(nil), v.values...), val),
					sets:   append(append([]string(nil), v.sets...), a.key+"="+set),
				})
			}
		}
		out = next
	}
	for i := range out {
		out[i].name = folderName(strings.Join(out[i].values, "_"))
	}
	return out
}

// folderName keeps a variant's folder name portable: values such as
// [64,64,3] or "bce+dice" become plain characters.
func folderName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		case r == '+':
			return 'p'
		}
		return '-'
	}, s)
}

// ablationRow is one finished variant.
type ablationRow struct {
	variant
	params      int64
	epochs      int
	secPerEpoch float64
	test        *metrics.Assessment
}

func runAblate(c *cli.Context) error {
	base := c.String("config")
	axes, err := ablationAxes(c)
	if err != nil {
		return err
	}
	vs := variants(axes)
	// Every variant's config is checked before the first one trains, so a
	// typo in the last value does not surface hours in.
	cfgs := make([]*config.Config, len(vs))
	for i, v := range vs {
		cfg, err := config.Load(base, append(append([]string(nil), c.StringSlice("set")...), v.sets...))
		if err != nil {
			return fmt.Errorf("%v (variant %s)", err, v.name)
		}
		if _, err := cfg.Model.Build(); err != nil {
			return fmt.Errorf("config %s: variant %s: %v", base, v.name, err)
		}
		cfgs[i] = cfg
	}
	score, err := ablationScoring(c, base, cfgs[0])
	if err != nil {
		return err
	}
	out := c.String("out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var progress io.Writer = os.Stderr
	if c.Bool("quiet") {
		progress = nil
	}
	var rows []ablationRow
	for i, v := range vs {
		if progress != nil {
			fmt.Fprintf(progress, "== variant %d/%d: %s (%s)\n", i+1, len(vs), v.name, strings.Join(v.sets, " "))
		}
		run, err := trainConfig(c, cfgs[i], filepath.Join(out, v.name), progress)
		if err != nil {
			return fmt.Errorf("variant %s: %v", v.name, err)
		}
		dir := filepath.Join(out, v.name)
		a, err := score(dir, run)
		if err != nil {
			return fmt.Errorf("variant %s: %v", v.name, err)
		}
		doc := rpt.Document{Title: "Variant " + v.name, About: [][2]string{{"overrides", strings.Join(v.sets, " ")}}, Assessment: a}
		if err := rpt.Write(filepath.Join(dir, "assessment"), doc); err != nil {
			return err
		}
		rows = append(rows, ablationRow{
			variant:     v,
			params:      run.model.ParamCount(),
			epochs:      len(run.history.Records),
			secPerEpoch: run.fitTime.Seconds() / float64(max(1, len(run.history.Records))),
			test:        a,
		})
		if err := writeAblation(out, ablationTable(axes, rows, c.IsSet("losses"))); err != nil {
			return err
		}
	}
	return ablationTable(axes, rows, c.IsSet("losses")).WriteText(os.Stdout)
}

// ablationScoring decides how every variant is scored: on a map of a
// scene when the raster flags say so or the config trains on a scene,
// else on the config's test data.
func ablationScoring(c *cli.Context, base string, cfg *config.Config) (func(dir string, run *trainedRun) (*metrics.Assessment, error), error) {
	onRaster := false
	for _, f := range []string{"raster", "reference", "columns", "rows"} {
		onRaster = onRaster || c.IsSet(f)
	}
	var image, labels string
	s := cfg.Data.Scene
	if s != nil {
		onRaster = true
		image, labels = s.Image, s.Labels
	}
	if onRaster {
		j, err := rasterJobOf(c, cfg.Train.BatchSize, image, labels)
		if err != nil {
			return nil, fmt.Errorf("%v (ablate scores each variant's map of --raster against --reference)", err)
		}
		if s != nil && !c.IsSet("reference") {
			j.layer, j.attr = s.Layer, s.Attr
		}
		if _, err := j.preflight(); err != nil {
			return nil, err
		}
		return func(dir string, _ *trainedRun) (*metrics.Assessment, error) {
			ld, err := modeldir.Load(dir)
			if err != nil {
				return nil, err
			}
			ev, err := evalRaster(c, dir, ld, &j)
			if err != nil {
				return nil, err
			}
			return ev.Assessment, nil
		}, nil
	}
	if !hasTestData(cfg.Data) {
		return nil, fmt.Errorf("config %s: ablate scores every variant on test data: set data.test or a test split (data.folders.split.test or test_files), or give --raster and --reference", base)
	}
	return func(_ string, run *trainedRun) (*metrics.Assessment, error) {
		return run.test.Confusion.Assess(classNames(modelInputs(cfg), run.test.Confusion.Classes))
	}, nil
}

// hasTestData tells whether a config names data to score a run on.
func hasTestData(d config.Data) bool {
	if f := d.Folders; f != nil {
		return f.Split.Test > 0 || len(f.Split.TestFiles) > 0
	}
	return d.Test != ""
}

// ablationTable has one row per variant: the axis values, then params,
// epochs run, seconds per epoch and test scores; per-class F1 columns when
// withF1 (the loss comparison of the course's exercise 4_2).
func ablationTable(axes []axis, rows []ablationRow, withF1 bool) rpt.Table {
	t := rpt.Table{Header: []string{"variant"}}
	for _, a := range axes {
		t.Header = append(t.Header, a.label)
	}
	t.Header = append(t.Header, "params", "epochs", "s_per_epoch", "overall_accuracy", "kappa", "miou")
	if withF1 && len(rows) > 0 {
		for _, cl := range rows[0].test.Classes {
			t.Header = append(t.Header, "f1_"+cl.Name)
		}
	}
	f4 := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	for _, r := range rows {
		cells := append([]string{r.name}, r.values...)
		cells = append(cells, strconv.FormatInt(r.params, 10), strconv.Itoa(r.epochs),
			strconv.FormatFloat(r.secPerEpoch, 'f', 1, 64), f4(r.test.OverallAccuracy), f4(r.test.Kappa), f4(r.test.MIoU))
		if withF1 {
			for _, cl := range r.test.Classes {
				cells = append(cells, f4(cl.F1))
			}
		}
		t.Rows = append(t.Rows, cells)
	}
	return t
}

func writeAblation(dir string, t rpt.Table) error {
	if err := atomicfile.Write(filepath.Join(dir, "ablation.csv"), t.WriteCSV); err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, "ablation.md"), t.WriteMarkdown)
}
