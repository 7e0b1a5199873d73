package cpu

import (
	"slices"
	"sync"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// bufCache keeps the buffers an execution is done with, and those its
// caller finalizes (a train step's old weights and optimizer state), for
// the next step or execution that needs one of the same shape. The adapter
// pools its buffers too, but in sync.Pools, which every garbage collection
// empties, so their memory came back as fresh pages at about 12 µs a page:
// a DeepLabV3+-ResNet50 train step (batch 4) took some 100k page faults
// that caching avoids. Cached buffers survive collections.
//
// Buffers wait under their shape, so a free buffer of one shape does not
// serve another. The cache holds as many bytes as an execution has held
// of each shape at once, summed over the shapes, and at least twice what
// it held at once in all: then every step of the next such execution finds
// its buffer. (With twice the peak alone, a U-Net inference, which passes
// through its shapes in turn, faulted in a third of its buffers afresh at
// every batch.) The process's peak memory still fell (5.8 to 5.0 GB for
// that train step), as the garbage the pools left behind is gone. A buffer
// that does not fit goes back to the adapter.
type bufCache struct {
	mu     sync.Mutex
	free   map[shapeKey][]backends.Buffer
	bytes  int64
	limit  int64
	misses int // takes that found no buffer
}

// shapeKey is a shape as a map key; shapes of higher rank are not cached.
type shapeKey struct {
	dtype dtypes.DType
	rank  int
	dims  [6]int
}

func keyOfShape(s shapes.Shape) (shapeKey, bool) {
	k := shapeKey{dtype: s.DType, rank: s.Rank()}
	if k.rank > len(k.dims) {
		return k, false
	}
	copy(k.dims[:], s.Dimensions)
	return k, true
}

func newBufCache() *bufCache {
	return &bufCache{free: make(map[shapeKey][]backends.Buffer)}
}

// raise lets the cache hold at least limit bytes.
func (c *bufCache) raise(limit int64) {
	c.mu.Lock()
	c.limit = max(c.limit, limit)
	c.mu.Unlock()
}

// take returns a cached buffer of the shape, or nil.
func (c *bufCache) take(s shapes.Shape) backends.Buffer {
	k, ok := keyOfShape(s)
	if !ok {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	list := c.free[k]
	if len(list) == 0 {
		c.misses++
		return nil
	}
	buf := list[len(list)-1]
	list[len(list)-1] = nil
	c.free[k] = list[:len(list)-1]
	c.bytes -= int64(s.Memory())
	return buf
}

// put caches buf, of shape s, and reports whether it did; the caller
// frees a buffer that was not taken.
func (c *bufCache) put(buf backends.Buffer, s shapes.Shape) bool {
	k, ok := keyOfShape(s)
	if !ok {
		return false
	}
	size := int64(s.Memory())
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bytes+size > c.limit || slices.Contains(c.free[k], buf) {
		return false
	}
	c.free[k] = append(c.free[k], buf)
	c.bytes += size
	return true
}

// drain empties the cache, handing every buffer to release.
func (c *bufCache) drain(release func(backends.Buffer)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, list := range c.free {
		for _, buf := range list {
			release(buf)
		}
		delete(c.free, k)
	}
	c.bytes = 0
}

// floatPool hands out float32 scratch slices by length, for the packed
// weights of every convolution call. Made afresh, the large ones came back
// from the garbage collector as fresh pages: about 3 times a model's
// weights faulted in per train step, 300 MB for DeepLabV3+-ResNet50.
// Pooled slices survive collections.
type floatPool struct {
	mu    sync.Mutex
	free  map[int][][]float32
	bytes int
}

// floatPoolLimit bounds the bytes a floatPool keeps; a model's distinct
// weight sizes take a few tens of megabytes.
const floatPoolLimit = 512 << 20

var scratchFloats = &floatPool{free: make(map[int][][]float32)}

// get returns a slice of n values, not cleared.
func (p *floatPool) get(n int) []float32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	list := p.free[n]
	if len(list) == 0 {
		return make([]float32, n)
	}
	s := list[len(list)-1]
	list[len(list)-1] = nil
	p.free[n] = list[:len(list)-1]
	p.bytes -= 4 * n
	return s
}

// put takes s back; s must not be used after.
func (p *floatPool) put(s []float32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bytes+4*len(s) > floatPoolLimit {
		return
	}
	p.free[len(s)] = append(p.free[len(s)], s)
	p.bytes += 4 * len(s)
}
