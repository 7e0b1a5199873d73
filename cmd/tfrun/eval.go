package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/tfrun/tfrun/config"
	"github.com/tfrun/tfrun/infer"
	"github.com/tfrun/tfrun/internal/atomicfile"
	"github.com/tfrun/tfrun/modeldir"
	"github.com/tfrun/tfrun/pipeline"
	"github.com/urfave/cli/v2"
)

func evalCommand() *cli.Command {
	return &cli.Command{
		Name:  "eval",
		Usage: "evaluate a saved model on labelled data, or assess its map of a scene against a reference raster",
		UsageText: "tfrun eval --model runs/mlp --data mnist:test [--json]\n" +
			"   tfrun eval --model runs/seaice --images DIR --masks DIR [--json] [--preview grid.png]\n" +
			"   tfrun eval --model DIR --raster SCENE.tif --reference LABELS.tif [--columns A:B] [--rows A:B] [--json] [--report DIR]",
		Description: "Classifiers: --data mnist:train, mnist:test, or npy:IMAGES.npy,LABELS.npy (raw values; the model's preprocessing is applied); " +
			"--json prints {accuracy, loss, confusion_matrix (rows = truth), n}.\n" +
			"Segmentation models: --images and --masks are folders paired by file name, read as the model was trained (size, channels, scale, classes); " +
			"--json prints {pixel_accuracy, iou, f1, precision, recall (of class 1 for a binary model, class means otherwise), mean_iou, loss, confusion_matrix, n_pixels}.\n" +
			"Scenes: --raster is mapped with sliding windows and the model's saved preprocessing, and compared pixel by pixel with --reference, " +
			"a label raster on the same grid whose values are coded as in training (remap, class values); reference nodata, unlabelled and --ignore values, " +
			"and pixels without input data, are left out. --json prints {overall_accuracy, kappa, miou, fwiou, n, classes: [{name, producers_accuracy, users_accuracy, f1, iou, support, mapped}], " +
			"confusion_matrix (rows = reference), reference_pixels, input_nodata, unlabelled, model, raster, reference, region, seconds}; " +
			"--report DIR also writes report.csv, report.md, report.json and confusion.png.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "model", Aliases: []string{"m"}, Usage: modelUsage, Required: true},
			&cli.StringFlag{Name: "data", Aliases: []string{"d"}, Usage: "labelled data source (classifiers)"},
			&cli.StringFlag{Name: "images", Usage: "folder of images (segmentation)"},
			&cli.StringFlag{Name: "masks", Usage: "folder of masks paired with --images by file name"},
			&cli.StringFlag{Name: "preview", Usage: "write a PNG grid of image | truth | prediction for the first examples (segmentation)"},
			&cli.BoolFlag{Name: "json", Usage: "print a JSON object instead of text"},
			&cli.StringFlag{Name: "report", Usage: "with --raster: also write report.csv, report.md, report.json and confusion.png into this folder"},
			&cli.IntFlag{Name: "batch", Value: 32, Usage: "examples per engine call"},
			scaleFlag(),
			signatureFlag(),
		}, append(rasterFlags(), engineFlags()...)...),
		Action: runEval,
	}
}

func runEval(c *cli.Context) error {
	if c.Int("batch") <= 0 {
		return fmt.Errorf("--batch must be > 0")
	}
	if c.IsSet("raster") || c.IsSet("reference") {
		return runEvalRaster(c)
	}
	if c.IsSet("report") {
		return fmt.Errorf("--report goes with --raster and --reference")
	}
	folders := c.IsSet("images") || c.IsSet("masks")
	if folders == c.IsSet("data") {
		return fmt.Errorf("give --data (classifiers) or --images and --masks (segmentation)")
	}
	var ld *modeldir.Loaded
	var ev *infer.Eval
	var rep report
	var err error
	switch {
	case usesTensorFlow(c, config.Engine{}):
		if folders {
			return fmt.Errorf("the tensorflow engine evaluates classifiers: give --data")
		}
		if ev, err = evalTF(c); err == nil {
			rep = classReportOf(ev)
		}
	case folders:
		ld, ev, err = evalFolders(c)
	default:
		ld, ev, err = evalSaved(c, c.String("model"), c.String("data"), c.Int("batch"))
	}
	if err != nil {
		return err
	}
	if rep == nil {
		rep = evalReport(ev, ld)
	}
	if c.Bool("json") {
		return printJSON(rep)
	}
	fmt.Println(rep.summary())
	fmt.Println("confusion matrix (rows = truth):")
	for _, row := range ev.Confusion.M {
		fmt.Println(row)
	}
	return nil
}

func evalFolders(c *cli.Context) (*modeldir.Loaded, *infer.Eval, error) {
	if !c.IsSet("images") || !c.IsSet("masks") {
		return nil, nil, fmt.Errorf("--images and --masks go together")
	}
	ld, err := loadModel(c, c.String("model"))
	if err != nil {
		return nil, nil, err
	}
	dec := ld.Meta.Decode
	if dec == nil {
		return nil, nil, fmt.Errorf("%s: not a segmentation model (it records no image decoding); use --data", c.String("model"))
	}
	pairs, err := pipeline.ListPairs(c.String("images"), c.String("masks"))
	if err != nil {
		return nil, nil, err
	}
	src, err := pipeline.NewFiles(pairs, *dec, pipeline.Options{})
	if err != nil {
		return nil, nil, err
	}
	backend, err := newBackend(c, config.Engine{})
	if err != nil {
		return nil, nil, err
	}
	defer backend.Finalize()
	ev, err := evaluateOn(backend, ld, src, c.Int("batch"))
	if err != nil {
		return nil, nil, err
	}
	if p := c.String("preview"); p != "" {
		if err := writePreview(backend, ld, src, p); err != nil {
			return nil, nil, err
		}
	}
	return ld, ev, nil
}

// report is what eval prints and train writes to test.json.
type report interface{ summary() string }

type classReport struct {
	Accuracy        float64   `json:"accuracy"`
	Loss            float64   `json:"loss"`
	ConfusionMatrix [][]int64 `json:"confusion_matrix"`
	N               int64     `json:"n"`
}

func (r classReport) summary() string {
	return fmt.Sprintf("accuracy %.4f, loss %.4f on %d examples", r.Accuracy, r.Loss, r.N)
}

type segReport struct {
	PixelAccuracy   float64      `json:"pixel_accuracy"`
	IoU             float64      `json:"iou"`
	F1              float64      `json:"f1"`
	Precision       float64      `json:"precision"`
	Recall          float64      `json:"recall"`
	MeanIoU         float64      `json:"mean_iou"`
	Loss            float64      `json:"loss"`
	ConfusionMatrix [][]int64    `json:"confusion_matrix"`
	NPixels         int64        `json:"n_pixels"`
	PerClass        []classStats `json:"per_class,omitempty"`
}

type classStats struct {
	Class     int     `json:"class"`
	IoU       float64 `json:"iou"`
	F1        float64 `json:"f1"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	Support   int64   `json:"support"`
}

func (r segReport) summary() string {
	return fmt.Sprintf("pixel accuracy %.4f, IoU %.4f, F1 %.4f, precision %.4f, recall %.4f, loss %.4f on %d pixels",
		r.PixelAccuracy, r.IoU, r.F1, r.Precision, r.Recall, r.Loss, r.NPixels)
}

func classReportOf(ev *infer.Eval) classReport {
	cm := ev.Confusion
	return classReport{Accuracy: cm.Accuracy(), Loss: ev.Loss, ConfusionMatrix: cm.M, N: cm.N()}
}

// evalReport words an evaluation for the model's kind: a segmentation
// model's output has spatial axes.
func evalReport(ev *infer.Eval, ld *modeldir.Loaded) report {
	cm := ev.Confusion
	if len(ld.Model.Output.Shape) == 1 {
		return classReportOf(ev)
	}
	per := cm.PerClass()
	rep := segReport{PixelAccuracy: cm.Accuracy(), MeanIoU: cm.MeanIoU(), Loss: ev.Loss, ConfusionMatrix: cm.M, NPixels: cm.N()}
	if cm.Classes == 2 {
		pos := per[1]
		rep.IoU, rep.F1, rep.Precision, rep.Recall = pos.IoU, pos.F1, pos.Precision, pos.Recall
		return rep
	}
	rep.PerClass = make([]classStats, len(per))
	for i, s := range per {
		rep.PerClass[i] = classStats{Class: i, IoU: s.IoU, F1: s.F1, Precision: s.Precision, Recall: s.Recall, Support: s.Support}
		rep.IoU += s.IoU / float64(len(per))
		rep.F1 += s.F1 / float64(len(per))
		rep.Precision += s.Precision / float64(len(per))
		rep.Recall += s.Recall / float64(len(per))
	}
	return rep
}

func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}
