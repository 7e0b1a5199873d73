//go:build cgo

package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every failure must be an error naming the problem and how to fix it, with
// no backend returned: "xla" never falls back to "go".
func TestXLAWithoutUsablePlugin(t *testing.T) {
	dir := t.TempDir()
	notELF := filepath.Join(dir, "pjrt_c_api_fake_plugin.so")
	if err := os.WriteFile(notELF, []byte("not a shared library"), 0o644); err != nil {
		t.Fatal(err)
	}
	emptyDir := t.TempDir()
	cases := []struct {
		name, plugin string
		want         []string
	}{
		{"no plugin", "", []string{"no PJRT plugin", "--plugin", "never downloads"}},
		{"missing file", "/x/y.so", []string{"no PJRT plugin at /x/y.so", "never downloads"}},
		{"missing relative file", "plugins/pjrt_c_api_cpu_plugin.so", []string{"no PJRT plugin at /", "plugins/pjrt_c_api_cpu_plugin.so"}},
		{"unknown name", "no_such_plugin_name", []string{`"no_such_plugin_name"`, "never downloads"}},
		{"directory without plugin", emptyDir, []string{"no PJRT plugin in directory", emptyDir}},
		{"file that fails to load", notELF, []string{"loading PJRT plugin", notELF}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			be, err := New(Config{Name: "xla", Plugin: tc.plugin})
			if err == nil || be != nil {
				t.Fatalf("New(xla, %q) = %v, %v; want an error and no backend", tc.plugin, be, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q should contain %q", err, w)
				}
			}
		})
	}
}
