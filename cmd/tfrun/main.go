// Command tfrun trains and runs deep-learning models on imagery.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"
)

func main() {
	if err := app().Run(os.Args); err != nil {
		// One line, so that batch logs stay greppable: errors already name
		// the file and the problem.
		fmt.Fprintln(os.Stderr, "tfrun: "+strings.ReplaceAll(err.Error(), "\n", "; "))
		os.Exit(2)
	}
}

func app() *cli.App {
	return &cli.App{
		Name:  "tfrun",
		Usage: "train and run deep-learning models on imagery",
		Description: "tfrun trains the course's models (MLP and conv net on digits, U-Net, DeepLab with swappable backbones, CBRR-Net) " +
			"on the embedded CPU engine, on XLA through a PJRT plugin, or on TensorFlow (SavedModels); reads Keras models; cuts georeferenced " +
			"scenes into chips; maps whole sheets with sliding windows; and assesses maps against reference rasters.\n" +
			"Exit status: 0 on success, 2 on any error (bad input, bad config, engine failure).",
		HideHelpCommand: true,
		// Values such as --set model.input=[64,64,3] hold commas; repeat a
		// flag to give several.
		DisableSliceFlagSeparator: true,
		Commands: []*cli.Command{
			trainCommand(),
			evalCommand(),
			predictCommand(),
			benchCommand(),
			summaryCommand(),
			inspectCommand(),
			importCommand(),
			ablateCommand(),
			pcaCommand(),
			samplesCommand(),
			tileCommand(),
		},
	}
}
