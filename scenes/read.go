package scenes

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/tfrun/tfrun/datasets"
	"github.com/tfrun/tfrun/pipeline"
	"github.com/tfrun/tfrun/pipeline/augment"
	"github.com/tfrun/tfrun/raster"
)

// chipReader holds one goroutine's handles: GDAL datasets are not safe
// for concurrent use.
type chipReader struct {
	img, lab *raster.File
}

// readerPool hands each worker a chipReader, opening one only when all
// are busy, so there are never more than there are workers.
type readerPool struct {
	mu   sync.Mutex
	free []*chipReader
	open func() (*chipReader, error)
}

func (p *readerPool) get() (*chipReader, error) {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		r := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return r, nil
	}
	p.mu.Unlock()
	return p.open()
}

func (p *readerPool) put(r *chipReader) {
	p.mu.Lock()
	p.free = append(p.free, r)
	p.mu.Unlock()
}

func (p *readerPool) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for _, r := range p.free {
		errs = append(errs, r.img.Close(), r.lab.Close())
	}
	p.free = nil
	return errors.Join(errs...)
}

func (s *Scene) openReader() (*chipReader, error) {
	img, err := raster.Open(s.Image)
	if err != nil {
		return nil, err
	}
	lab, err := raster.Open(s.LabelRaster)
	if err != nil {
		img.Close()
		return nil, err
	}
	return &chipReader{img: img, lab: lab}, nil
}

// read prepares rectangle r of the scene into x [r.H, r.W, OutBands] and
// its class ids into y [r.H, r.W]; pixels that are invalid in the image
// are ignored (-1).
func (s *Scene) read(rd *chipReader, r Rect, x []float32, y []int32) error {
	win, err := rd.img.ReadWindow(r.X, r.Y, r.W, r.H)
	if err != nil {
		return err
	}
	px, valid, err := s.Prep.Apply(win, r.W*r.H, s.Info.Bands)
	if err != nil {
		return fmt.Errorf("%s: %v", s.Image, err)
	}
	copy(x, px)
	lw, err := rd.lab.ReadWindow(r.X, r.Y, r.W, r.H)
	if err != nil {
		return err
	}
	s.Prep.Labels.Code(lw, s.labelNoData, y)
	for i, ok := range valid {
		if !ok {
			y[i] = -1
		}
	}
	return nil
}

// settleClasses counts the label values in the region and fixes the
// classes (Prep.Labels) and their pixel counts.
func (s *Scene) settleClasses(cfg Config) error {
	lf, err := raster.Open(s.LabelRaster)
	if err != nil {
		return err
	}
	defer lf.Close()
	li := lf.Info()
	if li.Bands != 1 {
		return fmt.Errorf("%s: labels need one band, this has %d", cfg.Labels, li.Bands)
	}
	s.labelNoData = li.NoData[0]
	if nd := s.labelNoData; nd != nil && float64(int(*nd)) == *nd {
		if _, named := cfg.Classes[int(*nd)]; named {
			return fmt.Errorf("%s: classes name value %g, which the label raster marks as nodata", cfg.Labels, *nd)
		}
	}
	counts := map[int]int64{}
	r := s.Tiling.Region
	rows := max(1, maxReadValues/r.W)
	for y := r.Y; y < r.Y+r.H; y += rows {
		h := min(rows, r.Y+r.H-y)
		win, err := lf.ReadWindow(r.X, y, r.W, h)
		if err != nil {
			return err
		}
		for i, v := range win {
			f := float64(v)
			if math.IsNaN(f) || s.labelNoData != nil && f == *s.labelNoData {
				continue
			}
			if f != math.Trunc(f) {
				return fmt.Errorf("%s: label %g at column %d, row %d is not a whole number", cfg.Labels, f, r.X+i%r.W, y+i/r.W)
			}
			counts[int(f)]++
		}
	}
	remapped := map[int]int64{}
	l := &Labels{Remap: cfg.Remap}
	for v, n := range counts {
		remapped[l.remapped(v)] += n
	}
	if s.Prep.Labels, err = resolveLabels(cfg.Labels, cfg.Remap, cfg.Classes, remapped); err != nil {
		return err
	}
	for _, v := range s.Prep.Labels.Values {
		s.Counts = append(s.Counts, remapped[v])
	}
	return nil
}

// cache is the prepared region in memory.
type cache struct {
	r Rect
	x []float32
	y []int32
}

func (s *Scene) loadCache() (*cache, error) {
	r, nb := s.Tiling.Region, s.Prep.OutBands()
	c := &cache{r: r, x: make([]float32, r.W*r.H*nb), y: make([]int32, r.W*r.H)}
	rd, err := s.readers.get()
	if err != nil {
		return nil, err
	}
	defer s.readers.put(rd)
	rows := max(1, maxReadValues/(r.W*max(s.Info.Bands, nb)))
	for y := r.Y; y < r.Y+r.H; y += rows {
		h := min(rows, r.Y+r.H-y)
		i := (y - r.Y) * r.W
		if err := s.read(rd, Rect{r.X, y, r.W, h}, c.x[i*nb:(i+r.W*h)*nb], c.y[i:i+r.W*h]); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// chip fills x and y with chip c, from the cache or the files.
func (s *Scene) chip(c Chip, x []float32, y []int32) error {
	n, nb := s.Tiling.Size, s.Prep.OutBands()
	if m := s.cache; m != nil {
		for row := range n {
			i := (c.Y-m.r.Y+row)*m.r.W + c.X - m.r.X
			copy(x[row*n*nb:(row+1)*n*nb], m.x[i*nb:(i+n)*nb])
			copy(y[row*n:(row+1)*n], m.y[i:i+n])
		}
	} else {
		rd, err := s.readers.get()
		if err != nil {
			return err
		}
		err = s.read(rd, Rect{c.X, c.Y, n, n}, x, y)
		s.readers.put(rd)
		if err != nil {
			return err
		}
	}
	c.Copy.apply(x, y, n, nb)
	return nil
}

// Sources serves the training chips (augmented as the config asks) and
// the validation chips (nil when the split holds none out) in batches
// [N, window, window, OutBands] with labels [N, window, window].
func (s *Scene) Sources() (train, val datasets.Source, err error) {
	shape := []int{s.Tiling.Size, s.Tiling.Size, s.Prep.OutBands()}
	if train, err = s.source(s.Train, shape, s.opt); err != nil {
		return nil, nil, err
	}
	if len(s.Validation) == 0 {
		return train, nil, nil
	}
	plain := s.opt
	plain.Augment = augment.Config{}
	val, err = s.source(s.Validation, shape, plain)
	return train, val, err
}

func (s *Scene) source(chips []Chip, shape []int, opt pipeline.Options) (datasets.Source, error) {
	chips = slices.Clone(chips)
	l, err := pipeline.NewLoader(len(chips), shape, opt, func(i int, x []float32, y []int32) error {
		return s.chip(chips[i], x, y)
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %v", s.Image, err)
	}
	return l, nil
}
