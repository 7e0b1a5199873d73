// Package samples builds training labels semi-automatically: seed pixels
// a person marks are grown over spectrally similar neighbours, and the
// grown regions become a label raster to review and train on.
package samples

import (
	"container/heap"
	"fmt"
	"math"
	"slices"
)

// Image is a grid of per-pixel feature vectors: spectra for the spectral
// angle, principal components for distances.
type Image struct {
	Width, Height, Dim int
	// Values is [Height, Width, Dim] row-major.
	Values []float32
	// Valid marks pixels that hold data; nil means all do. Regions never
	// enter an invalid pixel.
	Valid []bool
}

// Seed is one marked region: the pixels a person drew and their class.
type Seed struct {
	// Name identifies the seed in messages ("feature 3", "seed raster
	// pixel (10, 4)").
	Name  string
	Class int32
	// Pixels are indices row·Width + col into the image.
	Pixels []int
}

// Metrics are the similarity measures Grow accepts.
var Metrics = []string{"angle", "distance"}

// Options steer the growth.
type Options struct {
	// Metric is "angle" (spectral angle in radians between a pixel and
	// its region's mean spectrum, blind to brightness) or "distance"
	// (Euclidean distance to the region's mean vector).
	Metric string
	// Threshold is the largest angle or distance a pixel may have to
	// join a region.
	Threshold float64
	// MaxSize caps each region's pixel count, seeds included; 0 is no cap.
	MaxSize int
	// Connectivity is 4 (edge neighbours) or 8 (edges and corners).
	Connectivity int
}

func (o Options) validate() error {
	switch {
	case !slices.Contains(Metrics, o.Metric):
		return fmt.Errorf("metric %q: want angle or distance", o.Metric)
	case !(o.Threshold > 0) || math.IsInf(o.Threshold, 0):
		return fmt.Errorf("threshold %g: want a positive number", o.Threshold)
	case o.Metric == "angle" && o.Threshold >= math.Pi:
		return fmt.Errorf("threshold %g: a spectral angle is in radians, below π", o.Threshold)
	case o.MaxSize < 0:
		return fmt.Errorf("max size %d: want ≥ 0 (0: no cap)", o.MaxSize)
	case o.Connectivity != 4 && o.Connectivity != 8:
		return fmt.Errorf("connectivity %d: want 4 or 8", o.Connectivity)
	}
	return nil
}

// Region is the outcome for one seed.
type Region struct {
	Seed *Seed
	// Size is the number of pixels labelled by this region, seeds included.
	Size int
	// Full tells whether growth stopped at MaxSize rather than at the
	// threshold.
	Full bool
}

// region is a growing region's running state.
type region struct {
	seed *Seed
	sum  []float64 // sum of member vectors (unit vectors for the angle)
	size int
	full bool
}

// candidate is a pixel a region may take, keyed by its distance to the
// region's mean when it was queued.
type candidate struct {
	dist   float64
	pixel  int
	region int
}

type queue []candidate

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	a, b := q[i], q[j]
	if a.dist != b.dist {
		return a.dist < b.dist
	}
	if a.pixel != b.pixel {
		return a.pixel < b.pixel
	}
	return a.region < b.region
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(candidate)) }
func (q *queue) Pop() any {
	old := *q
	c := old[len(old)-1]
	*q = old[:len(old)-1]
	return c
}

// Grow labels the image by seeded region growing (after Adams and
// Bischof, 1994): all regions grow at once, always by the most similar
// pixel next to any of them, so that where two regions meet the pixel
// goes to the closer one and the result does not depend on seed order.
// Similarity is measured to the region's running mean, which steadies it
// against a noisy seed pixel. It returns one class per pixel (0 where no
// region reached) and each seed's region.
func Grow(img Image, seeds []Seed, o Options) ([]int32, []Region, error) {
	if err := o.validate(); err != nil {
		return nil, nil, err
	}
	n := img.Width * img.Height
	if len(img.Values) != n*img.Dim || img.Dim == 0 || img.Valid != nil && len(img.Valid) != n {
		return nil, nil, fmt.Errorf("samples: %d values and %d validity flags for %d×%d pixels of %d features",
			len(img.Values), len(img.Valid), img.Width, img.Height, img.Dim)
	}
	g := &grower{img: img, opt: o, labels: make([]int32, n), owner: make([]int32, n)}
	g.vec = img.Values
	if o.Metric == "angle" {
		g.vec = unitVectors(img)
	}
	for i := range g.owner {
		g.owner[i] = -1
	}
	for i := range seeds {
		if err := g.plant(&seeds[i], int32(i)); err != nil {
			return nil, nil, err
		}
	}
	g.grow()
	out := make([]Region, len(g.regions))
	for i, r := range g.regions {
		out[i] = Region{Seed: r.seed, Size: r.size, Full: r.full}
	}
	return g.labels, out, nil
}

type grower struct {
	img     Image
	opt     Options
	vec     []float32 // features, or unit spectra for the angle
	labels  []int32
	owner   []int32 // region index per pixel, −1 when free
	regions []*region
	q       queue
}

// unitVectors scales each spectrum to unit length, so that the angle to
// a region is the angle to the sum of its members' unit spectra.
func unitVectors(img Image) []float32 {
	d := img.Dim
	out := make([]float32, len(img.Values))
	for p := range img.Width * img.Height {
		v := img.Values[p*d : (p+1)*d]
		var ss float64
		for _, x := range v {
			ss += float64(x) * float64(x)
		}
		if ss == 0 {
			continue // a zero spectrum has no direction and joins nothing
		}
		s := 1 / math.Sqrt(ss)
		for k, x := range v {
			out[p*d+k] = float32(float64(x) * s)
		}
	}
	return out
}

func (g *grower) valid(p int) bool { return g.img.Valid == nil || g.img.Valid[p] }

// plant labels a seed's pixels and queues their neighbours.
func (g *grower) plant(s *Seed, id int32) error {
	if s.Class <= 0 {
		return fmt.Errorf("%s: class %d; classes must be ≥ 1, 0 marks unlabelled pixels in the output", s.Name, s.Class)
	}
	r := &region{seed: s, sum: make([]float64, g.img.Dim)}
	g.regions = append(g.regions, r)
	for _, p := range s.Pixels {
		if p < 0 || p >= len(g.labels) {
			return fmt.Errorf("%s: pixel %d is outside the %d×%d image", s.Name, p, g.img.Width, g.img.Height)
		}
		if !g.valid(p) || g.owner[p] >= 0 {
			continue // nodata, or already claimed by an earlier seed
		}
		g.take(p, id)
	}
	if r.size == 0 {
		return fmt.Errorf("%s: none of its %d pixels holds data (all nodata or taken by earlier seeds)", s.Name, len(s.Pixels))
	}
	for _, p := range s.Pixels {
		if g.owner[p] == id {
			g.queueNeighbours(p, id)
		}
	}
	return nil
}

// take gives pixel p to region id.
func (g *grower) take(p int, id int32) {
	r := g.regions[id]
	g.owner[p] = id
	g.labels[p] = r.seed.Class
	d := g.img.Dim
	for k, v := range g.vec[p*d : (p+1)*d] {
		r.sum[k] += float64(v)
	}
	r.size++
	if g.opt.MaxSize > 0 && r.size >= g.opt.MaxSize {
		r.full = true
	}
}

// dist is pixel p's angle or distance to region r's mean.
func (g *grower) dist(p int, r *region) float64 {
	d := g.img.Dim
	v := g.vec[p*d : (p+1)*d]
	if g.opt.Metric == "angle" {
		var dot, norm float64
		for k, x := range v {
			dot += float64(x) * r.sum[k]
			norm += r.sum[k] * r.sum[k]
		}
		if norm == 0 {
			return math.Pi
		}
		// The pixel is a unit vector (or zero); clamp rounding past ±1.
		return math.Acos(max(-1, min(1, dot/math.Sqrt(norm))))
	}
	var ss float64
	n := float64(r.size)
	for k, x := range v {
		e := float64(x) - r.sum[k]/n
		ss += e * e
	}
	return math.Sqrt(ss)
}

var (
	edges   = [][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}}
	corners = [][2]int{{1, 1}, {1, -1}, {-1, 1}, {-1, -1}}
)

func (g *grower) queueNeighbours(p int, id int32) {
	r := g.regions[id]
	if r.full {
		return
	}
	w, h := g.img.Width, g.img.Height
	x, y := p%w, p/w
	steps := edges
	if g.opt.Connectivity == 8 {
		steps = slices.Concat(edges, corners)
	}
	for _, s := range steps {
		nx, ny := x+s[0], y+s[1]
		if nx < 0 || ny < 0 || nx >= w || ny >= h {
			continue
		}
		q := ny*w + nx
		if g.owner[q] >= 0 || !g.valid(q) {
			continue
		}
		if d := g.dist(q, r); d <= g.opt.Threshold {
			heap.Push(&g.q, candidate{dist: d, pixel: q, region: int(id)})
		}
	}
}

// grow takes the most similar queued pixel until none is left. A queued
// distance is stale once its region has grown; the pixel is then requeued
// at its current distance, so that pixels still join in order.
func (g *grower) grow() {
	for g.q.Len() > 0 {
		c := heap.Pop(&g.q).(candidate)
		r := g.regions[c.region]
		if g.owner[c.pixel] >= 0 || r.full {
			continue
		}
		d := g.dist(c.pixel, r)
		if d > g.opt.Threshold {
			continue
		}
		if d > c.dist+1e-12 {
			heap.Push(&g.q, candidate{dist: d, pixel: c.pixel, region: c.region})
			continue
		}
		g.take(c.pixel, int32(c.region))
		g.queueNeighbours(c.pixel, int32(c.region))
	}
}
