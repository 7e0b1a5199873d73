package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tfrun/tfrun/config"
	"github.com/tfrun/tfrun/models"
	"github.com/urfave/cli/v2"
)

// defaultDeepLabConfig is the run `tfrun train deeplab` makes without
// --config: buildings on the west half of the SpaceNet scene.
const defaultDeepLabConfig = "configs/spacenet_deeplab.yaml"

func trainDeepLabCommand() *cli.Command {
	return &cli.Command{
		Name:  "deeplab",
		Usage: "train DeepLabV3 or DeepLabV3+ with a backbone of choice",
		UsageText: "tfrun train deeplab --backbone resnet50 [--decoder v3|v3plus] [--output-stride 8|16] " +
			"[--config " + defaultDeepLabConfig + "] [--set key=value ...] --out DIR",
		Description: "Trains as `tfrun train` does, from a config whose model is `zoo: deeplab`; --backbone, --decoder and " +
			"--output-stride override its model.options (other options: rates, the ASPP atrous rates, and width, a filter multiplier, " +
			"through --set model.options.rates=[12,24,36]). Backbones: " + strings.Join(models.EncoderNames(), ", ") +
			". Decoders: v3 (ASPP only), v3plus (ASPP and the low-level skip decoder).",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "backbone", Aliases: []string{"b"}, Usage: "encoder: " + strings.Join(models.EncoderNames(), ", ") + " (default: the config's)"},
			&cli.StringFlag{Name: "decoder", Aliases: []string{"d"}, Usage: "v3 or v3plus (default: the config's)"},
			&cli.IntFlag{Name: "output-stride", Usage: "8 or 16: the encoder's resolution; 8 turns its last stride into dilation (default: the config's)"},
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Value: defaultDeepLabConfig, Usage: "run config with model.zoo: deeplab"},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "output folder for the model, log and plot", Required: true},
			&cli.StringSliceFlag{Name: "set", Usage: "override a config key, e.g. --set train.epochs=5 (repeatable)"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress bar or per-epoch lines"},
		}, engineFlags()...),
		Action: runTrainDeepLab,
	}
}

func runTrainDeepLab(c *cli.Context) error {
	path := c.String("config")
	sets := c.StringSlice("set")
	for _, f := range []struct{ flag, key string }{
		{"backbone", "backbone"}, {"decoder", "decoder"}, {"output-stride", "output_stride"},
	} {
		if c.IsSet(f.flag) {
			sets = append(sets, fmt.Sprintf("model.options.%s=%v", f.key, c.Value(f.flag)))
		}
	}
	cfg, err := config.Load(path, sets)
	if err != nil {
		return err
	}
	if cfg.Model.Zoo != "deeplab" {
		return fmt.Errorf("config %s: `train deeplab` needs model.zoo: deeplab, the config has %q", path, cfg.Model.Zoo)
	}
	if usesTensorFlow(c, cfg.Engine) {
		return fmt.Errorf("config %s: the tensorflow engine trains SavedModels only; use the go or xla engine", path)
	}
	var progress io.Writer = os.Stderr
	if c.Bool("quiet") {
		progress = nil
	}
	_, err = trainConfig(c, cfg, c.String("out"), progress)
	return err
}
