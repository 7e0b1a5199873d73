// Package maptest serves the tests of mapping's subpackages: the shared
// data set, and a real model (a seeded random zoo model on the go engine).
package maptest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/infer"
	"github.com/tfrun/tfrun/mapping"
	"github.com/tfrun/tfrun/models"
	"github.com/tfrun/tfrun/tfgraph/engine"
)

// Runner builds zoo model name with random weights (seed 3), and describes
// it for mapping as a model trained on 8-bit images (scale 255). The
// engine is released when the test ends.
func Runner(t testing.TB, name string, input []int, classes int, opts map[string]any) (*infer.Runner, mapping.ModelInfo) {
	t.Helper()
	m, err := models.FromZooWith(name, input, classes, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	m.Init(ctx, 3)
	backend, err := engine.New(engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(backend.Finalize)
	r, err := infer.NewRunner(backend, m, ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	return r, mapping.ModelInfo{Input: m.Input.Shape, Output: m.Output.Shape, Activation: m.OutputActivation(), Scale: 255}
}

// Shared returns a file of the project's shared data set, for a test
// running two folders below the repository root, skipping the test where
// the data set is absent.
func Shared(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "data", filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared data %s not available (needs ../shared next to the repository): %v", rel, err)
	}
	return p
}
