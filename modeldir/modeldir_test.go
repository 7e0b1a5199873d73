package modeldir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/datasets"
	"github.com/tfrun/tfrun/infer"
	"github.com/tfrun/tfrun/models"
	"github.com/tfrun/tfrun/tfgraph/adapter"
)

func saved(t *testing.T) (string, *models.Model, *context.Context) {
	t.Helper()
	m, err := models.FromZoo("convnet", []int{12, 12, 1}, 4)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	m.Init(ctx, 3)
	dir := filepath.Join(t.TempDir(), "model")
	if err := Save(dir, m, ctx, Inputs{Preprocess: datasets.Preprocess{Scale: 255}}); err != nil {
		t.Fatal(err)
	}
	return dir, m, ctx
}

// TestReloadIsBitIdentical checks that a saved and reloaded model gives
// exactly the same predictions, bit for bit.
func TestReloadIsBitIdentical(t *testing.T) {
	dir, m, ctx := saved(t)
	ld, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if ld.Meta.Preprocess.Scale != 255 {
		t.Errorf("preprocess scale %g after reload", ld.Meta.Preprocess.Scale)
	}
	backend, err := adapter.New("")
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 3*12*12)
	for i := range x {
		x[i] = float32(i%17) / 17
	}
	r1, err := infer.NewRunner(backend, m, ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := infer.NewRunner(backend, ld.Model, ld.Ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	p1, err := r1.Predict(x, 3)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := r2.Predict(x, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range p1 {
		if p1[i] != p2[i] {
			t.Fatalf("prediction %d: %g before saving, %g after reload", i, p1[i], p2[i])
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

func TestLoadErrors(t *testing.T) {
	dir, _, _ := saved(t)
	weights := filepath.Join(dir, weightsFile)
	meta := filepath.Join(dir, metaFile)
	good, _ := os.ReadFile(weights)
	goodMeta, _ := os.ReadFile(meta)
	for _, tc := range []struct {
		name   string
		break_ func()
		want   string
	}{
		{"truncated weights", func() { os.WriteFile(weights, good[:len(good)/2], 0o644) }, weights},
		{"flipped byte", func() {
			b := append([]byte{}, good...)
			// npz stores arrays uncompressed; flip a byte well inside the data.
			b[len(b)/2] ^= 0xff
			os.WriteFile(weights, b, 0o644)
		}, weights},
		{"missing weights", func() { os.Remove(weights) }, weights},
		{"bad format", func() {
			os.WriteFile(meta, []byte(strings.Replace(string(goodMeta), Format, "tfrun-model/99", 1)), 0o644)
		}, "tfrun-model/99"},
		{"unknown layer", func() { os.WriteFile(meta, []byte(strings.Replace(string(goodMeta), "conv2d:", "lambda:", 1)), 0o644) }, `unknown layer kind "lambda"`},
		{"not a model", func() { os.Remove(meta) }, "not a tfrun model folder"},
	} {
		os.WriteFile(weights, good, 0o644)
		os.WriteFile(meta, goodMeta, 0o644)
		tc.break_()
		_, err := Load(dir)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
}
