// Package adapter provides tfrun's embedded compute backend: GoMLX's pure-Go
// "simplego" backend wrapped so that the operations simplego lacks (or
// implements too slowly) are composed from operations it does implement.
//
// Ops are never translated: the adapter's Builder hands simplego's own Ops
// around, so anything not overridden here behaves exactly like simplego.
package adapter

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
)

// BackendName is the name under which the adapter registers itself, so
// GOMLX_BACKEND=tfrun (optionally "tfrun:<simplego config>") selects it.
const BackendName = "tfrun"

func init() {
	backends.Register(BackendName, New)
}

// Backend is a backends.Backend that delegates to simplego except for the
// Builder, which is wrapped to fill in missing ops.
type Backend struct {
	backends.Backend // the wrapped simplego backend.

	config string // the sanitized config actually passed to simplego.
	caps   backends.Capabilities
}

var _ backends.Backend = (*Backend)(nil)

// New builds the adapter over a fresh simplego backend.
//
// config uses simplego's syntax (comma-separated, e.g. "parallelism=4,ops_sequential"),
// with one difference: values of "parallelism" that make simplego v0.26 deadlock
// are replaced by an equivalent safe setting (see sanitizeConfig).
func New(config string) (backends.Backend, error) {
	safe, err := sanitizeConfig(config)
	if err != nil {
		return nil, err
	}
	inner, err := simplego.New(safe)
	if err != nil {
		return nil, fmt.Errorf("adapter: creating simplego backend with config %q: %w", safe, err)
	}
	caps := inner.Capabilities().Clone()
	for _, op := range overriddenOps {
		caps.Operations[op] = true
	}
	return &Backend{Backend: inner, config: safe, caps: caps}, nil
}

// overriddenOps lists the ops the adapter implements itself; they are added to
// the advertised capabilities.
var overriddenOps = []backends.OpType{
	backends.OpTypePad,
	backends.OpTypeReverse,
	backends.OpTypeSelectAndScatterMax,
	backends.OpTypeSelectAndScatterMin,
	backends.OpTypeConvGeneral,
	backends.OpTypeBatchNormForTraining,
	backends.OpTypeBatchNormForInference,
	backends.OpTypeBatchNormGradient,
}

// sanitizeConfig rewrites the simplego config so it can never select a
// deadlocking worker-pool setting.
//
// simplego's workers pool lets 2*parallelism goroutines run at once, and in
// "parallel ops" execution every running op holds one of those slots while
// its DotGeneral (or large unary op) blocks in WaitToStart for another slot.
// With parallelism=1 two concurrent ops are enough to fill the pool and wait on
// each other forever. parallelism=0 disables the pool instead (tasks run inline
// in the caller), which is the intended single-threaded behaviour, so that is
// what parallelism=1 is mapped to. For any finite parallelism the same nested
// wait can exhaust the pool when enough independent ops become ready at once,
// so unless the caller explicitly asked for "ops_parallel", ops are executed
// sequentially: intra-op parallelism (the one that matters for DotGeneral)
// is kept, and nested waits can no longer starve each other because the
// executing goroutine does not hold a pool slot.
func sanitizeConfig(config string) (string, error) {
	var (
		out          []string
		parallelism  *int
		opsModeGiven bool
	)
	for _, part := range strings.Split(config, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		key, value, hasValue := strings.Cut(part, "=")
		switch key {
		case "parallelism":
			if !hasValue {
				return "", fmt.Errorf("adapter: config %q: parallelism needs a value, e.g. parallelism=4", config)
			}
			n, err := strconv.Atoi(value)
			if err != nil {
				return "", fmt.Errorf("adapter: config %q: invalid parallelism %q: %w", config, value, err)
			}
			parallelism = &n
			continue
		case "ops_sequential", "ops_parallel":
			opsModeGiven = true
		}
		out = append(out, part)
	}
	if parallelism != nil {
		n := *parallelism
		if n == 1 {
			n = 0
		}
		out = append(out, "parallelism="+strconv.Itoa(n))
	}
	// Unlimited parallelism (<0) never blocks in WaitToStart, and 0 runs inline,
	// so only a finite positive pool needs sequential op execution.
	if !opsModeGiven && (parallelism == nil || *parallelism > 1) {
		out = append(out, "ops_sequential")
	}
	return strings.Join(out, ","), nil
}

// Name implements backends.Backend.
func (b *Backend) Name() string { return "tfrun-go" }

// String implements backends.Backend.
func (b *Backend) String() string { return b.Name() }

// Description implements backends.Backend.
func (b *Backend) Description() string {
	return fmt.Sprintf("tfrun adapter over GoMLX simplego (pure Go; config %q; adds Pad, Reverse, "+
		"SelectAndScatter, BatchNorm and an im2col ConvGeneral)", b.config)
}

// Capabilities implements backends.Backend.
func (b *Backend) Capabilities() backends.Capabilities { return b.caps }

// Builder implements backends.Backend.
func (b *Backend) Builder(name string) backends.Builder {
	return &Builder{Builder: b.Backend.Builder(name)}
}

// Inner returns the wrapped simplego backend, mostly for tests and benchmarks
// that compare against simplego's own implementations.
func (b *Backend) Inner() backends.Backend { return b.Backend }
