package main

import (
	"fmt"
	"slices"

	"github.com/tfrun/tfrun/datasets"
	"github.com/tfrun/tfrun/internal/dims"
	"github.com/tfrun/tfrun/modeldir"
	"github.com/urfave/cli/v2"
)

// modelUsage describes what --model accepts.
const modelUsage = "model: a folder written by tfrun train or tfrun import, a Keras SavedModel folder, or a Keras .h5 file"

func scaleFlag() *cli.Float64Flag {
	return &cli.Float64Flag{Name: "scale", Usage: "divide raw input values by this before the model, instead of the model's saved preprocessing " +
		"(Keras files do not record theirs: the course's MNIST models need 255)"}
}

// loadModel reads a model, with --scale replacing its preprocessing where
// the command has that flag and it is set.
func loadModel(c *cli.Context, path string) (*modeldir.Loaded, error) {
	ld, err := modeldir.Load(path)
	if err != nil {
		return nil, err
	}
	if c.IsSet("scale") {
		s := c.Float64("scale")
		if s <= 0 {
			return nil, fmt.Errorf("--scale must be > 0, got %g", s)
		}
		ld.Meta.Preprocess.Scale = s
	}
	return ld, nil
}

// fitInput lets in-memory examples feed a model that takes them in another
// shape holding the same values in the same order (see reshapes).
func fitInput(src datasets.Source, want []int) datasets.Source {
	a, ok := src.(*datasets.Arrays)
	if !ok || !reshapes(a.Shape, want) {
		return src
	}
	fitted := *a
	fitted.Shape = slices.Clone(want)
	return &fitted
}

// reshapes tells whether examples of shape have can be read as shape want
// without moving values: flattened, as Keras code does with x.reshape(n, -1)
// (the course's MNIST MLP takes 784 values, the MNIST source gives
// 28×28×1 images), or with axes of size 1 added or removed ([28, 28] and
// [28, 28, 1]).
func reshapes(have, want []int) bool {
	if slices.Equal(have, want) || dims.Product(have) != dims.Product(want) {
		return false
	}
	drop1 := func(s []int) []int { return slices.DeleteFunc(slices.Clone(s), func(d int) bool { return d == 1 }) }
	return len(want) == 1 || slices.Equal(drop1(have), drop1(want))
}

func importCommand() *cli.Command {
	return &cli.Command{
		Name:      "import",
		Usage:     "rebuild a Keras model in tfrun's engine and save it as a tfrun model folder",
		UsageText: "tfrun import --out runs/course_mlp [--scale 255] MODEL.h5 | SAVEDMODEL_DIR",
		Description: "Converts each Keras layer to the tfrun layer that computes the same function and copies the weights " +
			"(kernels stay HWIO, dense kernels [in, out]). The folder then predicts, evaluates and fine-tunes (train --init) like any tfrun model. " +
			"--scale records the preprocessing the Keras model was trained with, which Keras files do not keep. " +
			"A layer tfrun cannot compute exactly is an error naming it; such models run with --engine tensorflow instead.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "model folder to write", Required: true},
			scaleFlag(),
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("import: give one Keras .h5 file or SavedModel folder")
			}
			ld, err := loadModel(c, c.Args().First())
			if err != nil {
				return err
			}
			if err := modeldir.Save(c.String("out"), ld.Model, ld.Ctx, ld.Meta.Inputs); err != nil {
				return err
			}
			fmt.Printf("imported %s (%s, %d parameters) into %s\n", c.Args().First(), ld.Meta.Format, ld.Model.ParamCount(), c.String("out"))
			return nil
		},
	}
}
