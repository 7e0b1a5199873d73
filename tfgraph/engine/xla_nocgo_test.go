//go:build !cgo

package engine

import (
	"errors"
	"testing"
)

func TestXLAWithoutCgo(t *testing.T) {
	for _, plugin := range []string{"", "/x/y.so", "cpu"} {
		be, err := New(Config{Name: "xla", Plugin: plugin})
		if !errors.Is(err, errNoCgo) || be != nil {
			t.Errorf("New(xla, %q) = %v, %v; want the no-cgo error", plugin, be, err)
		}
	}
}
