package datasets

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tfrun/tfrun/inputs"
)

func TestNPYSourceAndSplit(t *testing.T) {
	dir := t.TempDir()
	x := &inputs.Array{Shape: []int{10, 2, 3}, Data: make([]float32, 60)}
	for i := range x.Data {
		x.Data[i] = float32(i)
	}
	y := &inputs.Array{Shape: []int{10}, Data: []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}}
	xp, yp := filepath.Join(dir, "x.npy"), filepath.Join(dir, "y.npy")
	if err := inputs.SaveNPY(xp, x); err != nil {
		t.Fatal(err)
	}
	if err := inputs.SaveNPY(yp, y); err != nil {
		t.Fatal(err)
	}
	a, err := Load("npy:"+xp+","+yp, Preprocess{Scale: 2})
	if err != nil {
		t.Fatal(err)
	}
	if a.N != 10 || len(a.Shape) != 3 || a.Shape[2] != 1 || a.X[59] != 29.5 {
		t.Fatalf("loaded N %d shape %v last %g", a.N, a.Shape, a.X[59])
	}
	tr, val, err := a.SplitLast(0.3)
	if err != nil {
		t.Fatal(err)
	}
	if tr.N != 7 || val.N != 3 || val.Y[0] != 7 || val.X[0] != 21 {
		t.Errorf("split: train %d, val %d starting at label %d value %g", tr.N, val.N, val.Y[0], val.X[0])
	}
	for sub, err := range a.Batches(0, []int{9, 0}, 2) {
		if err != nil || sub.N != 2 || sub.Y[0] != 9 || sub.X[0] != 27 || sub.X[6] != 0 {
			t.Errorf("batch of examples 9, 0: %v %v (%v)", sub.Y, sub.X, err)
		}
	}

	bad := &inputs.Array{Shape: []int{10}, Data: []float32{0, 1, 2.5, 3, 4, 5, 6, 7, 8, 9}}
	bp := filepath.Join(dir, "bad.npy")
	inputs.SaveNPY(bp, bad)
	if _, err := Load("npy:"+xp+","+bp, Preprocess{}); err == nil || !strings.Contains(err.Error(), bp) {
		t.Errorf("fractional label: error %v does not name %s", err, bp)
	}
	for _, src := range []string{"mnist", "mnist:validation", "csv:x", "npy:" + xp} {
		if _, err := Load(src, Preprocess{}); err == nil {
			t.Errorf("source %q: no error", src)
		}
	}
	if _, _, err := a.SplitLast(1.5); err == nil {
		t.Error("split 1.5: no error")
	}
}
