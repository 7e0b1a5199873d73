package main

import (
	"github.com/gomlx/gomlx/backends"
	"github.com/tfrun/tfrun/config"
	"github.com/tfrun/tfrun/tfgraph/engine"
	"github.com/urfave/cli/v2"
)

func engineFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "engine", Usage: `compute engine: "go" (embedded; oneDNN and OpenBLAS kernels where those libraries are installed, pure Go otherwise; TFRUN_CPU=pure forces pure Go), "xla" (needs --plugin), or "tensorflow" (runs a SavedModel on libtensorflow; needs a tfrun built with -tags tensorflow)`},
		&cli.StringFlag{Name: "plugin", Usage: "PJRT plugin for the xla engine: a path to pjrt_c_api_*_plugin.so, or a plugin name; never downloaded", EnvVars: []string{"PJRT_PLUGIN_LIBRARY_PATH"}},
		&cli.IntFlag{Name: "threads", Usage: "worker threads for the go engine (0 = all cores)"},
	}
}

// newBackend picks the engine: flags override the config's engine section.
func newBackend(c *cli.Context, fromConfig config.Engine) (backends.Backend, error) {
	cfg := engine.Config{Name: fromConfig.Name, Plugin: fromConfig.Plugin, Threads: fromConfig.Threads}
	if c.IsSet("engine") {
		cfg.Name = c.String("engine")
	}
	if c.IsSet("plugin") {
		cfg.Plugin = c.String("plugin")
	}
	if c.IsSet("threads") {
		cfg.Threads = c.Int("threads")
	}
	return engine.New(cfg)
}
