//go:build tensorflow

package tf

import (
	"math"
	"strings"
	"testing"
)

// These tests need libtensorflow to link (go test -tags tensorflow, as in
// the image of Dockerfile.gpu); without it they are only type-checked, by
// go vet -tags tensorflow.

func TestPredictAndExport(t *testing.T) {
	m, err := Load(halfPlusTwo, "")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	check := func(m *Model, what string) {
		t.Helper()
		y, err := m.Predict([]float32{0, 1, -4}, 3)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []float32{2, 2.5, 0} {
			if math.Abs(float64(y[i]-want)) > 1e-6 {
				t.Errorf("%s: y[%d] = %g, want %g (0.5·x + 2)", what, i, y[i], want)
			}
		}
	}
	check(m, "loaded")
	if _, err := m.TrainStep([]float32{1}, []int32{0}, 1); err == nil || !strings.Contains(err.Error(), TrainSignature) {
		t.Errorf("train step on a model without one: error %v", err)
	}
	if _, err := m.Predict([]float32{1, 2}, 3); err == nil {
		t.Error("3 examples of 2 values: no error")
	}

	out := t.TempDir()
	if err := m.Export(out); err != nil {
		t.Fatal(err)
	}
	again, err := Load(out, "")
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	check(again, "exported")
	if err := m.Export(halfPlusTwo); err == nil {
		t.Error("export onto the model's own folder: no error")
	}
}
