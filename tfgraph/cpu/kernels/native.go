//go:build cgo && !nodnnl

package kernels

/*
#cgo LDFLAGS: -ldl -lm
#include "dnnl_glue.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

// Available reports whether the kernels run on oneDNN and OpenBLAS, which
// are loaded on first use; when they cannot be, the pure-Go kernels run.
func Available() bool {
	startWorker()
	return initErr == nil
}

// The worker goroutine owns one locked OS thread, so every call reuses the
// same OpenMP thread pool (a new calling thread would build a new pool) and
// calls never overlap (two pools of spinning threads would slow each other).
var (
	workCh   = make(chan func())
	initOnce sync.Once
	initErr  error
)

// poolEnv are thread-pool settings read when the libraries load; values
// already in the environment win. Idle threads otherwise spin after every
// call, OpenMP's for milliseconds (GOMP_SPINCOUNT's default is 300000) and
// OpenBLAS's for about 2^28 cycles, taking cores from the Go code that runs
// between calls (measured: a quarter of the CPU time of a train step).
var poolEnv = [][2]string{{"GOMP_SPINCOUNT", "10000"}, {"OPENBLAS_THREAD_TIMEOUT", "20"}}

func startWorker() {
	initOnce.Do(func() {
		if os.Getenv("OMP_WAIT_POLICY") == "" {
			for _, kv := range poolEnv {
				if _, set := os.LookupEnv(kv[0]); !set {
					_ = os.Setenv(kv[0], kv[1])
				}
			}
		}
		ready := make(chan error)
		go func() {
			runtime.LockOSThread()
			var errBuf [256]C.char
			if rc := C.tf_init(&errBuf[0], C.int(len(errBuf))); rc != 0 {
				ready <- errors.New("kernels: " + C.GoString(&errBuf[0]))
				return
			}
			C.tf_set_threads(C.int(Threads()))
			ready <- nil
			for f := range workCh {
				f()
			}
		}()
		initErr = <-ready
	})
}

// onWorker runs f on the worker thread and waits for it.
func onWorker(f func()) error {
	startWorker()
	if initErr != nil {
		return initErr
	}
	done := make(chan struct{})
	workCh <- func() { f(); close(done) }
	<-done
	return nil
}

func setNativeThreads(n int) {
	_ = onWorker(func() { C.tf_set_threads(C.int(n)) })
}

func ptr(s []float32) *C.float { return (*C.float)(unsafe.Pointer(unsafe.SliceData(s))) }

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

func sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	err := onWorker(func() {
		C.tf_sgemm(cbool(transA), cbool(transB), C.int(m), C.int(n), C.int(k), C.float(alpha), ptr(a), C.int(lda),
			ptr(b), C.int(ldb), C.float(beta), ptr(c), C.int(ldc))
	})
	if err != nil {
		goSgemm(Threads(), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}

// planKey identifies a convolution primitive; the layouts are part of it
// since they decide the reorders.
type planKey struct {
	kind, nd, groups, epilogue         int
	src, srcStrides, dst, dstStrides   [2 + MaxSpatial]int
	kernel, strides, dil, padLo, padHi [MaxSpatial]int
}

// plan is a cached primitive; a nil c records that oneDNN has none for the
// key (err says why), so the Go kernel runs instead.
type plan struct {
	c    *C.tf_plan
	err  string
	gemm bool // oneDNN's implementation lowers the convolution to matrix products
}

var plans = map[planKey]plan{} // touched only on the worker thread

// maxPlans bounds the cache: a model has a few dozen convolution shapes,
// but a process serving many input sizes would otherwise keep every plan
// (and its scratch memory) forever.
const maxPlans = 512

func keyOf(kind int, s *ConvSpec, epilogue int) planKey {
	k := planKey{kind: kind, nd: len(s.Src.Dims), groups: s.groups(), epilogue: epilogue}
	copy(k.src[:], s.Src.Dims)
	copy(k.srcStrides[:], s.Src.Strides)
	copy(k.dst[:], s.Dst.Dims)
	copy(k.dstStrides[:], s.Dst.Strides)
	copy(k.kernel[:], s.Kernel)
	copy(k.strides[:], s.Strides)
	copy(k.dil[:], s.Dilations)
	copy(k.padLo[:], s.PadLo)
	copy(k.padHi[:], s.PadHi)
	return k
}

func dims64(xs []int) []C.int64_t {
	out := make([]C.int64_t, max(len(xs), 1))
	for i, x := range xs {
		out[i] = C.int64_t(x)
	}
	return out
}

// planFor returns the cached plan, building it on first use; epilogue is
// Epilogue.flags of a forward pass. Must run on the worker thread.
func planFor(kind int, s *ConvSpec, epilogue int) plan {
	key := keyOf(kind, s, epilogue)
	if p, ok := plans[key]; ok {
		return p
	}
	if len(plans) >= maxPlans {
		for k, p := range plans {
			if p.c != nil {
				C.tf_plan_free(p.c)
			}
			delete(plans, k)
		}
	}
	var errBuf [256]C.char
	c := C.tf_conv_plan(C.int(kind), C.int(len(s.Src.Dims)),
		&dims64(s.Src.Dims)[0], &dims64(s.Src.Strides)[0], &dims64(s.Dst.Dims)[0], &dims64(s.Dst.Strides)[0],
		C.int64_t(s.groups()), &dims64(s.Kernel)[0], &dims64(s.Strides)[0], &dims64(s.Dilations)[0],
		&dims64(s.PadLo)[0], &dims64(s.PadHi)[0], C.int(epilogue), &errBuf[0], C.int(len(errBuf)))
	p := plan{c: c}
	if c == nil {
		p.err = C.GoString(&errBuf[0])
	} else {
		p.gemm = strings.Contains(C.GoString(C.tf_plan_impl(c)), "gemm:")
	}
	plans[key] = p
	return p
}

// PlanImpl names the oneDNN implementation a convolution would use
// ("go" when oneDNN has none), for benchmarks and diagnostics.
func PlanImpl(kind ConvKind, s *ConvSpec) string {
	if err := s.Validate(); err != nil {
		return "go (" + err.Error() + ")"
	}
	impl := "go"
	_ = onWorker(func() {
		p := planFor(int(kind), s, 0)
		if p.c == nil {
			impl = "go (" + p.err + ")"
			return
		}
		impl = C.GoString(C.tf_plan_impl(p.c))
		if kind == KindForward && p.gemm && depthwise2D(s) {
			impl = "tfrun depthwise"
		}
	})
	return impl
}

// BlockedLayouts reports whether the forward convolution s (with a bias
// and a ReLU or not) runs on a oneDNN primitive that takes its source, and
// gives its destination, in oneDNN's 8-channel blocked layout. Where it
// does, a buffer passed with ConvSpec.SrcBlocked or DstBlocked skips the
// reorder between that layout and the strided one.
func BlockedLayouts(s *ConvSpec, bias, relu bool) (src, dst bool) {
	if s.Validate() != nil {
		return false, false
	}
	_ = onWorker(func() {
		if p := forwardPlan(s, bias, relu); p != nil {
			src, dst = C.tf_plan_blocked(p, 0) != 0, C.tf_plan_blocked(p, 2) != 0
		}
	})
	return src, dst
}

// forwardPlan is the oneDNN primitive that runs the forward convolution s,
// or nil where tfrun's own kernels do. Must run on the worker thread.
func forwardPlan(s *ConvSpec, bias, relu bool) *C.tf_plan {
	e := Epilogue{ReLU: relu}
	if bias {
		e.Bias = []float32{}
	}
	p := planFor(int(KindForward), s, e.flags())
	if p.gemm && depthwise2D(s) {
		return nil
	}
	return p.c
}

// PrepareWeights returns the dense weights of the forward convolution s
// (with a bias and a ReLU or not) in the layout its oneDNN primitive reads,
// to pass with ConvSpec.WeightsPrepared and skip that reorder at every
// call; nil where no primitive runs s.
func PrepareWeights(s *ConvSpec, bias, relu bool, dense []float32) ([]float32, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if len(dense) != s.WeightsLen() {
		return nil, fmt.Errorf("kernels: %d weights for %d", len(dense), s.WeightsLen())
	}
	var out []float32
	var failed error
	err := onWorker(func() {
		p := forwardPlan(s, bias, relu)
		if p == nil {
			return
		}
		out = make([]float32, (int(C.tf_plan_weights_size(p))+3)/4)
		if rc := C.tf_plan_weights(p, ptr(dense), ptr(out)); rc != 0 {
			out, failed = nil, errors.New("kernels: oneDNN weights reorder failed (status "+strconv.Itoa(int(rc))+")")
		}
	})
	if err != nil {
		return nil, nil
	}
	return out, failed
}

// runConv executes the plan for (kind, s, e) on the three buffers, given in
// convolution order, or reports false when oneDNN has no plan for it, or,
// with notGEMM, only a GEMM-based one.
func runConv(kind ConvKind, s *ConvSpec, e Epilogue, src, wei, dst []float32, notGEMM bool) (bool, error) {
	ran := false
	var execErr error
	direct := 0
	if s.SrcBlocked {
		direct |= 1
	}
	if s.WeightsPrepared {
		direct |= 2
	}
	if s.DstBlocked {
		direct |= 4
	}
	err := onWorker(func() {
		p := planFor(int(kind), s, e.flags())
		if p.c == nil || notGEMM && p.gemm {
			return
		}
		ran = true
		var bias *C.float
		if e.Bias != nil {
			bias = ptr(e.Bias)
		}
		if rc := C.tf_plan_exec(p.c, ptr(src), ptr(wei), ptr(dst), bias, C.int(direct)); rc != 0 {
			execErr = errors.New("kernels: oneDNN convolution failed (status " + strconv.Itoa(int(rc)) + ")")
		}
	})
	if err != nil {
		return false, nil
	}
	return ran, execErr
}

func convForward(s *ConvSpec, src, wei []float32, e Epilogue, dst []float32) error {
	dw := depthwise2D(s)
	if ok, err := runConv(KindForward, s, e, src, wei, dst, dw); ok || err != nil {
		return err
	}
	if s.blocked() {
		return errBlocked
	}
	if dw {
		dwForward(s, src, wei, e, dst)
		return nil
	}
	goConvForward(s, src, wei, dst)
	goEpilogue(s, e, dst)
	return nil
}

// unblockKey identifies a reorder out of the blocked layout.
type unblockKey struct {
	nd            int
	dims, strides [2 + MaxSpatial]int
	u8            bool
}

var unblocks = map[unblockKey]*C.tf_unblock{} // touched only on the worker thread

// Unblock copies src, an activation of dims [N, C, spatial...] in the
// 8-channel blocked layout of BlockedLayouts, into dst with the given
// element strides. Both are []float32, or both []bool.
func Unblock(dims, strides []int, src, dst any) error {
	key := unblockKey{nd: len(dims)}
	if key.nd < 3 || key.nd > 2+MaxSpatial || len(strides) != key.nd {
		return fmt.Errorf("kernels: cannot unblock dims %v with strides %v", dims, strides)
	}
	copy(key.dims[:], dims)
	copy(key.strides[:], strides)
	var from, to unsafe.Pointer
	switch s := src.(type) {
	case []float32:
		d, ok := dst.([]float32)
		if !ok || len(d) != len(s) {
			return fmt.Errorf("kernels: unblock %T of %d values into %T", src, len(s), dst)
		}
		from, to = unsafe.Pointer(unsafe.SliceData(s)), unsafe.Pointer(unsafe.SliceData(d))
	case []bool:
		d, ok := dst.([]bool)
		if !ok || len(d) != len(s) {
			return fmt.Errorf("kernels: unblock %T of %d values into %T", src, len(s), dst)
		}
		key.u8 = true
		from, to = unsafe.Pointer(unsafe.SliceData(s)), unsafe.Pointer(unsafe.SliceData(d))
	default:
		return fmt.Errorf("kernels: cannot unblock %T", src)
	}
	var failed error
	err := onWorker(func() {
		u, ok := unblocks[key]
		if !ok {
			if len(unblocks) >= maxPlans {
				for k, u := range unblocks {
					C.tf_unblock_free(u)
					delete(unblocks, k)
				}
			}
			var errBuf [256]C.char
			u = C.tf_unblock_plan(C.int(key.nd), &dims64(dims)[0], &dims64(strides)[0], C.int(cbool(key.u8)),
				&errBuf[0], C.int(len(errBuf)))
			if u == nil {
				failed = errors.New("kernels: unblock: " + C.GoString(&errBuf[0]))
				return
			}
			unblocks[key] = u
		}
		if rc := C.tf_unblock_exec(u, from, to); rc != 0 {
			failed = errors.New("kernels: oneDNN reorder failed (status " + strconv.Itoa(int(rc)) + ")")
		}
	})
	return errors.Join(err, failed)
}

func convBackwardData(s *ConvSpec, diffDst, wei, diffSrc []float32) error {
	if ok, err := runConv(KindBackwardData, s, Epilogue{}, diffSrc, wei, diffDst, false); ok || err != nil {
		return err
	}
	goConvBackwardData(s, diffDst, wei, diffSrc)
	return nil
}

func convBackwardWeights(s *ConvSpec, src, diffDst, diffWei []float32) error {
	if ok, err := runConv(KindBackwardWeights, s, Epilogue{}, src, diffWei, diffDst, false); ok || err != nil {
		return err
	}
	goConvBackwardWeights(s, src, diffDst, diffWei)
	return nil
}

func vec(op VecOp, dst, a, b, c []float32) {
	// Plain C loops: no library, so no worker thread, is involved.
	C.tf_vec(C.int(op), C.int(len(dst)), ptr(dst), ptr(a), ptr(b), ptr(c))
}

func addTo64(acc []float64, vals []float32) {
	C.tf_add_to64(C.int(len(vals)), (*C.double)(unsafe.Pointer(unsafe.SliceData(acc))), ptr(vals))
}

func boolsToFloats(dst []float32, src []bool) {
	C.tf_bools_to_floats(C.int(len(dst)), ptr(dst), (*C.uchar)(unsafe.Pointer(unsafe.SliceData(src))))
}

func floatsToBools(dst []bool, src []float32) {
	C.tf_floats_to_bools(C.int(len(dst)), (*C.uchar)(unsafe.Pointer(unsafe.SliceData(dst))), ptr(src))
}
