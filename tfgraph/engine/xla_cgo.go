//go:build cgo

package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/xla"
)

// Importing backends/xla registers it under GOMLX_BACKEND too, and its
// constructor downloads plugins by default: switch that off for the whole
// process, whoever ends up creating the backend.
func init() {
	xla.EnableAutoInstall(false)
}

const pluginHint = "set --plugin or engine.plugin to a pjrt_c_api_*_plugin.so; tfrun never downloads plugins"

func newXLA(cfg Config) (backends.Backend, error) {
	plugin := strings.TrimSpace(cfg.Plugin)
	if plugin == "" {
		return nil, fmt.Errorf("engine xla: no PJRT plugin given (%s)", pluginHint)
	}
	if isPath(plugin) {
		path, err := resolvePluginPath(plugin)
		if err != nil {
			return nil, err
		}
		plugin = path
	} else {
		available := xla.GetAvailablePlugins()
		if !slices.Contains(available, plugin) {
			return nil, fmt.Errorf("engine xla: no PJRT plugin named %q installed (found %q; %s)", plugin, available, pluginHint)
		}
	}
	be, err := xla.New(plugin)
	if err != nil {
		return nil, fmt.Errorf("engine xla: loading PJRT plugin %s: %w (%s)", plugin, err, pluginHint)
	}
	return be, nil
}

// isPath tells file paths from plugin names ("cpu", "cuda").
func isPath(plugin string) bool {
	return strings.ContainsRune(plugin, os.PathSeparator) || strings.HasSuffix(plugin, ".so") ||
		strings.HasSuffix(plugin, ".dylib") || plugin == "." || plugin == ".."
}

// resolvePluginPath returns the absolute path XLA needs to dlopen a plugin
// file. A directory is accepted when it holds exactly one plugin, since
// plugin directories (PJRT_PLUGIN_LIBRARY_PATH) are what users often have at hand.
func resolvePluginPath(plugin string) (string, error) {
	abs, err := filepath.Abs(plugin)
	if err != nil {
		return "", fmt.Errorf("engine xla: plugin path %q: %w", plugin, err)
	}
	info, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("engine xla: no PJRT plugin at %s (%s)", abs, pluginHint)
	}
	if !info.IsDir() {
		return abs, nil
	}
	matches, _ := filepath.Glob(filepath.Join(abs, "pjrt_c_api_*_plugin.*"))
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return "", fmt.Errorf("engine xla: no PJRT plugin in directory %s (%s)", abs, pluginHint)
	default:
		return "", fmt.Errorf("engine xla: several PJRT plugins in %s (%s), pick one with --plugin", abs,
			strings.Join(matches, ", "))
	}
}
