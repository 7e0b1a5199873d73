// Package cpu is tfrun's fast CPU backend for GoMLX. It records a
// computation op by op, then runs natively the ops where training time
// goes: matrix products and convolutions, forward and both gradients, on
// package kernels (OpenBLAS and oneDNN when built with cgo); runs of
// float32 elementwise ops fused into one streaming pass; pooling and its
// gradient, reductions, broadcasts, transposes, slices and concatenations.
// Every other op is delegated to the adapter over simplego (package
// adapter), runs of them compiled into adapter executables. Buffers are the
// adapter's, so data moves between native and delegated steps without
// copies, and values match the adapter's to float32 rounding.
//
// Without the native libraries the kernels are pure Go: the backend still
// works, but is no faster than the adapter, which engine "go" then uses.
package cpu

import (
	"fmt"
	"os"

	"github.com/gomlx/gomlx/backends"
	"github.com/tfrun/tfrun/tfgraph/adapter"
	"github.com/tfrun/tfrun/tfgraph/cpu/kernels"
)

// Backend is a backends.Backend whose data interface is the adapter's.
type Backend struct {
	backends.Backend // the adapter: buffers, devices, and delegated ops

	adapter backends.Backend
	threads int
	prof    *profile // nil unless ProfileEnv is set
	cache   *bufCache
}

var _ backends.Backend = (*Backend)(nil)

// Native reports whether the kernels are the native (oneDNN, OpenBLAS)
// ones.
func Native() bool { return kernels.Available() }

// New creates the backend; threads is the parallelism of both the kernels
// and the adapter, 0 meaning one per CPU. The kernels' thread count is
// process-wide: the backend created last sets it.
func New(threads int) (*Backend, error) {
	if threads < 0 {
		return nil, fmt.Errorf("cpu: threads must be >= 0 (0 = all cores), got %d", threads)
	}
	config := ""
	if threads > 0 {
		config = fmt.Sprintf("parallelism=%d", threads)
	}
	inner, err := adapter.New(config)
	if err != nil {
		return nil, fmt.Errorf("cpu: %w", err)
	}
	kernels.SetThreads(threads)
	return &Backend{Backend: inner, adapter: inner, threads: kernels.Threads(), prof: newProfile(),
		cache: newBufCache()}, nil
}

// Finalize implements backends.Backend; with profiling on, it prints the
// profile first.
func (b *Backend) Finalize() {
	if b.prof != nil {
		fmt.Fprintf(os.Stderr, "tfrun-cpu profile:\n%s", b.prof)
	}
	b.cache.drain(func(buf backends.Buffer) { _ = b.adapter.BufferFinalize(buf) })
	b.adapter.Finalize()
}

// BufferFinalize implements backends.Backend: the buffer goes to the
// cache, for the next execution's outputs (a train step's new weights
// replace the ones finalized here).
func (b *Backend) BufferFinalize(buf backends.Buffer) error {
	if s, err := b.adapter.BufferShape(buf); err == nil && b.cache.put(buf, s) {
		return nil
	}
	return b.adapter.BufferFinalize(buf)
}

// Name implements backends.Backend. It is engine "go"'s name, as the
// adapter's is: both are that engine; Description tells them apart.
func (b *Backend) Name() string { return "tfrun-cpu" }

// String implements backends.Backend.
func (b *Backend) String() string { return b.Name() }

// Description implements backends.Backend.
func (b *Backend) Description() string {
	kind := "pure-Go kernels"
	if kernels.Available() {
		kind = "oneDNN and OpenBLAS kernels"
	}
	return fmt.Sprintf("tfrun CPU backend (%s, %d threads; other ops on %s)", kind, b.threads, b.adapter.Description())
}

// Builder implements backends.Backend.
func (b *Backend) Builder(name string) backends.Builder {
	return &Builder{backend: b, name: name, shadow: b.adapter.Builder(name)}
}
