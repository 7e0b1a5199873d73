package main

import (
	"fmt"
	"path/filepath"
	"slices"

	"github.com/tfrun/tfrun/config"
	"github.com/tfrun/tfrun/datasets"
	"github.com/tfrun/tfrun/infer"
	"github.com/tfrun/tfrun/inputs"
	"github.com/tfrun/tfrun/internal/dims"
	"github.com/urfave/cli/v2"
)

func predictCommand() *cli.Command {
	return &cli.Command{
		Name:  "predict",
		Usage: "predict classes of images or arrays, masks of images, or class maps of map sheets",
		UsageText: "tfrun predict --model runs/mlp --input digit_3.jpg [--input more.png ...]\n   tfrun predict --model runs/mlp --input X.npy --out Y.npy\n" +
			"   tfrun predict --model runs/seaice --input SHEET.tif [--input SHEET2.tif ...] | --list SHEETS.txt --out DIR [--probs uint16] [--polygons] [--shard I/N]",
		Description: "Inputs are PNG, JPEG or TIFF images, or .npy arrays of examples [N, ...], with raw values (0-255 for 8-bit images): " +
			"the model's saved preprocessing is applied. Colour images are turned to grey for one-channel models. " +
			"Prints one line per example: input, class, probability. With --out, writes the probabilities [N, classes] as float32 .npy.\n" +
			"A segmentation model takes images or folders of images and writes one PNG mask per image into the --out folder, " +
			"at the image's own size, coded as its training masks were (0/255, or the classes' values).\n" +
			"Map sheets (georeferenced rasters, --list, or any map-sheet flag) are predicted in sliding windows, reflected at the sheet's edges and blended, " +
			"into DIR/NAME.tif: a uint8 class map (nodata 255 where the sheet has none) as a Cloud-Optimised GeoTIFF on the sheet's grid and CRS, " +
			"with NAME.png, and optionally NAME_probs.tif and NAME.gpkg. A classifier gives one class per window stride. " +
			"Products appear only when complete; a rerun skips sheets already done; a sheet that fails is reported and the others go on, " +
			"and the exit status is then 2. DIR/summary.json (summary-I-of-N.json for a shard) records each sheet's status, seconds, pixels and error.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "model", Aliases: []string{"m"}, Usage: modelUsage, Required: true},
			&cli.StringSliceFlag{Name: "input", Aliases: []string{"i"}, Usage: "image or .npy file, a folder of images for a segmentation model, or a map sheet (repeatable)"},
			&cli.StringFlag{Name: "out", Usage: "write the probabilities to this .npy file (classifiers), the masks into this folder (segmentation), or map-sheet products into this folder"},
			&cli.IntFlag{Name: "batch", Value: 256, Usage: "examples per engine call (map sheets: 8 windows of a per-pixel model, 64 of a classifier)"},
			&cli.BoolFlag{Name: "invert", Usage: "invert 8-bit images (255 - value) first: photos of dark ink on light paper, for models trained on light-on-dark MNIST"},
			scaleFlag(),
			signatureFlag(),
		}, append(sheetFlags(), engineFlags()...)...),
		Action: runPredict,
	}
}

type example struct {
	label string
	data  []float32
}

func runPredict(c *cli.Context) error {
	if c.Int("batch") <= 0 {
		return fmt.Errorf("--batch must be > 0")
	}
	if sheetMode(c) {
		return predictSheets(c)
	}
	if len(c.StringSlice("input")) == 0 {
		return fmt.Errorf("nothing to predict: give --input FILE (or --list SHEETS.txt for map sheets)")
	}
	if usesTensorFlow(c, config.Engine{}) {
		return predictTF(c)
	}
	ld, err := loadModel(c, c.String("model"))
	if err != nil {
		return err
	}
	segmentation := ld.Meta.Decode != nil
	if segmentation && c.String("out") == "" {
		return fmt.Errorf("a segmentation model writes masks: give --out FOLDER")
	}
	backend, err := newBackend(c, config.Engine{})
	if err != nil {
		return err
	}
	defer backend.Finalize()
	r, err := infer.NewRunner(backend, ld.Model, ld.Ctx, "")
	if err != nil {
		return err
	}
	if segmentation {
		return predictMasks(ld, r, c.StringSlice("input"), c.String("out"))
	}
	binary := ld.Model.OutputActivation() == "sigmoid"
	return predictExamples(c, r, ld.Model.Input.Shape, ld.Model.Output.Shape, ld.Meta.Preprocess, binary)
}

// predictor is an engine's prediction on n examples of its input shape.
type predictor interface {
	Predict(x []float32, n int) ([]float32, error)
}

// predictExamples runs a classifier on the --input files, writes --out and
// prints each example's class and probability.
func predictExamples(c *cli.Context, r predictor, in, outShape []int, pre datasets.Preprocess, binary bool) error {
	var exs []example
	for _, path := range c.StringSlice("input") {
		got, err := readExamples(path, in, c.Bool("invert"))
		if err != nil {
			return err
		}
		exs = append(exs, got...)
	}
	k := dims.Product(outShape)
	probs := make([]float32, 0, len(exs)*k)
	bs := c.Int("batch")
	for from := 0; from < len(exs); from += bs {
		part := exs[from:min(from+bs, len(exs))]
		var x []float32
		for _, e := range part {
			x = append(x, e.data...)
		}
		pre.Apply(x)
		p, err := r.Predict(x, len(part))
		if err != nil {
			return err
		}
		probs = append(probs, p...)
	}
	if out := c.String("out"); out != "" {
		if err := inputs.SaveNPY(out, &inputs.Array{Shape: append([]int{len(exs)}, outShape...), Data: probs}); err != nil {
			return err
		}
	}
	for i, e := range exs {
		class, p := classOf(probs[i*k:(i+1)*k], binary)
		fmt.Printf("%s\t%d\t%.4f\n", e.label, class, p)
	}
	return nil
}

// classOf is the class one output row predicts, with its probability; a
// binary model's single output is the probability of class 1.
func classOf(row []float32, binary bool) (int32, float32) {
	if binary && len(row) == 1 {
		if row[0] > 0.5 {
			return 1, row[0]
		}
		return 0, 1 - row[0]
	}
	best := 0
	for j := range row {
		if row[j] > row[best] {
			best = j
		}
	}
	return int32(best), row[best]
}

// readExamples turns one input file into examples of the model's input
// shape: an image is one example, an array [N, ...] is N.
func readExamples(path string, want []int, invert bool) ([]example, error) {
	a, err := inputs.Load(path)
	if err != nil {
		return nil, err
	}
	if invert {
		for i, v := range a.Data {
			a.Data[i] = 255 - v
		}
	}
	size := dims.Product(want)
	if filepath.Ext(path) == ".npy" {
		if len(a.Shape) < 2 || dims.Product(a.Shape[1:]) != size {
			return nil, fmt.Errorf("%s: array of shape %v, want [N, %s] for this model", path, a.Shape, dimsString(want))
		}
		exs := make([]example, a.Shape[0])
		for i := range exs {
			exs[i] = example{label: fmt.Sprintf("%s[%d]", path, i), data: a.Data[i*size : (i+1)*size]}
		}
		return exs, nil
	}
	// A model of one channel, or of as many values as grey pixels (an MLP),
	// takes colour images in grey.
	grey := len(want) == 3 && want[2] == 1 || dims.Product(want) == dims.Product(a.Shape)/3
	if grey && len(a.Shape) == 3 && a.Shape[2] == 3 {
		if a, err = inputs.ToGray(a); err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
	}
	if reshapes(a.Shape, want) {
		a.Shape = want
	}
	if !slices.Equal(a.Shape, want) {
		return nil, fmt.Errorf("%s: image is %s, the model takes %s", path, dimsString(a.Shape), dimsString(want))
	}
	return []example{{label: path, data: a.Data}}, nil
}

func dimsString(s []int) string {
	out := ""
	for i, d := range s {
		if i > 0 {
			out += "×"
		}
		out += fmt.Sprint(d)
	}
	return out
}
