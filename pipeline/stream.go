package pipeline

import (
	"errors"
	"fmt"
	"iter"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/tfrun/tfrun/datasets"
	"github.com/tfrun/tfrun/pipeline/augment"
)

// Options set how a source prepares its batches.
type Options struct {
	// Augment is applied to every example, drawn from
	// augment.RNG(Seed, epoch, index).
	Augment augment.Config `yaml:"augment,omitempty"`
	// Seed also shuffles the split (see SplitConfig).
	Seed uint64 `yaml:"seed,omitempty"`
	// Workers is the number of goroutines that decode and augment; 0 means
	// half the CPUs (at least one), leaving the rest to the model.
	Workers int `yaml:"workers,omitempty"`
	// Prefetch is how many batches are prepared ahead of the consumer;
	// 0 means 2.
	Prefetch int `yaml:"prefetch,omitempty"`
}

func (o Options) validate() error {
	if o.Workers < 0 || o.Prefetch < 0 {
		return fmt.Errorf("pipeline: workers %d, prefetch %d: want ≥ 0 (0 for the default)", o.Workers, o.Prefetch)
	}
	return o.Augment.Validate()
}

func (o Options) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return max(1, runtime.GOMAXPROCS(0)/2)
}

func (o Options) prefetch() int {
	if o.Prefetch > 0 {
		return o.Prefetch
	}
	return 2
}

// stream is the batch engine shared by Files and Memory: worker goroutines
// fill the examples of upcoming batches while the consumer trains on the
// current one.
type stream struct {
	n, h, w, c int
	opt        Options
	// load writes example i into x ([h, w, c]) and y ([h, w]). Workers
	// call it concurrently.
	load func(i int, x []float32, y []int32) error
}

func (s *stream) Len() int          { return s.n }
func (s *stream) InputShape() []int { return []int{s.h, s.w, s.c} }
func (s *stream) LabelShape() []int { return []int{s.h, s.w} }

// pending is a batch being filled by the workers.
type pending struct {
	batch *datasets.Batch
	left  atomic.Int32
	done  chan struct{}
	mu    sync.Mutex
	err   error
}

func (p *pending) finish(err error) {
	if err != nil {
		p.mu.Lock()
		if p.err == nil {
			p.err = err
		}
		p.mu.Unlock()
	}
	if p.left.Add(-1) == 0 {
		close(p.done)
	}
}

type job struct {
	p           *pending
	slot, index int
}

// Batches yields the examples at order (all, in index order, when nil) in
// batches of size, exactly in that order; the last batch may be smaller.
// At most Prefetch batches are prepared ahead, so memory does not grow with
// the dataset. A failed example ends the sequence with its error. When the
// consumer stops early, every goroutine has exited by the time the loop
// over Batches returns.
func (s *stream) Batches(epoch int, order []int, size int) iter.Seq2[*datasets.Batch, error] {
	return func(yield func(*datasets.Batch, error) bool) {
		n := s.n
		if order != nil {
			n = len(order)
			for k, i := range order {
				if i < 0 || i >= s.n {
					yield(nil, fmt.Errorf("pipeline: order[%d] = %d is outside the %d examples", k, i, s.n))
					return
				}
			}
		}
		if size < 1 {
			yield(nil, fmt.Errorf("pipeline: batch size %d", size))
			return
		}
		if n == 0 {
			return
		}
		// Each worker has its own transformer, for scratch space.
		trs := make([]*augment.Transformer, min(s.opt.workers(), n))
		if s.opt.Augment.Active() {
			for k := range trs {
				var err error
				if trs[k], err = augment.New(s.opt.Augment, s.h, s.w, s.c); err != nil {
					yield(nil, err)
					return
				}
			}
		}
		stop := make(chan struct{})
		queue := make(chan *pending, s.opt.prefetch())
		jobs := make(chan job)
		var wg sync.WaitGroup
		defer func() {
			close(stop)
			wg.Wait()
		}()

		wg.Go(func() {
			defer close(queue)
			defer close(jobs)
			px, py := s.h*s.w*s.c, s.h*s.w
			for from := 0; from < n; from += size {
				m := min(size, n-from)
				p := &pending{done: make(chan struct{})}
				p.left.Store(int32(m))
				select {
				case queue <- p:
				case <-stop:
					return
				}
				// Allocated only once queued, so memory holds at most
				// Prefetch batches beyond the consumer's.
				p.batch = &datasets.Batch{X: make([]float32, m*px), Y: make([]int32, m*py), N: m}
				for k := range m {
					i := from + k
					if order != nil {
						i = order[i]
					}
					select {
					case jobs <- job{p, k, i}:
					case <-stop:
						return
					}
				}
			}
		})
		for _, tr := range trs {
			wg.Go(func() { s.work(epoch, tr, jobs, stop) })
		}

		for p := range queue {
			<-p.done
			if p.err != nil {
				yield(nil, p.err)
				return
			}
			if !yield(p.batch, nil) {
				return
			}
		}
	}
}

func (s *stream) work(epoch int, tr *augment.Transformer, jobs <-chan job, stop <-chan struct{}) {
	px, py := s.h*s.w*s.c, s.h*s.w
	for {
		select {
		case <-stop:
			return
		case j, ok := <-jobs:
			if !ok {
				return
			}
			x, y := j.p.batch.X[j.slot*px:(j.slot+1)*px], j.p.batch.Y[j.slot*py:(j.slot+1)*py]
			err := s.load(j.index, x, y)
			if err == nil && tr != nil {
				tr.Apply(augment.RNG(s.opt.Seed, epoch, j.index), x, y)
			}
			j.p.finish(err)
		}
	}
}

// Files streams image/mask pairs from disk: each batch is decoded, resized
// and augmented by the workers while the previous one trains.
type Files struct {
	stream
	pairs []Pair
	dec   Decode
}

// NewFiles checks the pairs' headers (matching sizes, and the same size
// throughout unless dec.Size resizes) and returns a source over them.
func NewFiles(pairs []Pair, dec Decode, opt Options) (*Files, error) {
	if err := errors.Join(dec.validate(), opt.validate()); err != nil {
		return nil, err
	}
	if len(pairs) == 0 {
		return nil, errors.New("pipeline: no image/mask pairs")
	}
	dec, err := checkPairs(pairs, dec)
	if err != nil {
		return nil, err
	}
	return newFiles(pairs, dec, opt)
}

// newFiles is NewFiles for pairs already checked by checkPairs, which also
// settled dec.Size and dec.Channels.
func newFiles(pairs []Pair, dec Decode, opt Options) (*Files, error) {
	f := &Files{pairs: pairs, dec: dec}
	f.stream = stream{n: len(pairs), h: dec.Size[0], w: dec.Size[1], c: dec.Channels, opt: opt, load: f.load}
	if opt.Augment.Active() {
		if _, err := augment.New(opt.Augment, f.h, f.w, f.c); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Pairs lists the source's files in index order.
func (f *Files) Pairs() []Pair { return slices.Clone(f.pairs) }

func (f *Files) load(i int, x []float32, y []int32) error {
	p := f.pairs[i]
	img, err := f.dec.readImage(p.Image)
	if err != nil {
		return err
	}
	labels, mh, mw, err := f.dec.ReadMask(p.Mask)
	if err != nil {
		return err
	}
	// checkPairs has matched the sizes from the headers.
	resizeBilinear(x, f.h, f.w, img.Data, img.Shape[0], img.Shape[1], f.c)
	datasets.Preprocess{Scale: f.dec.Scale}.Apply(x)
	ResizeLabels(y, f.h, f.w, labels, mh, mw)
	return nil
}

// Load decodes every example (without augmentation) into memory, using
// the workers; the result augments as f would.
func (f *Files) Load() (*Memory, error) {
	plain := f.stream
	plain.opt.Augment = augment.Config{}
	px, py := f.h*f.w*f.c, f.h*f.w
	x, y := make([]float32, 0, f.n*px), make([]int32, 0, f.n*py)
	for b, err := range plain.Batches(0, nil, 16) {
		if err != nil {
			return nil, err
		}
		x, y = append(x, b.X...), append(y, b.Y...)
	}
	return NewMemory(x, y, f.InputShape(), f.opt)
}

// Memory is a source over preloaded images [N, H, W, C] and masks
// [N, H, W], for sets small enough to hold; it augments like Files.
type Memory struct {
	stream
	x []float32
	y []int32
}

// NewMemory returns a source over x and y, which it keeps (not copies);
// shape is [H, W, C]. Labels must be class ids or -1 (ignored).
func NewMemory(x []float32, y []int32, shape []int, opt Options) (*Memory, error) {
	if err := opt.validate(); err != nil {
		return nil, err
	}
	if len(shape) != 3 || shape[0] < 1 || shape[1] < 1 || shape[2] < 1 {
		return nil, fmt.Errorf("pipeline: memory source shape %v: want [H, W, C]", shape)
	}
	h, w, c := shape[0], shape[1], shape[2]
	n := len(y) / (h * w)
	if len(y) != n*h*w || len(x) != n*h*w*c {
		return nil, fmt.Errorf("pipeline: memory source: %d image and %d mask values do not make whole [N, %d, %d, %d] and [N, %d, %d] arrays", len(x), len(y), h, w, c, h, w)
	}
	if k := slices.IndexFunc(y, func(v int32) bool { return v < -1 }); k >= 0 {
		return nil, fmt.Errorf("pipeline: memory source: example %d has label %d; want class ids or -1", k/(h*w), y[k])
	}
	m := &Memory{x: x, y: y}
	m.stream = stream{n: n, h: h, w: w, c: c, opt: opt, load: m.load}
	if opt.Augment.Active() {
		if _, err := augment.New(opt.Augment, h, w, c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Memory) load(i int, x []float32, y []int32) error {
	copy(x, m.x[i*len(x):])
	copy(y, m.y[i*len(y):])
	return nil
}
