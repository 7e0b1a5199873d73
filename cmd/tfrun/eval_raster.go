package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tfrun/tfrun/assess"
	"github.com/tfrun/tfrun/config"
	"github.com/tfrun/tfrun/infer"
	"github.com/tfrun/tfrun/mapping"
	"github.com/tfrun/tfrun/metrics"
	"github.com/tfrun/tfrun/modeldir"
	"github.com/tfrun/tfrun/raster"
	rpt "github.com/tfrun/tfrun/report"
	"github.com/tfrun/tfrun/scenes"
	"github.com/urfave/cli/v2"
)

// rasterFlags choose a scene, its reference labels and the assessed part;
// eval and ablate share them.
func rasterFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "raster", Usage: "scene to map (GeoTIFF, ENVI, any GDAL raster), preprocessed as the model was trained"},
		&cli.StringFlag{Name: "reference", Usage: "the reference the map is assessed against: a label raster on the scene's grid, or vector labels (GeoPackage, GeoJSON, Shapefile), rasterized onto it"},
		&cli.StringFlag{Name: "layer", Usage: "layer of a vector --reference (default: the only one)"},
		&cli.StringFlag{Name: "attr", Usage: "attribute of a vector --reference burnt as the label value (default: 1 inside features, 0 outside)"},
		&cli.StringFlag{Name: "columns", Usage: "assess only columns A:B (first included, last not), e.g. 450:900 for the east half of a 900-wide scene"},
		&cli.StringFlag{Name: "rows", Usage: "assess only rows A:B"},
		&cli.StringFlag{Name: "ignore", Usage: "comma-separated reference values to leave out of the assessment"},
		&cli.IntFlag{Name: "overlap", Value: -1, Usage: "pixels shared by neighbouring windows (default: a quarter of the window)"},
		&cli.StringFlag{Name: "blend", Value: string(mapping.Gaussian), Usage: "how overlapping windows combine: center, average or gaussian"},
	}
}

// rasterJob is an assessment of a model's map of a scene.
type rasterJob struct {
	raster, reference string
	// layer and attr choose what of a vector reference is rasterized.
	layer, attr string
	opt         assess.Options
	overlap     int
	blend       mapping.Blend
	batch       int
}

// rasterJobOf reads the raster flags; defRaster and defReference stand in
// for --raster and --reference when those are not given.
func rasterJobOf(c *cli.Context, batch int, defRaster, defReference string) (rasterJob, error) {
	j := rasterJob{raster: c.String("raster"), reference: c.String("reference"), layer: c.String("layer"), attr: c.String("attr"),
		overlap: c.Int("overlap"), batch: batch}
	if j.raster == "" {
		j.raster = defRaster
	}
	if j.reference == "" {
		j.reference = defReference
	}
	if j.raster == "" || j.reference == "" {
		return j, fmt.Errorf("--raster and --reference go together")
	}
	if (j.layer != "" || j.attr != "") && !raster.IsVector(j.reference) {
		return j, fmt.Errorf("--layer and --attr apply to vector references; %s is a raster", j.reference)
	}
	var err error
	if j.blend, err = mapping.ParseBlend(c.String("blend")); err != nil {
		return j, fmt.Errorf("--blend: %v", err)
	}
	if j.opt.Region, err = regionOf(c.String("columns"), c.String("rows")); err != nil {
		return j, err
	}
	for _, v := range splitList(c.String("ignore")) {
		n, err := strconv.Atoi(v)
		if err != nil {
			return j, fmt.Errorf("--ignore %q: %q is not an integer label value", c.String("ignore"), v)
		}
		j.opt.Ignore = append(j.opt.Ignore, n)
	}
	return j, nil
}

// regionOf reads --columns and --rows; an unset one is the whole axis
// (a huge end, clipped when the grid is known).
func regionOf(cols, rows string) (*assess.Region, error) {
	if cols == "" && rows == "" {
		return nil, nil
	}
	var r assess.Region
	for _, a := range []struct {
		flag, v string
		lo, hi  *int
	}{{"columns", cols, &r.X0, &r.X1}, {"rows", rows, &r.Y0, &r.Y1}} {
		*a.lo, *a.hi = 0, -1
		if a.v == "" {
			continue
		}
		lo, hi, ok := strings.Cut(a.v, ":")
		var err1, err2 error
		*a.lo, err1 = strconv.Atoi(strings.TrimSpace(lo))
		*a.hi, err2 = strconv.Atoi(strings.TrimSpace(hi))
		if !ok || err1 != nil || err2 != nil || *a.lo < 0 || *a.hi <= *a.lo {
			return nil, fmt.Errorf("--%s %q: want A:B with 0 ≤ A < B", a.flag, a.v)
		}
	}
	return &r, nil
}

// preflight checks what can be checked before a model exists: the raster
// opens, the reference lies on its grid, and the region lies inside it
// (an axis the flags left whole is resolved here). It returns the
// raster's metadata.
func (j *rasterJob) preflight() (raster.Info, error) {
	st, err := raster.Stat(j.raster)
	if err != nil {
		return st, err
	}
	if raster.IsVector(j.reference) {
		if err := j.vectorReference().Check(j.raster, st.Grid()); err != nil {
			return st, err
		}
	} else {
		ref, err := raster.Stat(j.reference)
		if err != nil {
			return st, err
		}
		if err := assess.SameGrid(j.reference, ref.Grid(), j.raster, st.Grid()); err != nil {
			return st, err
		}
	}
	if r := j.opt.Region; r != nil {
		if r.X1 < 0 {
			r.X1 = st.Width
		}
		if r.Y1 < 0 {
			r.Y1 = st.Height
		}
		if r.X1 > st.Width || r.Y1 > st.Height {
			return st, fmt.Errorf("region columns %d:%d rows %d:%d is not inside %s (%d×%d)", r.X0, r.X1, r.Y0, r.Y1, j.raster, st.Width, st.Height)
		}
	}
	return st, nil
}

func (j *rasterJob) vectorReference() scenes.VectorLabels {
	return scenes.VectorLabels{Path: j.reference, Layer: j.layer, Attr: j.attr}
}

// referenceRaster is the reference as a raster on the scene's grid g: the
// reference itself, or vector labels rasterized into a temporary folder
// that done removes.
func (j *rasterJob) referenceRaster(g raster.Grid) (path string, done func(), err error) {
	if !raster.IsVector(j.reference) {
		return j.reference, func() {}, nil
	}
	var dir string
	done = func() {
		if dir != "" {
			os.RemoveAll(dir)
		}
	}
	tmp := func() (string, error) {
		var err error
		dir, err = os.MkdirTemp("", "tfrun-reference-")
		return dir, err
	}
	path, err = j.vectorReference().Rasterize(j.raster, g, tmp)
	if err != nil {
		done()
		return "", nil, err
	}
	return path, done, nil
}

// rasterEval is what `eval --raster --json` prints and report.json holds.
type rasterEval struct {
	*metrics.Assessment
	assess.Counts
	Model     string  `json:"model"`
	Raster    string  `json:"raster"`
	Reference string  `json:"reference"`
	Region    string  `json:"region"`
	Seconds   float64 `json:"seconds"`
}

// evalRaster maps the job's scene with the model and assesses the map.
func evalRaster(c *cli.Context, dir string, ld *modeldir.Loaded, j *rasterJob) (*rasterEval, error) {
	start := time.Now()
	info := mapping.InfoOf(ld)
	if !info.IsMap() {
		return nil, fmt.Errorf("%s: the model gives one class per example (output %v); eval --raster needs a per-pixel model", dir, info.Output)
	}
	// The band count first: a raster the model cannot read at all is the
	// more basic mistake.
	st, err := raster.Stat(j.raster)
	if err != nil {
		return nil, err
	}
	if p := ld.Meta.Raster; p != nil {
		if err := p.CheckBands(j.raster, st.Bands); err != nil {
			return nil, err
		}
	}
	if _, err := j.preflight(); err != nil {
		return nil, err
	}
	labels, err := referenceLabels(dir, ld, info.Classes())
	if err != nil {
		return nil, err
	}
	g := st.Grid()
	opt := j.opt
	opt.Classes = info.Classes()
	refPath, done, err := j.referenceRaster(g)
	if err != nil {
		return nil, err
	}
	defer done()
	ref, err := assess.Open(refPath, j.raster, g, labels, opt)
	if err != nil {
		return nil, err
	}
	defer ref.Close()
	backend, err := newBackend(c, config.Engine{})
	if err != nil {
		return nil, err
	}
	defer backend.Finalize()
	runner, err := infer.NewRunner(backend, ld.Model, ld.Ctx, "")
	if err != nil {
		return nil, err
	}
	mo := mapping.Options{Overlap: j.overlap, Blend: j.blend, Batch: j.batch}
	if mo.Overlap < 0 {
		mo.Overlap = mapping.DefaultOverlap(info)
	}
	if err := mapping.Classify(j.raster, runner, info, mo, ref.Add); err != nil {
		return nil, err
	}
	conf, counts, err := ref.Result()
	if err != nil {
		return nil, err
	}
	a, err := conf.Assess(labels.Names)
	if err != nil {
		return nil, err
	}
	region := "all"
	if r := j.opt.Region; r != nil {
		region = fmt.Sprintf("columns %d:%d, rows %d:%d", r.X0, r.X1, r.Y0, r.Y1)
	}
	return &rasterEval{Assessment: a, Counts: counts, Model: dir, Raster: j.raster, Reference: j.reference,
		Region: region, Seconds: time.Since(start).Seconds()}, nil
}

// referenceLabels is how reference values become the model's class ids:
// the coding the model was trained with (a scene model records it, with
// its remap and class names), else mask values of image models, else the
// values 0..classes-1 themselves.
func referenceLabels(dir string, ld *modeldir.Loaded, classes int) (*scenes.Labels, error) {
	if p := ld.Meta.Raster; p != nil && p.Labels != nil {
		l := *p.Labels
		if l.Classes() > classes {
			return nil, fmt.Errorf("%s: the model records %d label classes but outputs only %d", dir, l.Classes(), classes)
		}
		// Outputs beyond the labels' classes, which no reference value
		// codes, are named by index.
		names := classNames(ld.Meta.Inputs, classes)
		copy(names, l.Names)
		l.Names = names
		return &l, nil
	}
	l := &scenes.Labels{Names: classNames(ld.Meta.Inputs, classes)}
	for k := range classes {
		v := k
		if d := ld.Meta.Decode; d != nil && k < len(d.Classes) {
			v = d.Classes[k]
		}
		l.Values = append(l.Values, v)
	}
	return l, nil
}

// runEvalRaster is `eval --raster --reference`.
func runEvalRaster(c *cli.Context) error {
	if c.IsSet("data") || c.IsSet("images") || c.IsSet("masks") {
		return fmt.Errorf("--raster and --reference assess a map; --data and --images/--masks are other kinds of evaluation")
	}
	j, err := rasterJobOf(c, c.Int("batch"), "", "")
	if err != nil {
		return err
	}
	dir := c.String("model")
	ld, err := loadModel(c, dir)
	if err != nil {
		return err
	}
	ev, err := evalRaster(c, dir, ld, &j)
	if err != nil {
		return err
	}
	if out := c.String("report"); out != "" {
		if err := rpt.Write(out, ev.document()); err != nil {
			return err
		}
	}
	if c.Bool("json") {
		return printJSON(ev)
	}
	a := ev.Assessment
	fmt.Printf("overall accuracy %.4f, kappa %.4f, mIoU %.4f, FWIoU %.4f on %d pixels (%d without input data, %d unlabelled left out)\n",
		a.OverallAccuracy, a.Kappa, a.MIoU, a.FWIoU, a.N, ev.NoInput, ev.Unlabelled)
	return rpt.ScoreTable(a).WriteText(os.Stdout)
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// document is the written report of an assessment.
func (ev *rasterEval) document() rpt.Document {
	return rpt.Document{
		Title: "Accuracy of " + ev.Model,
		About: [][2]string{
			{"raster", ev.Raster}, {"reference", ev.Reference}, {"region", ev.Region},
			{"pixels", fmt.Sprintf("%d assessed; %d labelled without input data and %d unlabelled left out", ev.N, ev.NoInput, ev.Unlabelled)},
		},
		Assessment: ev.Assessment,
		JSON:       ev,
	}
}
