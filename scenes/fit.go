package scenes

import (
	"errors"
	"fmt"
	"math"

	"github.com/tfrun/tfrun/pca"
	"github.com/tfrun/tfrun/raster"
)

// PrepConfig is the raster preprocessing a run config asks for; FitPrep
// turns it into a fitted Prep.
type PrepConfig struct {
	// Bands are the 1-based bands to use ("1-10,12" or a list); all when empty.
	Bands BandList `yaml:"bands,omitempty"`
	// BadBands are dropped from Bands (a cube's water-absorption bands).
	BadBands BandList `yaml:"bad_bands,omitempty"`
	// NoData overrides the raster's own nodata value for every band.
	NoData *float64 `yaml:"nodata,omitempty"`
	// Gain and Offset give physical values, gain·v + offset.
	Gain   float64 `yaml:"gain,omitempty"`
	Offset float64 `yaml:"offset,omitempty"`
	// PCA is the number of principal components to keep (0: no PCA),
	// fitted on valid pixels of the region.
	PCA int `yaml:"pca,omitempty"`
	// Clip is [low, high] percentiles to clip each band to, fitted on
	// valid pixels ([0.01, 99.99] in the course).
	Clip []float64 `yaml:"clip,flow,omitempty"`
	// Scale divides the values after clipping (10000 in the course).
	Scale float64 `yaml:"scale,omitempty"`
	// Sample caps the pixels the statistics are fitted on (default
	// 1,000,000, taken on a regular grid); fewer when many bands would
	// make the sample exceed 16 M values.
	Sample int `yaml:"sample,omitempty"`
}

const (
	defaultSample = 1_000_000
	// maxSampleValues bounds the fitting sample's memory (64 MiB).
	maxSampleValues = 16 << 20
	// maxReadValues bounds one window read while sampling.
	maxReadValues = 4 << 20
)

// Rect is a pixel rectangle: columns [X, X+W) and rows [Y, Y+H).
type Rect struct{ X, Y, W, H int }

func (r Rect) String() string {
	return fmt.Sprintf("columns %d-%d, rows %d-%d", r.X, r.X+r.W-1, r.Y, r.Y+r.H-1)
}

func (c PrepConfig) validate() error {
	var errs []error
	if len(c.Clip) != 0 && (len(c.Clip) != 2 || !(0 <= c.Clip[0] && c.Clip[0] < c.Clip[1] && c.Clip[1] <= 100)) {
		errs = append(errs, fmt.Errorf("clip %v: want [low, high] percentiles with 0 ≤ low < high ≤ 100", c.Clip))
	}
	if !(c.Scale >= 0) || math.IsInf(c.Scale, 0) {
		errs = append(errs, fmt.Errorf("scale %g: want a positive divisor, or 0 for none", c.Scale))
	}
	if c.PCA < 0 {
		errs = append(errs, fmt.Errorf("pca %d: want a number of components ≥ 1, or 0 for none", c.PCA))
	}
	if c.Sample < 0 {
		errs = append(errs, fmt.Errorf("sample %d: want a pixel count ≥ 0 (0 for the default)", c.Sample))
	}
	return errors.Join(errs...)
}

// FitPrep fits the preprocessing cfg asks for on the valid pixels of
// region r of the raster f (opened from path); only that region is read,
// so statistics never see pixels held out of training.
func FitPrep(f *raster.File, path string, r Rect, cfg PrepConfig) (*Prep, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	info := f.Info()
	sel, err := selectBands(info.Bands, cfg.Bands, cfg.BadBands)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	p := &Prep{FittedOn: path, InputBands: info.Bands, Bands: sel, Gain: cfg.Gain, Offset: cfg.Offset, Scale: cfg.Scale}
	for _, b := range sel {
		nd := info.NoData[b-1]
		if cfg.NoData != nil {
			nd = cfg.NoData
		}
		if nd != nil {
			if p.NoData == nil {
				p.NoData = map[int]float64{}
			}
			p.NoData[b] = *nd
		}
	}
	if len(cfg.Clip) == 0 && cfg.PCA == 0 {
		return p, nil
	}
	sample, n, err := p.sample(f, path, r, cfg.Sample)
	if err != nil {
		return nil, err
	}
	if cfg.PCA > 0 {
		wide := make([]float64, len(sample))
		for i, v := range sample {
			wide[i] = float64(v)
		}
		if p.PCA, err = pca.Fit(wide, n, len(sel), cfg.PCA); err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		sample = p.PCA.Apply(sample, n)
	}
	if len(cfg.Clip) == 0 {
		return p, nil
	}
	nb := p.OutBands()
	c := &Clip{Percentiles: [2]float64{cfg.Clip[0], cfg.Clip[1]}}
	col := make([]float32, n)
	for k := range nb {
		for i := range n {
			col[i] = sample[i*nb+k]
		}
		c.Low = append(c.Low, percentile(col, cfg.Clip[0]))
		c.High = append(c.High, sortedPercentile(col, cfg.Clip[1]))
	}
	p.Clip = c
	return p, nil
}

// sample reads valid pixels of r on a regular grid, at most limit of them
// (0: the default), as physical values [n, len(Bands)].
func (p *Prep) sample(f *raster.File, path string, r Rect, limit int) ([]float32, int, error) {
	if limit == 0 {
		limit = defaultSample
	}
	nb, in := len(p.Bands), p.InputBands
	limit = max(1, min(limit, maxSampleValues/nb))
	step := max(1, int(math.Ceil(math.Sqrt(float64(r.W)*float64(r.H)/float64(limit)))))
	// Consecutive rows are read together only when every row is sampled.
	chunk := 1
	if step == 1 {
		chunk = max(1, maxReadValues/(r.W*in))
	}
	var sample []float32
	n := 0
	picked := make([]float32, 0, (r.W/step+1)*in)
	for y := r.Y; y < r.Y+r.H; y += step * chunk {
		h := min(chunk, r.Y+r.H-y)
		win, err := f.ReadWindow(r.X, y, r.W, h)
		if err != nil {
			return nil, 0, err
		}
		for row := range h {
			picked = picked[:0]
			for x := 0; x < r.W; x += step {
				i := (row*r.W + x) * in
				picked = append(picked, win[i:i+in]...)
			}
			phys, valid := p.physical(picked, len(picked)/in)
			for i, ok := range valid {
				if ok {
					sample = append(sample, phys[i*nb:(i+1)*nb]...)
					n++
				}
			}
		}
	}
	if n == 0 {
		return nil, 0, fmt.Errorf("%s: no valid pixel in %s to fit the preprocessing on (all nodata)", path, r)
	}
	return sample, n, nil
}
