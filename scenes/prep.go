// Package scenes turns a georeferenced scene and its labels into training
// chips: it fits and saves the raster preprocessing (Prep), lines label
// rasters and vector layers up with the scene's grid, cuts the scene into
// chips by window and stride inside a column/row region, splits them into
// training and validation by spatial blocks, and serves them as
// datasets.Source read on the fly, or writes them as GeoTIFF tiles.
package scenes

import (
	"fmt"
	"math"
	"slices"

	"github.com/tfrun/tfrun/pca"
	"gopkg.in/yaml.v3"
)

// Prep is the fitted raster preprocessing, saved with a model so that
// prediction and evaluation repeat exactly what training did. Its steps
// run in a fixed order: select bands, gain and offset to physical values,
// PCA, per-band percentile clip, divide by Scale; pixels that are nodata
// in any selected band (or NaN) are invalid and come out as zeros.
type Prep struct {
	// FittedOn is the raster the statistics came from, for messages.
	FittedOn string `yaml:"fitted_on,omitempty"`
	// InputBands is the band count every raster given to Apply must have.
	InputBands int `yaml:"input_bands"`
	// Bands are the 1-based input bands used, in order.
	Bands []int `yaml:"bands,flow"`
	// NoData maps a 1-based input band to its nodata value.
	NoData map[int]float64 `yaml:"nodata,omitempty"`
	// Gain and Offset turn stored values into physical ones:
	// gain·v + offset (a gain of 0 stands for 1).
	Gain   float64 `yaml:"gain,omitempty"`
	Offset float64 `yaml:"offset,omitempty"`
	// PCA projects the physical values onto principal components fitted
	// on valid pixels of the training region.
	PCA *pca.Transform `yaml:"pca,omitempty"`
	// Clip holds the fitted percentile bounds of each band after PCA.
	Clip *Clip `yaml:"clip,omitempty"`
	// Scale divides the clipped values (the course's 10000); 0 keeps them.
	Scale float64 `yaml:"scale,omitempty"`
	// Labels says how label values become class ids.
	Labels *Labels `yaml:"labels,omitempty"`
}

// Clip is a per-band clip to percentiles fitted on a sample of valid
// pixels.
type Clip struct {
	Percentiles [2]float64 `yaml:"percentiles,flow"`
	Low         []float32  `yaml:"low,flow"`
	High        []float32  `yaml:"high,flow"`
}

// InBands is the band count a raster needs for this preprocessing.
func (p *Prep) InBands() int { return p.InputBands }

// OutBands is the channel count Apply produces, the model's input depth.
func (p *Prep) OutBands() int {
	if p.PCA != nil {
		return p.PCA.OutBands()
	}
	return len(p.Bands)
}

// CheckBands tells whether the raster at path, with bands bands, suits p.
func (p *Prep) CheckBands(path string, bands int) error {
	if bands == p.InputBands {
		return nil
	}
	fitted := ""
	if p.FittedOn != "" {
		fitted = " (" + p.FittedOn + ")"
	}
	return fmt.Errorf("%s has %d bands, but the model's preprocessing was fitted on a %d-band raster%s", path, bands, p.InputBands, fitted)
}

// Apply prepares n pixels of bands samples each ([n, bands], as
// raster.File.ReadWindow gives them) and returns [n, OutBands()] values and
// which pixels are valid.
func (p *Prep) Apply(pixels []float32, n, bands int) ([]float32, []bool, error) {
	if bands != p.InputBands {
		return nil, nil, fmt.Errorf("scenes: %d input bands, the preprocessing was fitted on %d", bands, p.InputBands)
	}
	if len(pixels) != n*bands {
		return nil, nil, fmt.Errorf("scenes: %d samples are not %d pixels of %d bands", len(pixels), n, bands)
	}
	phys, valid := p.physical(pixels, n)
	out := p.finish(phys, n)
	nb := p.OutBands()
	for i, ok := range valid {
		if !ok {
			clear(out[i*nb : (i+1)*nb])
		}
	}
	return out, valid, nil
}

// physical selects the bands, applies gain and offset, and flags invalid
// pixels: the steps before any fitted statistic.
func (p *Prep) physical(pixels []float32, n int) ([]float32, []bool) {
	gain := p.Gain
	if gain == 0 {
		gain = 1
	}
	nb := len(p.Bands)
	out := make([]float32, n*nb)
	valid := make([]bool, n)
	for i := range n {
		px := pixels[i*p.InputBands : (i+1)*p.InputBands]
		ok := true
		for k, b := range p.Bands {
			v := px[b-1]
			if nd, has := p.NoData[b]; math.IsNaN(float64(v)) || has && float64(v) == nd {
				ok = false
			}
			out[i*nb+k] = float32(gain*float64(v) + p.Offset)
		}
		valid[i] = ok
	}
	return out, valid
}

// finish applies the fitted steps to physical values [n, len(Bands)].
func (p *Prep) finish(x []float32, n int) []float32 {
	if p.PCA != nil {
		x = p.PCA.Apply(x, n)
	}
	nb := p.OutBands()
	if c := p.Clip; c != nil {
		for i := range n {
			for k := range nb {
				x[i*nb+k] = min(max(x[i*nb+k], c.Low[k]), c.High[k])
			}
		}
	}
	if p.Scale != 0 {
		s := float32(p.Scale)
		for i := range x {
			x[i] /= s
		}
	}
	return x
}

// UnmarshalYAML checks a Prep read from a file, so that a damaged
// model.yaml fails with a message rather than an index panic.
func (p *Prep) UnmarshalYAML(n *yaml.Node) error {
	type plain Prep
	if err := n.Decode((*plain)(p)); err != nil {
		return err
	}
	return p.validate()
}

func (p *Prep) validate() error {
	nb := p.OutBands()
	switch {
	case p.InputBands < 1 || len(p.Bands) == 0:
		return fmt.Errorf("raster preprocessing: input_bands %d, bands %v: want at least one band", p.InputBands, p.Bands)
	case slices.ContainsFunc(p.Bands, func(b int) bool { return b < 1 || b > p.InputBands }):
		return fmt.Errorf("raster preprocessing: bands %v: want 1-based bands of the %d inputs", p.Bands, p.InputBands)
	case p.PCA != nil && p.PCA.InBands() != len(p.Bands):
		return fmt.Errorf("raster preprocessing: the PCA was fitted on %d bands, %d are selected", p.PCA.InBands(), len(p.Bands))
	case p.Clip != nil && (len(p.Clip.Low) != nb || len(p.Clip.High) != nb):
		return fmt.Errorf("raster preprocessing: clip has %d low and %d high values for %d bands", len(p.Clip.Low), len(p.Clip.High), nb)
	}
	if p.PCA != nil {
		return p.PCA.Validate()
	}
	return nil
}
