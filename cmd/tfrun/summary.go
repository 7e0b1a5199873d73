package main

import (
	"fmt"
	"os"

	"github.com/tfrun/tfrun/config"
	"github.com/tfrun/tfrun/layers"
	"github.com/tfrun/tfrun/modeldir"
	"github.com/tfrun/tfrun/models"
	"github.com/urfave/cli/v2"
)

func summaryCommand() *cli.Command {
	return &cli.Command{
		Name:      "summary",
		Usage:     "print a Keras-style summary of a config's model, a saved model, or the zoo",
		UsageText: "tfrun summary --config configs/mnist_convnet.yaml\n   tfrun summary --model runs/mlp\n   tfrun summary (lists the zoo and layer kinds)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "run config"},
			&cli.StringFlag{Name: "model", Aliases: []string{"m"}, Usage: "saved model: a tfrun folder, a Keras SavedModel or a Keras .h5 file"},
		},
		Action: func(c *cli.Context) error {
			switch {
			case c.IsSet("config"):
				cfg, err := config.Load(c.String("config"), nil)
				if err != nil {
					return err
				}
				m, err := cfg.Model.Build()
				if err != nil {
					return fmt.Errorf("config %s: %v", c.String("config"), err)
				}
				m.Summary(os.Stdout)
			case c.IsSet("model"):
				ld, err := modeldir.Load(c.String("model"))
				if err != nil {
					return err
				}
				ld.Model.Summary(os.Stdout)
			default:
				fmt.Println("zoo models:", models.ZooNames())
				fmt.Println("layer kinds:", layers.Kinds())
			}
			return nil
		},
	}
}
