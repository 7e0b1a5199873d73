//go:build !cgo

package engine

import (
	"errors"

	"github.com/gomlx/gomlx/backends"
)

// errNoCgo is returned for "xla" in cgo-less builds: PJRT plugins are C
// libraries loaded with dlopen.
var errNoCgo = errors.New("engine xla: this binary was built without cgo; xla needs cgo " +
	"(rebuild with CGO_ENABLED=1, or use --engine go)")

func newXLA(Config) (backends.Backend, error) { return nil, errNoCgo }
