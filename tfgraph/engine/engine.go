// Package engine selects the compute backend tfrun runs graphs on.
//
// Two engines exist: "go", the embedded pure-Go backend (package adapter over
// GoMLX's simplego), and "xla", GoMLX's XLA backend driving a PJRT plugin that
// the user provides. tfrun never downloads plugins, and a failing "xla" never
// falls back to "go": asking for one engine and silently getting another
// would make results and timings lie.
//
// Where tfrun is built with cgo and oneDNN and OpenBLAS load, engine "go"
// runs on package cpu instead: native kernels for the heavy ops, the
// adapter for the rest. TFRUN_CPU=pure asks for the adapter alone.
package engine

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/tfrun/tfrun/tfgraph/adapter"
	"github.com/tfrun/tfrun/tfgraph/cpu"
)

const (
	// Go is the embedded pure-Go engine, the default.
	Go = "go"
	// XLA is the XLA/PJRT engine; it needs cgo and a PJRT plugin.
	XLA = "xla"
)

// Names lists the valid engine names.
func Names() []string { return []string{Go, XLA} }

// Config selects and configures an engine.
type Config struct {
	Name    string // "go" (default, the adapter over simplego) or "xla"
	Plugin  string // for xla: absolute path to a PJRT plugin .so, or a plugin name
	Threads int    // for go: worker goroutines; 0 = runtime.NumCPU()
}

// name is the normalized engine name, "go" when unset.
func (c Config) name() string {
	n := strings.ToLower(strings.TrimSpace(c.Name))
	if n == "" {
		return Go
	}
	return n
}

// String describes the configuration for logs. Settings that the selected
// engine ignores are left out so the line says what actually runs.
func (c Config) String() string {
	switch n := c.name(); n {
	case Go:
		if c.Threads == 0 {
			return fmt.Sprintf("engine=go threads=%d (all cores)", runtime.NumCPU())
		}
		return fmt.Sprintf("engine=go threads=%d", c.Threads)
	case XLA:
		plugin := c.Plugin
		if plugin == "" {
			plugin = "(none)"
		}
		return fmt.Sprintf("engine=xla plugin=%s", plugin)
	default:
		return fmt.Sprintf("engine=%q (invalid)", c.Name)
	}
}

// New creates the backend for cfg. Plugin is ignored by "go" and Threads by
// "xla" (PJRT manages its own threads).
func New(cfg Config) (backends.Backend, error) {
	switch n := cfg.name(); n {
	case Go:
		return newGo(cfg)
	case XLA:
		return newXLA(cfg)
	default:
		return nil, fmt.Errorf("engine: unknown engine %q, valid engines are %s", cfg.Name, strings.Join(quoted(Names()), ", "))
	}
}

// PureEnv names the environment variable that, set to "pure", makes engine
// "go" use the adapter alone even where the native CPU kernels are built in
// (for comparisons).
const PureEnv = "TFRUN_CPU"

func newGo(cfg Config) (backends.Backend, error) {
	if cfg.Threads < 0 {
		return nil, fmt.Errorf("engine go: threads must be >= 0 (0 = all cores), got %d", cfg.Threads)
	}
	if os.Getenv(PureEnv) != "pure" && cpu.Native() {
		be, err := cpu.New(cfg.Threads)
		if err != nil {
			return nil, fmt.Errorf("engine go: %w", err)
		}
		return be, nil
	}
	config := ""
	if cfg.Threads > 0 {
		// The adapter maps 1 to simplego's deadlock-free single-threaded mode.
		config = fmt.Sprintf("parallelism=%d", cfg.Threads)
	}
	be, err := adapter.New(config)
	if err != nil {
		return nil, fmt.Errorf("engine go: %w", err)
	}
	return be, nil
}

func quoted(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = fmt.Sprintf("%q", n)
	}
	return out
}
