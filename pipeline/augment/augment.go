// Package augment draws random transforms for image/mask pairs with the
// semantics of Keras' ImageDataGenerator, which the course's segmentation
// exercise uses: rotation_range in degrees, zoom_range [1−z, 1+z] drawn
// independently per axis (values below 1 zoom in), shifts as fractions of
// the height and width, flips with probability ½, and fill_mode for the
// pixels a transform uncovers. It adds rot90, brightness, contrast and
// Gaussian noise.
//
// One geometric transform moves both the image (bilinear) and its mask
// (nearest neighbour), so every label stays on its pixel; photometric
// changes touch the image only. Each example draws from its own generator,
// RNG(seed, epoch, index), so results do not depend on which goroutine
// handles an example or when.
//
// In YAML:
//
//	augment: {hflip: true, vflip: true, rot90: true, rotation: 20, zoom: 0.1,
//	          shift: 0.1, brightness: 0.1, contrast: [0.8, 1.2], noise: 0.01,
//	          fill: reflect}
package augment

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gopkg.in/yaml.v3"
)

// Config selects the transforms; the zero value changes nothing.
type Config struct {
	HFlip bool `yaml:"hflip,omitempty"`
	VFlip bool `yaml:"vflip,omitempty"`
	// Rot90 turns by 0, 90, 180 or 270 degrees; it needs square images.
	Rot90 bool `yaml:"rot90,omitempty"`
	// Rotation is Keras' rotation_range: an angle drawn from ±Rotation degrees.
	Rotation float64 `yaml:"rotation,omitempty"`
	// Zoom is Keras' zoom_range: each axis is scaled by a factor drawn from
	// it, and factors below 1 magnify.
	Zoom Range `yaml:"zoom,omitempty"`
	// Shift is Keras' width_shift_range and height_shift_range together: a
	// fraction of the width and of the height, drawn from ±Shift per axis.
	Shift float64 `yaml:"shift,omitempty"`
	// Brightness multiplies the image by a factor drawn from it, as Keras'
	// brightness_range (without its clipping to 0..255, since inputs may be
	// scaled or not 8-bit).
	Brightness Range `yaml:"brightness,omitempty"`
	// Contrast moves each channel away from its mean by a factor drawn from
	// it, as tf.image.adjust_contrast.
	Contrast Range `yaml:"contrast,omitempty"`
	// Noise is the standard deviation of Gaussian noise added to the image,
	// in model-input units (after scaling).
	Noise float64 `yaml:"noise,omitempty"`
	// Fill is Keras' fill_mode: nearest (the default), reflect, wrap or
	// constant. Constant fills images with FillValue and masks with class 0,
	// as a Keras generator with the same seed does for a mask.
	Fill      string  `yaml:"fill,omitempty"`
	FillValue float64 `yaml:"fill_value,omitempty"`
}

// Range is a factor range [lo, hi]. YAML may give one number z for
// [1−z, 1+z], as Keras does for zoom_range.
type Range [2]float64

func (r *Range) UnmarshalYAML(n *yaml.Node) error {
	var z float64
	if err := n.Decode(&z); err == nil {
		*r = Range{1 - z, 1 + z}
		return nil
	}
	var two []float64
	if err := n.Decode(&two); err != nil || len(two) != 2 {
		return fmt.Errorf("line %d: want a number z (for [1-z, 1+z]) or [lo, hi]", n.Line)
	}
	*r = Range{two[0], two[1]}
	return nil
}

func (r Range) MarshalYAML() (any, error) { return []float64{r[0], r[1]}, nil }

// IsZero lets omitempty leave an unset range out of saved configs.
func (r Range) IsZero() bool { return r == Range{} }

// on reports a range that changes something: both the zero value (unset)
// and [1, 1] leave the image alone.
func (r Range) on() bool { return r != Range{} && r != Range{1, 1} }

func (r Range) draw(rng *rand.Rand) float64 { return r[0] + (r[1]-r[0])*rng.Float64() }

type fillMode int

const (
	fillNearest fillMode = iota
	fillReflect
	fillWrap
	fillConstant
)

func parseFill(s string) (fillMode, error) {
	switch s {
	case "", "nearest":
		return fillNearest, nil
	case "reflect":
		return fillReflect, nil
	case "wrap":
		return fillWrap, nil
	case "constant":
		return fillConstant, nil
	}
	return 0, fmt.Errorf("augment: fill %q: want nearest, reflect, wrap or constant", s)
}

// Validate reports settings that cannot be drawn from.
func (c Config) Validate() error {
	var errs []error
	if c.Rotation < 0 || math.IsNaN(c.Rotation) {
		errs = append(errs, fmt.Errorf("augment: rotation %g: want degrees ≥ 0", c.Rotation))
	}
	if !(c.Shift >= 0 && c.Shift < 1) {
		errs = append(errs, fmt.Errorf("augment: shift %g: want a fraction in [0, 1)", c.Shift))
	}
	if !(c.Noise >= 0) {
		errs = append(errs, fmt.Errorf("augment: noise %g: want a standard deviation ≥ 0", c.Noise))
	}
	for _, r := range []struct {
		name string
		r    Range
	}{{"zoom", c.Zoom}, {"brightness", c.Brightness}, {"contrast", c.Contrast}} {
		// A zero factor would collapse the image (zoom) or erase it.
		if r.r.on() && !(r.r[0] > 0 && r.r[0] <= r.r[1]) {
			errs = append(errs, fmt.Errorf("augment: %s %v: want factors 0 < lo ≤ hi", r.name, [2]float64(r.r)))
		}
	}
	if _, err := parseFill(c.Fill); err != nil {
		errs = append(errs, err)
	}
	if c.FillValue != 0 && c.Fill != "constant" {
		errs = append(errs, fmt.Errorf("augment: fill_value %g is only used with fill: constant", c.FillValue))
	}
	return errors.Join(errs...)
}

// Active reports whether c changes anything.
func (c Config) Active() bool { return c.geometric() || c.photometric() }

func (c Config) geometric() bool {
	return c.HFlip || c.VFlip || c.Rot90 || c.Rotation > 0 || c.Zoom.on() || c.Shift > 0
}

func (c Config) photometric() bool {
	return c.Brightness.on() || c.Contrast.on() || c.Noise > 0
}

// RNG is the generator for one example in one epoch. Deriving it from the
// example's identity, not from a shared stream, keeps augmentation
// reproducible however the examples are spread over goroutines.
func RNG(seed uint64, epoch, index int) *rand.Rand {
	return rand.New(rand.NewPCG(mix(seed^mix(uint64(epoch))), mix(uint64(index)+0x9e3779b97f4a7c15)))
}

// mix is splitmix64's finaliser: nearby inputs give unrelated outputs.
func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Transformer applies a Config to [H, W, C] images and [H, W] masks of one
// size. It keeps scratch space, so each goroutine needs its own.
type Transformer struct {
	cfg     Config
	fill    fillMode
	h, w, c int
	x       []float32
	y       []int32
}

// New returns a Transformer for images of h×w pixels with c channels.
func New(cfg Config, h, w, c int) (*Transformer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if h < 1 || w < 1 || c < 1 {
		return nil, fmt.Errorf("augment: image shape [%d, %d, %d]", h, w, c)
	}
	if cfg.Rot90 && h != w {
		return nil, fmt.Errorf("augment: rot90 needs square images, got %d×%d; resize them or drop rot90", h, w)
	}
	fill, _ := parseFill(cfg.Fill)
	t := &Transformer{cfg: cfg, fill: fill, h: h, w: w, c: c}
	if cfg.geometric() {
		t.x = make([]float32, h*w*c)
		t.y = make([]int32, h*w)
	}
	return t, nil
}

// geometry is one drawn geometric transform, in Keras' order: output
// pixels are flipped and turned, then zoomed, shifted and rotated about the
// centre to find where they come from in the input.
type geometry struct {
	theta        float64 // radians
	zr, zc       float64 // zoom factors for rows and columns
	tr, tc       float64 // shift in pixels
	vflip, hflip bool
	quarter      int // rot90 turns
}

func (t *Transformer) draw(rng *rand.Rand) geometry {
	g := geometry{zr: 1, zc: 1}
	c := t.cfg
	if c.Rotation > 0 {
		g.theta = (2*rng.Float64() - 1) * c.Rotation * math.Pi / 180
	}
	if c.Shift > 0 {
		g.tr = (2*rng.Float64() - 1) * c.Shift * float64(t.h)
		g.tc = (2*rng.Float64() - 1) * c.Shift * float64(t.w)
	}
	if c.Zoom.on() {
		g.zr, g.zc = c.Zoom.draw(rng), c.Zoom.draw(rng)
	}
	g.hflip = c.HFlip && rng.Float64() < 0.5
	g.vflip = c.VFlip && rng.Float64() < 0.5
	if c.Rot90 {
		g.quarter = rng.IntN(4)
	}
	return g
}

// Apply transforms the image x ([H, W, C]) and its mask y ([H, W], or nil)
// in place with draws from rng.
func (t *Transformer) Apply(rng *rand.Rand, x []float32, y []int32) {
	if len(x) != t.h*t.w*t.c || (y != nil && len(y) != t.h*t.w) {
		panic(fmt.Sprintf("augment: Apply got %d image and %d mask values for a %d×%d×%d transformer", len(x), len(y), t.h, t.w, t.c))
	}
	if t.cfg.geometric() {
		t.warp(t.draw(rng), x, y)
	}
	c := t.cfg
	if c.Brightness.on() {
		f := float32(c.Brightness.draw(rng))
		for i := range x {
			x[i] *= f
		}
	}
	if c.Contrast.on() {
		t.contrast(float32(c.Contrast.draw(rng)), x)
	}
	if c.Noise > 0 {
		for i := range x {
			x[i] += float32(c.Noise * rng.NormFloat64())
		}
	}
}

func (t *Transformer) contrast(f float32, x []float32) {
	for ch := range t.c {
		var sum float64
		for i := ch; i < len(x); i += t.c {
			sum += float64(x[i])
		}
		m := float32(sum / float64(t.h*t.w))
		for i := ch; i < len(x); i += t.c {
			x[i] = (x[i]-m)*f + m
		}
	}
}

// warp resamples x and y through g: every output pixel o comes from input
// position A·o + b.
func (t *Transformer) warp(g geometry, x []float32, y []int32) {
	// The output-side turn and flips act on centred coordinates, so they
	// are exact permutations when nothing else is drawn.
	d := [2][2]float64{{1, 0}, {0, 1}}
	for range g.quarter {
		d = [2][2]float64{{d[1][0], d[1][1]}, {-d[0][0], -d[0][1]}}
	}
	if g.vflip {
		d[0][0], d[0][1] = -d[0][0], -d[0][1]
	}
	if g.hflip {
		d[1][0], d[1][1] = -d[1][0], -d[1][1]
	}
	sin, cos := math.Sincos(g.theta)
	rot := [2][2]float64{{cos, -sin}, {sin, cos}}
	var a [2][2]float64
	for i := range 2 {
		for j := range 2 {
			a[i][j] = rot[i][0]*g.zr*d[0][j] + rot[i][1]*g.zc*d[1][j]
		}
	}
	// Keras centres on size/2 + 0.5, half a pixel off the grid's centre;
	// the true centre keeps a 90° rotation a permutation of pixels.
	cr, cc := float64(t.h-1)/2, float64(t.w-1)/2
	b := [2]float64{
		cr + rot[0][0]*g.tr + rot[0][1]*g.tc - a[0][0]*cr - a[0][1]*cc,
		cc + rot[1][0]*g.tr + rot[1][1]*g.tc - a[1][0]*cr - a[1][1]*cc,
	}

	copy(t.x, x)
	if y != nil {
		copy(t.y, y)
	}
	h, w, nc := t.h, t.w, t.c
	const eps = 1e-6
	cval := float32(t.cfg.FillValue)
	for r := range h {
		for c := range w {
			fr := a[0][0]*float64(r) + a[0][1]*float64(c) + b[0]
			fc := a[1][0]*float64(r) + a[1][1]*float64(c) + b[1]
			o := r*w + c
			dst := x[o*nc : o*nc+nc]
			if t.fill == fillConstant && (fr < -eps || fr > float64(h-1)+eps || fc < -eps || fc > float64(w-1)+eps) {
				for k := range dst {
					dst[k] = cval
				}
				if y != nil {
					y[o] = 0
				}
				continue
			}
			r0, c0 := math.Floor(fr), math.Floor(fc)
			wr, wc := float32(fr-r0), float32(fc-c0)
			ir0, ir1 := t.fill.index(int(r0), h), t.fill.index(int(r0)+1, h)
			ic0, ic1 := t.fill.index(int(c0), w), t.fill.index(int(c0)+1, w)
			p00, p01 := t.x[(ir0*w+ic0)*nc:], t.x[(ir0*w+ic1)*nc:]
			p10, p11 := t.x[(ir1*w+ic0)*nc:], t.x[(ir1*w+ic1)*nc:]
			for k := range dst {
				top := p00[k]*(1-wc) + p01[k]*wc
				bot := p10[k]*(1-wc) + p11[k]*wc
				dst[k] = top*(1-wr) + bot*wr
			}
			if y != nil {
				mr := t.fill.index(int(math.Floor(fr+0.5)), h)
				mc := t.fill.index(int(math.Floor(fc+0.5)), w)
				y[o] = t.y[mr*w+mc]
			}
		}
	}
}

// index maps a position outside [0, n) to the pixel the fill mode reads
// there: nearest repeats the edge (aaa|abcd|ddd), reflect mirrors about it
// (dcba|abcd|dcba), wrap tiles (abcd|abcd|abcd). Constant mode has already
// filled what lies outside, so only its interpolation neighbours arrive
// here and clamping is right for them.
func (m fillMode) index(i, n int) int {
	if uint(i) < uint(n) {
		return i
	}
	switch m {
	case fillReflect:
		p := 2 * n
		if i %= p; i < 0 {
			i += p
		}
		if i >= n {
			i = p - 1 - i
		}
		return i
	case fillWrap:
		if i %= n; i < 0 {
			i += n
		}
		return i
	}
	return min(max(i, 0), n-1)
}
