package mapping

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/tfrun/tfrun/internal/dims"
)

// Stats describes one run over a sheet.
type Stats struct {
	// Windows is the number of windows laid over the sheet, Inferred those
	// sent to the engine; the others held no data.
	Windows, Inferred int
	// Pixels is the number of output pixels, Valid those with data.
	Pixels, Valid int64
	// Predict is the time spent in the engine.
	Predict time.Duration
}

// entry is one window of a batch: slot is its place in the batch's input,
// −1 for a window skipped for holding no data.
type entry struct {
	r, c, slot int
	valid      []bool
}

// batch is windows on their way through the engine.
type batch struct {
	entries []entry
	x       []float32 // [Batch, winH, winW, channels]
	n       int       // windows in x
	probs   []float32 // the engine's outputs, as probabilities
}

// Run predicts over src with sliding windows and hands sink each finished
// strip, top to bottom. Reading, batching, the engine, blending and sink
// run as concurrent stages joined by small bounded queues; the first error
// stops them all.
func Run(ctx context.Context, src Source, p Predictor, m ModelInfo, opt Options, sink func(*Strip) error) (Stats, error) {
	in := src.Info()
	if err := m.validate(); err != nil {
		return Stats{}, err
	}
	if want := m.InBands(); in.Bands != want && !m.grey(in.Bands) {
		return Stats{}, fmt.Errorf("has %d bands, the model takes %d", in.Bands, want)
	}
	if opt.Batch < 1 {
		return Stats{}, fmt.Errorf("batch %d: want ≥ 1 windows", opt.Batch)
	}
	if m.IsMap() && !slices.Contains(Blends, opt.Blend) {
		return Stats{}, fmt.Errorf("blend %q: want center, average or gaussian", opt.Blend)
	}
	l, err := newLayout(in.Width, in.Height, m.Input[1], m.Input[0], opt.Overlap)
	if err != nil {
		return Stats{}, err
	}
	pl := &pipeline{src: src, p: p, m: m, opt: opt, l: l, k: m.Classes()}
	if m.IsMap() {
		pl.w = blendWeights(opt.Blend, l)
		pl.blend = newMapBlend(l, pl.k, pl.w)
		pl.stats.Pixels = int64(in.Width) * int64(in.Height)
	} else {
		pl.w = weights{region: l.cell()}
		pl.blend = newCellBlend(l, pl.k)
		pl.stats.Pixels = int64(l.cols) * int64(l.rows)
	}
	pl.stats.Windows = l.cols * l.rows
	err = pl.run(ctx, sink)
	return pl.stats, err
}

type pipeline struct {
	src   Source
	p     Predictor
	m     ModelInfo
	opt   Options
	l     layout
	k     int
	w     weights
	blend blender
	stats Stats
}

var errStageExited = errors.New("a pipeline stage exited without returning")

// batchesInFlight bounds memory: one batch filling, one queued, one in
// the engine, one queued, one blending.
const batchesInFlight = 5

func (pl *pipeline) run(parent context.Context, sink func(*Strip) error) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	var wg sync.WaitGroup
	stage := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A stage that exits without returning (runtime.Goexit, as a
			// sink calling t.Fatal does) must still stop the others, or
			// they wait on it forever.
			err := errStageExited
			defer func() {
				if err != nil {
					cancel(err)
				}
			}()
			err = f()
		}()
	}
	free := make(chan *batch, batchesInFlight)
	for range batchesInFlight {
		free <- &batch{x: make([]float32, pl.opt.Batch*dims.Product(pl.m.Input))}
	}
	// Bands and strips span the sheet's width, so they are handed over
	// without a queue: the reader reads the next band while the current one
	// is cut, the blender blends while the last strip is written. Batches,
	// small, queue so that the engine never waits.
	bands := make(chan *band)
	filled := make(chan *batch, 1)
	inferred := make(chan *batch, 1)
	strips := make(chan *Strip)
	br := newBandReader(pl.src, pl.l, pl.m.Raster == nil)
	stage(func() error { return pl.read(ctx, br, bands) })
	stage(func() error { return pl.pack(ctx, br, bands, free, filled) })
	stage(func() error { return pl.infer(ctx, filled, inferred) })
	stage(func() error { return pl.blendAll(ctx, inferred, free, strips) })
	stage(func() error {
		for s := range strips {
			if ctx.Err() != nil {
				continue // drain: the blender stops at the next send
			}
			if err := sink(s); err != nil {
				return err
			}
		}
		return nil
	})
	wg.Wait()
	if err := context.Cause(ctx); err != nil && err != context.Canceled {
		return err
	}
	return parent.Err()
}

// send passes v on unless the run has stopped.
func send[T any](ctx context.Context, ch chan<- T, v T) bool {
	select {
	case ch <- v:
		return true
	case <-ctx.Done():
		return false
	}
}

// receive takes the next value, or reports the end of the queue or of the
// run.
func receive[T any](ctx context.Context, ch <-chan T) (T, bool) {
	select {
	case v, ok := <-ch:
		return v, ok
	case <-ctx.Done():
		var zero T
		return zero, false
	}
}

func (pl *pipeline) read(ctx context.Context, br *bandReader, out chan<- *band) error {
	defer close(out)
	for r := range pl.l.rows {
		b, err := br.read(r)
		if err != nil {
			return err
		}
		if !send(ctx, out, b) {
			return nil
		}
	}
	return nil
}

// pack cuts windows out of bands into batches, leaving out windows whose
// contributing region holds no data.
func (pl *pipeline) pack(ctx context.Context, br *bandReader, in <-chan *band, free <-chan *batch, out chan<- *batch) error {
	defer close(out)
	prep := newPreparer(pl.m, pl.src.Info(), pl.l)
	ct := &cutter{l: pl.l, bands: pl.src.Info().Bands}
	size := dims.Product(pl.m.Input)
	var cur *batch
	var prev *band
	for {
		b, ok := receive(ctx, in)
		if !ok {
			break
		}
		if prev != nil {
			br.release(prev)
		}
		prev = b
		for c := range pl.l.cols {
			if cur == nil {
				if cur, ok = receive(ctx, free); !ok {
					return nil
				}
				cur.entries, cur.n = cur.entries[:0], 0
			}
			e := entry{r: b.r, c: c, slot: -1}
			x := cur.x[cur.n*size : (cur.n+1)*size]
			valid := make([]bool, pl.l.winW*pl.l.winH)
			ct.cut(b, c, prep.raw(x), valid)
			if err := prep.apply(x, valid); err != nil {
				return err
			}
			if anyIn(valid, pl.l.winW, pl.w.region) {
				e.slot, e.valid = cur.n, valid
				cur.n++
			}
			cur.entries = append(cur.entries, e)
			if cur.n == pl.opt.Batch {
				if !send(ctx, out, cur) {
					return nil
				}
				cur = nil
			}
		}
	}
	if cur != nil && ctx.Err() == nil {
		send(ctx, out, cur)
	}
	return nil
}

// infer runs the engine on full batches only, the last one padded with
// stale windows whose outputs are dropped: one compiled shape serves the
// whole run.
func (pl *pipeline) infer(ctx context.Context, in <-chan *batch, out chan<- *batch) error {
	defer close(out)
	for {
		b, ok := receive(ctx, in)
		if !ok {
			return nil
		}
		b.probs = nil
		if b.n > 0 {
			start := time.Now()
			y, err := pl.p.Predict(b.x, pl.opt.Batch)
			pl.stats.Predict += time.Since(start)
			if err != nil {
				return err
			}
			if want := pl.opt.Batch * dims.Product(pl.m.Output); len(y) != want {
				return fmt.Errorf("the engine gave %d outputs for %d windows of output shape %v", len(y), pl.opt.Batch, pl.m.Output)
			}
			b.probs = pl.probabilities(y[:b.n*dims.Product(pl.m.Output)])
			pl.stats.Inferred += b.n
		}
		if !send(ctx, out, b) {
			return nil
		}
	}
}

// probabilities turns outputs into k class probabilities per pixel (or
// per window): a single channel becomes (1−p, p), logits go through a
// sigmoid or a softmax.
func (pl *pipeline) probabilities(y []float32) []float32 {
	ch := pl.m.Output[len(pl.m.Output)-1]
	act := pl.m.Activation
	if ch == 1 {
		out := make([]float32, 2*len(y))
		for i, v := range y {
			if act != "sigmoid" {
				v = float32(1 / (1 + math.Exp(-float64(v))))
			}
			out[2*i], out[2*i+1] = 1-v, v
		}
		return out
	}
	if act == "softmax" || act == "sigmoid" {
		return y
	}
	for i := 0; i < len(y); i += ch {
		softmax(y[i : i+ch])
	}
	return y
}

func softmax(v []float32) {
	top := v[0]
	for _, x := range v {
		top = max(top, x)
	}
	var sum float64
	for i, x := range v {
		e := math.Exp(float64(x - top))
		v[i] = float32(e)
		sum += e
	}
	for i := range v {
		v[i] = float32(float64(v[i]) / sum)
	}
}

// blendAll folds batches into the blender in window order, passing on
// each strip as soon as it is final.
func (pl *pipeline) blendAll(ctx context.Context, in <-chan *batch, free chan<- *batch, out chan<- *Strip) error {
	defer close(out)
	outSize := pl.k
	if pl.m.IsMap() {
		outSize *= pl.l.winW * pl.l.winH
	}
	row := -1
	flush := func(r int) bool {
		if pl.opt.Progress != nil && r > 0 {
			pl.opt.Progress(r, pl.l.rows)
		}
		s := pl.blend.rowsBefore(r)
		if s == nil {
			return true
		}
		for _, v := range s.Valid {
			if v {
				pl.stats.Valid++
			}
		}
		return send(ctx, out, s)
	}
	for {
		b, ok := receive(ctx, in)
		if !ok {
			break
		}
		for _, e := range b.entries {
			if e.r != row {
				row = e.r
				if !flush(row) {
					return nil
				}
			}
			if e.slot >= 0 {
				pl.blend.add(e.r, e.c, b.probs[e.slot*outSize:(e.slot+1)*outSize], e.valid)
			}
		}
		free <- b
	}
	if ctx.Err() == nil {
		flush(pl.l.rows)
	}
	return nil
}
