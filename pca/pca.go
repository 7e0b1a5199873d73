// Package pca reduces many spectral bands to a few principal components:
// a transform fitted once on a sample of pixels, saved as YAML with a
// model, and applied to every pixel after.
package pca

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// Transform projects centred pixels onto the leading principal axes.
type Transform struct {
	// Mean is the per-band mean of the fitting sample, subtracted first.
	Mean []float64 `yaml:"mean"`
	// Components holds one unit axis per row ([components][bands]), in
	// decreasing order of variance. Each axis is signed so that its
	// largest-magnitude loading is positive: eigenvectors are defined only
	// up to sign, and a refit must give the same image, not its negative.
	Components [][]float64 `yaml:"components"`
	// ExplainedVariance is the sample variance along each axis (n−1
	// denominator, as numpy.cov and scikit-learn).
	ExplainedVariance []float64 `yaml:"explained_variance"`
	// ExplainedVarianceRatio is each axis's share of the total variance
	// of all bands, kept or not.
	ExplainedVarianceRatio []float64 `yaml:"explained_variance_ratio"`
	// Samples is how many pixels the transform was fitted on.
	Samples int `yaml:"samples"`
}

// Fit computes the transform of samples, n pixels of bands values each,
// row-major, keeping the given number of components.
func Fit(samples []float64, n, bands, components int) (*Transform, error) {
	switch {
	case bands <= 0 || n <= 0:
		return nil, fmt.Errorf("pca: no samples (%d pixels of %d bands)", n, bands)
	case len(samples) != n*bands:
		return nil, fmt.Errorf("pca: %d values for %d pixels of %d bands", len(samples), n, bands)
	case n < 2:
		return nil, fmt.Errorf("pca: one pixel has no variance; fit on at least 2")
	case components <= 0 || components > bands:
		return nil, fmt.Errorf("pca: %d components asked of %d bands (want 1 to %d)", components, bands, bands)
	}
	mean := make([]float64, bands)
	for i := range n {
		for b, v := range samples[i*bands : (i+1)*bands] {
			mean[b] += v
		}
	}
	for b := range mean {
		mean[b] /= float64(n)
	}
	centred := mat.NewDense(n, bands, nil)
	for i := range n {
		row := centred.RawRowView(i)
		for b, v := range samples[i*bands : (i+1)*bands] {
			row[b] = v - mean[b]
		}
	}
	// Covariance through a symmetric rank-k update: half the work of a
	// general product, and exactly symmetric for the eigensolver.
	cov := mat.NewSymDense(bands, nil)
	cov.SymOuterK(1/float64(n-1), centred.T())
	var eig mat.EigenSym
	if !eig.Factorize(cov, true) {
		return nil, fmt.Errorf("pca: the eigendecomposition of the %d×%d covariance did not converge", bands, bands)
	}
	values := eig.Values(nil)
	var vectors mat.Dense
	eig.VectorsTo(&vectors)
	order := make([]int, bands)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return values[order[a]] > values[order[b]] })
	var total float64
	for _, v := range values {
		total += max(v, 0) // rounding can leave tiny negative eigenvalues
	}
	if total == 0 {
		return nil, fmt.Errorf("pca: all %d sampled pixels are identical; nothing to reduce", n)
	}
	t := &Transform{Mean: mean, Samples: n}
	for _, j := range order[:components] {
		axis := mat.Col(nil, j, &vectors)
		orient(axis)
		v := max(values[j], 0)
		t.Components = append(t.Components, axis)
		t.ExplainedVariance = append(t.ExplainedVariance, v)
		t.ExplainedVarianceRatio = append(t.ExplainedVarianceRatio, v/total)
	}
	return t, nil
}

// orient flips axis so that its largest-magnitude loading is positive;
// ties go to the first band.
func orient(axis []float64) {
	big := 0
	for i, v := range axis {
		if math.Abs(v) > math.Abs(axis[big]) {
			big = i
		}
	}
	if axis[big] < 0 {
		for i := range axis {
			axis[i] = -axis[i]
		}
	}
}

// InBands is the band count the transform was fitted on, which every input
// must have.
func (t *Transform) InBands() int { return len(t.Mean) }

// OutBands is the number of components Apply produces.
func (t *Transform) OutBands() int { return len(t.Components) }

// Apply projects n pixels of InBands values ([n, bands] row-major) to
// [n, OutBands]. A length that does not match is a programming error, so
// it panics; check InBands against the input raster first.
func (t *Transform) Apply(in []float32, n int) []float32 {
	bands, k := t.InBands(), t.OutBands()
	if len(in) != n*bands {
		panic(fmt.Sprintf("pca: Apply got %d values for %d pixels of %d bands", len(in), n, bands))
	}
	out := make([]float32, n*k)
	centred := make([]float64, bands)
	for i := range n {
		for b, v := range in[i*bands : (i+1)*bands] {
			centred[b] = float64(v) - t.Mean[b]
		}
		for j, axis := range t.Components {
			var s float64
			for b, w := range axis {
				s += centred[b] * w
			}
			out[i*k+j] = float32(s)
		}
	}
	return out
}

// Validate checks a transform read from a file: consistent sizes and
// finite numbers, so that a damaged file fails on load, not mid-image.
func (t *Transform) Validate() error {
	bands := t.InBands()
	if bands == 0 || t.OutBands() == 0 {
		return fmt.Errorf("pca transform: empty (%d bands, %d components)", bands, t.OutBands())
	}
	if len(t.ExplainedVariance) != t.OutBands() || len(t.ExplainedVarianceRatio) != t.OutBands() {
		return fmt.Errorf("pca transform: %d components but %d explained variances and %d ratios",
			t.OutBands(), len(t.ExplainedVariance), len(t.ExplainedVarianceRatio))
	}
	for j, axis := range t.Components {
		if len(axis) != bands {
			return fmt.Errorf("pca transform: component %d has %d loadings, the mean has %d bands", j+1, len(axis), bands)
		}
		for _, v := range axis {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("pca transform: component %d has a non-finite loading", j+1)
			}
		}
	}
	for _, v := range t.Mean {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("pca transform: the mean has a non-finite value")
		}
	}
	return nil
}
