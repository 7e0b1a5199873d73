// Package adapter provides tfrun's embedded compute backend: GoMLX's pure-Go
// "simplego" backend (v0.26) wrapped so that the operations simplego lacks,
// gets wrong or runs too slowly are composed from operations it does
// implement: Pad, Reverse, SelectAndScatterMax/Min, BatchNorm (training,
// inference, gradient), an im2col ConvGeneral, and Scatter{Sum,Max,Min} for
// windows simplego misplaces.
//
// Ops are never translated: the adapter's Builder hands simplego's own Ops
// around, so anything not overridden here behaves exactly like simplego.
package adapter

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

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
// config uses simplego's syntax (comma-separated, e.g. "parallelism=4"), but
// settings under which simplego v0.26 deadlocks are avoided: parallelism=1
// becomes simplego's inline single-threaded mode (parallelism=0), ops of a
// graph run one after another (each still multi-threaded inside) unless the
// worker pool is unbounded or disabled, and ops_parallel with a bounded pool
// is an error.
func New(config string) (backends.Backend, error) {
	safe, err := sanitizeConfig(config)
	if err != nil {
		return nil, err
	}
	inner, err := newQuietSimplego(safe)
	if err != nil {
		return nil, fmt.Errorf("adapter: creating simplego backend with config %q: %w", safe, err)
	}
	caps := inner.Capabilities().Clone()
	for _, op := range overriddenOps {
		caps.Operations[op] = true
	}
	return &Backend{Backend: inner, config: safe, caps: caps}, nil
}

// overriddenOps lists the ops the adapter implements (or fixes) itself; they
// are added to the advertised capabilities.
var overriddenOps = []backends.OpType{
	backends.OpTypePad,
	backends.OpTypeReverse,
	backends.OpTypeSelectAndScatterMax,
	backends.OpTypeSelectAndScatterMin,
	backends.OpTypeConvGeneral,
	backends.OpTypeBatchNormForTraining,
	backends.OpTypeBatchNormForInference,
	backends.OpTypeBatchNormGradient,
	backends.OpTypeScatterSum,
	backends.OpTypeScatterMax,
	backends.OpTypeScatterMin,
}

// sanitizeConfig rewrites the simplego config so it can never select a
// deadlocking worker-pool setting.
//
// simplego's workers pool lets 2*parallelism goroutines run at once, and when
// ops are executed in parallel every running op holds one of those slots
// while its DotGeneral (or large unary op) blocks in WaitToStart for another
// slot. With parallelism=1 four concurrent large DotGenerals already wait on
// each other forever, and any bounded pool can be exhausted the same way by
// enough independent ops (measured: parallelism=2 with 8 concurrent DotGenerals
// under ops_parallel).
//
// So: parallelism=1 becomes parallelism=0, which disables the pool (tasks run
// inline in the caller), the intended single-threaded behaviour. For a bounded
// pool (the default NumCPU or an explicit N>1), ops are executed sequentially:
// the executing goroutine then holds no slot, and the tasks that do hold slots
// never wait for others, so intra-op parallelism (what matters for DotGeneral)
// is kept without the nested wait. Asking for ops_parallel with a bounded pool
// is refused; it is safe only with parallelism=-1 (unbounded) or 0.
func sanitizeConfig(config string) (string, error) {
	var (
		out          []string
		parallelism  *int
		opsParallel  bool
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
		case "ops_parallel":
			opsParallel, opsModeGiven = true, true
		case "ops_sequential":
			opsParallel, opsModeGiven = false, true
		}
		out = append(out, part)
	}
	bounded := parallelism == nil || *parallelism > 1
	if parallelism != nil {
		n := *parallelism
		if n == 1 {
			n = 0
		}
		out = append(out, "parallelism="+strconv.Itoa(n))
	}
	if bounded {
		if opsParallel {
			return "", fmt.Errorf("adapter: config %q: ops_parallel deadlocks simplego with a bounded worker pool; "+
				"use it only with parallelism=-1 or parallelism=0", config)
		}
		if !opsModeGiven {
			out = append(out, "ops_sequential")
		}
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
		"SelectAndScatter, BatchNorm, an im2col ConvGeneral and fixed Scatter)", b.config)
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

// stdoutMu serialises the swap of os.Stdout in newQuietSimplego.
var stdoutMu sync.Mutex

// newQuietSimplego builds simplego with its "parallelism set to N" banner,
// which it prints to stdout, sent to stderr instead: stdout carries tfrun's
// JSON and .npy-free results, and must hold nothing else.
func newQuietSimplego(config string) (backends.Backend, error) {
	stdoutMu.Lock()
	defer stdoutMu.Unlock()
	saved := os.Stdout
	os.Stdout = os.Stderr
	defer func() { os.Stdout = saved }()
	return simplego.New(config)
}
