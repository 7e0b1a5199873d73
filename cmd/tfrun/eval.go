package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tfrun/tfrun/infer"
	"github.com/urfave/cli/v2"
)

func evalCommand() *cli.Command {
	return &cli.Command{
		Name:      "eval",
		Usage:     "evaluate a saved model on labelled data",
		UsageText: "tfrun eval --model runs/mlp --data mnist:test [--json]",
		Description: "Data sources: mnist:train, mnist:test, or npy:IMAGES.npy,LABELS.npy (raw values; the model's preprocessing is applied).\n" +
			"--json prints {accuracy, loss, confusion_matrix (rows = truth), n}.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "model", Aliases: []string{"m"}, Usage: "model folder written by tfrun train", Required: true},
			&cli.StringFlag{Name: "data", Aliases: []string{"d"}, Usage: "labelled data source", Required: true},
			&cli.BoolFlag{Name: "json", Usage: "print a JSON object instead of text"},
			&cli.IntFlag{Name: "batch", Value: 256, Usage: "examples per engine call"},
		}, engineFlags()...),
		Action: func(c *cli.Context) error {
			if c.Int("batch") <= 0 {
				return fmt.Errorf("--batch must be > 0")
			}
			ev, err := evalSaved(c, c.String("model"), c.String("data"), c.Int("batch"))
			if err != nil {
				return err
			}
			rep := evalReport(ev)
			if c.Bool("json") {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			fmt.Printf("accuracy %.4f\nloss %.4f\nn %d\nconfusion matrix (rows = truth):\n", rep.Accuracy, rep.Loss, rep.N)
			for _, row := range rep.ConfusionMatrix {
				fmt.Println(row)
			}
			return nil
		},
	}
}

type evalJSON struct {
	Accuracy        float64   `json:"accuracy"`
	Loss            float64   `json:"loss"`
	ConfusionMatrix [][]int64 `json:"confusion_matrix"`
	N               int64     `json:"n"`
}

func evalReport(ev *infer.Eval) evalJSON {
	return evalJSON{Accuracy: ev.Confusion.Accuracy(), Loss: ev.Loss, ConfusionMatrix: ev.Confusion.M, N: ev.Confusion.N()}
}

func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
