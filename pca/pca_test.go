package pca

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// reference is a PCA computed by scripts/pca_reference.py with numpy.
type reference struct {
	Data                   []float64   `json:"data"`
	N                      int         `json:"n"`
	Bands                  int         `json:"bands"`
	Mean                   []float64   `json:"mean"`
	Components             [][]float64 `json:"components"`
	ExplainedVariance      []float64   `json:"explained_variance"`
	ExplainedVarianceRatio []float64   `json:"explained_variance_ratio"`
}

func readReference(t *testing.T, name string) reference {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "pca", name))
	if err != nil {
		t.Fatal(err)
	}
	var r reference
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// sameUpToSign compares two axes, allowing one to be the other's negative.
func sameUpToSign(a, b []float64, tol float64) bool {
	var plus, minus float64
	for i := range a {
		plus = math.Max(plus, math.Abs(a[i]-b[i]))
		minus = math.Max(minus, math.Abs(a[i]+b[i]))
	}
	return math.Min(plus, minus) <= tol
}

func TestFitMatchesNumpy(t *testing.T) {
	ref := readReference(t, "synthetic.json")
	tr, err := Fit(ref.Data, ref.N, ref.Bands, len(ref.Components))
	if err != nil {
		t.Fatal(err)
	}
	for b, m := range ref.Mean {
		if math.Abs(tr.Mean[b]-m) > 1e-12 {
			t.Errorf("mean[%d] = %g, numpy %g", b, tr.Mean[b], m)
		}
	}
	for j := range ref.Components {
		if !sameUpToSign(tr.Components[j], ref.Components[j], 1e-8) {
			t.Errorf("component %d = %v, numpy %v (up to sign)", j+1, tr.Components[j], ref.Components[j])
		}
		if d := math.Abs(tr.ExplainedVarianceRatio[j] - ref.ExplainedVarianceRatio[j]); d > 1e-4 {
			t.Errorf("explained variance ratio %d = %g, numpy %g", j+1, tr.ExplainedVarianceRatio[j], ref.ExplainedVarianceRatio[j])
		}
		if d := math.Abs(tr.ExplainedVariance[j] - ref.ExplainedVariance[j]); d > 1e-9*ref.ExplainedVariance[0] {
			t.Errorf("explained variance %d = %g, numpy %g", j+1, tr.ExplainedVariance[j], ref.ExplainedVariance[j])
		}
	}
}

// TestFitByHand: four points on the axes, mean 0; the covariance (n−1) is
// diag(8/3, 2/3), so the axes are x then y with ratios 0.8 and 0.2.
func TestFitByHand(t *testing.T) {
	x := []float64{2, 0, -2, 0, 0, 1, 0, -1}
	tr, err := Fit(x, 4, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float64{{1, 0}, {0, 1}} // largest loading positive: the sign is fixed
	for j := range want {
		for b := range want[j] {
			if math.Abs(tr.Components[j][b]-want[j][b]) > 1e-12 {
				t.Fatalf("components %v, want %v", tr.Components, want)
			}
		}
	}
	for j, v := range []float64{8.0 / 3, 2.0 / 3} {
		if math.Abs(tr.ExplainedVariance[j]-v) > 1e-12 {
			t.Errorf("variance %d = %g, want %g", j+1, tr.ExplainedVariance[j], v)
		}
	}
	if math.Abs(tr.ExplainedVarianceRatio[0]-0.8) > 1e-12 || math.Abs(tr.ExplainedVarianceRatio[1]-0.2) > 1e-12 {
		t.Errorf("ratios %v, want [0.8 0.2]", tr.ExplainedVarianceRatio)
	}
	got := tr.Apply([]float32{3, -1, 2, 0}, 2)
	for i, v := range []float32{3, -1, 2, 0} {
		if math.Abs(float64(got[i]-v)) > 1e-6 {
			t.Fatalf("Apply = %v, want the points themselves", got)
		}
	}
}

// TestSignIsDeterministic: negating the data flips numpy's eigenvectors at
// random, never ours.
func TestSignIsDeterministic(t *testing.T) {
	ref := readReference(t, "synthetic.json")
	neg := make([]float64, len(ref.Data))
	for i, v := range ref.Data {
		neg[i] = -v
	}
	a, err := Fit(ref.Data, ref.N, ref.Bands, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Fit(neg, ref.N, ref.Bands, 3)
	if err != nil {
		t.Fatal(err)
	}
	for j := range a.Components {
		big := 0
		for i, v := range a.Components[j] {
			if math.Abs(v) > math.Abs(a.Components[j][big]) {
				big = i
			}
			if math.Abs(v-b.Components[j][i]) > 1e-9 {
				t.Fatalf("component %d differs between x and −x: %v vs %v", j+1, a.Components[j], b.Components[j])
			}
		}
		if a.Components[j][big] <= 0 {
			t.Errorf("component %d: largest loading %g is not positive", j+1, a.Components[j][big])
		}
	}
	// The projection of the data has a mean of zero and the fitted variances.
	x32 := make([]float32, len(ref.Data))
	for i, v := range ref.Data {
		x32[i] = float32(v)
	}
	y := a.Apply(x32, ref.N)
	for j := range 3 {
		var s, ss float64
		for i := range ref.N {
			v := float64(y[i*3+j])
			s += v
			ss += v * v
		}
		if mean := s / float64(ref.N); math.Abs(mean) > 1e-4 {
			t.Errorf("component %d scores have mean %g", j+1, mean)
		}
		if v := ss / float64(ref.N-1); math.Abs(v-a.ExplainedVariance[j]) > 1e-4*math.Max(1, v) {
			t.Errorf("component %d scores have variance %g, fitted %g", j+1, v, a.ExplainedVariance[j])
		}
	}
}

func TestYAMLAndBadInput(t *testing.T) {
	ref := readReference(t, "synthetic.json")
	tr, err := Fit(ref.Data, ref.N, ref.Bands, 2)
	if err != nil {
		t.Fatal(err)
	}
	text, err := yaml.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	var back Transform
	if err := yaml.Unmarshal(text, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.Validate(); err != nil {
		t.Fatal(err)
	}
	if back.InBands() != 5 || back.OutBands() != 2 || back.Samples != ref.N {
		t.Fatalf("reloaded %d→%d fitted on %d, want 5→2 on %d", back.InBands(), back.OutBands(), back.Samples, ref.N)
	}
	for j := range tr.Components {
		for b := range tr.Components[j] {
			if back.Components[j][b] != tr.Components[j][b] {
				t.Fatalf("component %d band %d: %v after reload, %v before", j, b, back.Components[j][b], tr.Components[j][b])
			}
		}
	}
	damaged := Transform{Mean: []float64{1, 2}, Components: [][]float64{{1, 0, 0}}, ExplainedVariance: []float64{1}, ExplainedVarianceRatio: []float64{1}}
	if err := damaged.Validate(); err == nil || !strings.Contains(err.Error(), "component 1 has 3 loadings") {
		t.Errorf("inconsistent transform: %v", err)
	}
	damaged.Components[0] = []float64{math.NaN(), 1}
	if err := damaged.Validate(); err == nil || !strings.Contains(err.Error(), "non-finite") {
		t.Errorf("NaN loading: %v", err)
	}
	for _, tc := range []struct {
		data        []float64
		n, bands, k int
		mention     string
	}{
		{ref.Data, ref.N, ref.Bands, 6, "6 components asked of 5 bands"},
		{ref.Data[:5], 1, 5, 1, "at least 2"},
		{ref.Data, ref.N, 4, 1, "values for"},
		{make([]float64, 10), 5, 2, 1, "identical"},
	} {
		if _, err := Fit(tc.data, tc.n, tc.bands, tc.k); err == nil || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("Fit(n=%d, bands=%d, k=%d): %v, want %q", tc.n, tc.bands, tc.k, err, tc.mention)
		}
	}
}
