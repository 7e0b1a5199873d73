package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/core/tensors/images"
	"github.com/tfrun/tfrun/tfgraph/adapter"
	"github.com/tfrun/tfrun/tfgraph/nn"
)

var oracle = sync.OnceValues(func() (backends.Backend, error) { return adapter.New("") })

// newProfiled returns a backend that records which steps ran.
func newProfiled(t testing.TB) *Backend {
	t.Helper()
	be, err := New(0)
	if err != nil {
		t.Fatal(err)
	}
	be.prof = &profile{entries: make(map[string]*profEntry)}
	return be
}

// nativeSteps lists the names of the native steps that ran.
func (b *Backend) nativeSteps() []string {
	b.prof.mu.Lock()
	defer b.prof.mu.Unlock()
	var names []string
	for name := range b.prof.entries {
		if !strings.HasPrefix(name, "adapter") {
			names = append(names, name)
		}
	}
	return names
}

func randTensor(rng *rand.Rand, dims ...int) *tensors.Tensor {
	flat := make([]float32, shapes.Make(dtypes.Float32, dims...).Size())
	for i := range flat {
		flat[i] = rng.Float32()*2 - 1
	}
	return tensors.FromFlatDataAndDimensions(flat, dims...)
}

func execute(t testing.TB, be backends.Backend, fn func(xs []*Node) []*Node, inputs []*tensors.Tensor) [][]float32 {
	t.Helper()
	exec, err := NewExec(be, fn)
	if err != nil {
		t.Fatalf("NewExec: %v", err)
	}
	defer exec.Finalize()
	return runExec(t, exec, inputs)
}

// runExec executes exec on copies of inputs and returns its outputs as
// float32s, bools as 0 and 1.
func runExec(t testing.TB, exec *Exec, inputs []*tensors.Tensor) [][]float32 {
	t.Helper()
	args := make([]any, len(inputs))
	for i, in := range inputs {
		local, err := in.LocalClone()
		if err != nil {
			t.Fatal(err)
		}
		args[i] = local
	}
	outs, err := exec.Exec(args...)
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	res := make([][]float32, len(outs))
	for i, o := range outs {
		if o.DType() == dtypes.Bool {
			for _, b := range tensors.MustCopyFlatData[bool](o) {
				res[i] = append(res[i], b2f(b))
			}
		} else {
			res[i] = tensors.MustCopyFlatData[float32](o)
		}
		o.FinalizeAll()
	}
	return res
}

// relErr is the largest difference relative to the largest reference
// magnitude (at least 1e-3, so all-but-zero references compare absolutely).
func relErr(got, want []float32) float64 {
	var diff, scale float64
	for i := range want {
		diff = max(diff, math.Abs(float64(got[i])-float64(want[i])))
		scale = max(scale, math.Abs(float64(want[i])))
	}
	return diff / max(scale, 1e-3)
}

// compare runs fn with random float32 inputs of the given shapes on this
// backend and on the adapter, checks every output to 1e-4 relative error,
// and checks that at least one step whose name contains each of natives
// ran natively.
func compare(t *testing.T, fn func(xs []*Node) []*Node, natives []string, dims ...[]int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(len(t.Name())), 5))
	inputs := make([]*tensors.Tensor, len(dims))
	for i, d := range dims {
		inputs[i] = randTensor(rng, d...)
	}
	compareInputs(t, fn, natives, inputs...)
}

// compareInputs is compare with the inputs given.
func compareInputs(t *testing.T, fn func(xs []*Node) []*Node, natives []string, inputs ...*tensors.Tensor) {
	t.Helper()
	ref, err := oracle()
	if err != nil {
		t.Fatal(err)
	}
	be := newProfiled(t)
	defer be.Finalize()
	want := execute(t, ref, fn, inputs)
	got := execute(t, be, fn, inputs)
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Fatalf("output #%d: %d values, want %d", i, len(got[i]), len(want[i]))
		}
		if e := relErr(got[i], want[i]); e > 1e-4 {
			t.Errorf("output #%d: relative error %.3g", i, e)
		}
	}
	ran := be.nativeSteps()
	for _, n := range natives {
		found := false
		for _, name := range ran {
			found = found || strings.Contains(name, n)
		}
		if !found {
			t.Errorf("no native step %q ran; native steps: %q", n, ran)
		}
	}
}

// withGrads returns fn's outputs followed by the gradients of a random
// weighted sum of its first output with respect to every input.
func withGrads(fn func(xs []*Node) *Node) func(xs []*Node) []*Node {
	return func(xs []*Node) []*Node {
		y := fn(xs)
		w := randTensor(rand.New(rand.NewPCG(9, 9)), y.Shape().Dimensions...)
		loss := ReduceAllSum(Mul(y, Const(y.Graph(), w)))
		return append([]*Node{y}, Gradient(loss, xs...)...)
	}
}

func TestDotGeneral(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lhs, rhs []int
		lc, lb   []int
		rc, rb   []int
	}{
		{"matmul", []int{7, 13}, []int{13, 5}, []int{1}, nil, []int{0}, nil},
		{"transposed lhs", []int{13, 7}, []int{13, 5}, []int{0}, nil, []int{0}, nil},
		{"transposed rhs", []int{7, 13}, []int{5, 13}, []int{1}, nil, []int{1}, nil},
		{"batched", []int{3, 4, 6}, []int{3, 6, 2}, []int{2}, []int{0}, []int{1}, []int{0}},
		{"batch not leading", []int{4, 3, 6}, []int{6, 3, 2}, []int{2}, []int{1}, []int{0}, []int{1}},
		{"two contracting axes", []int{2, 3, 4, 5}, []int{4, 3, 6}, []int{2, 1}, nil, []int{0, 1}, nil},
		{"vector", []int{9}, []int{9, 4}, []int{0}, nil, []int{0}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, withGrads(func(xs []*Node) *Node {
				return DotGeneral(xs[0], tc.lc, tc.lb, xs[1], tc.rc, tc.rb)
			}), []string{"DotGeneral"}, tc.lhs, tc.rhs)
		})
	}
}

func TestDenseLayerGradient(t *testing.T) {
	// nn.MatMul's own gradient: two plain products, both native.
	compare(t, withGrads(func(xs []*Node) *Node { return nn.MatMul(xs[0], xs[1]) }),
		[]string{"DotGeneral 1x[6,5]x[5,3]", "DotGeneral 1x[5,6]x[6,3]", "DotGeneral 1x[6,3]x[3,5]"},
		[]int{6, 5}, []int{5, 3})
}

func TestConvolve(t *testing.T) {
	nhwcIn := []int{2, 9, 8, 3}
	for _, tc := range []struct {
		name   string
		in, k  []int
		conv   func(c *ConvolutionBuilder) *ConvolutionBuilder
		native []string
	}{
		{"3x3 same", nhwcIn, []int{3, 3, 3, 4}, func(c *ConvolutionBuilder) *ConvolutionBuilder {
			return c.PadSame().StridePerAxis(1, 1)
		}, []string{"forward", "backward-weights"}},
		{"1x1", nhwcIn, []int{1, 1, 3, 5}, func(c *ConvolutionBuilder) *ConvolutionBuilder {
			return c.NoPadding().StridePerAxis(1, 1)
		}, []string{"forward", "backward-weights"}},
		{"stride 2", []int{2, 11, 8, 3}, []int{3, 3, 3, 4}, func(c *ConvolutionBuilder) *ConvolutionBuilder {
			return c.PadSame().StridePerAxis(2, 2)
		}, []string{"forward", "backward-data", "backward-weights"}},
		{"dilation 6", []int{1, 20, 17, 3}, []int{3, 3, 3, 2}, func(c *ConvolutionBuilder) *ConvolutionBuilder {
			return c.PadSame().StridePerAxis(1, 1).DilationPerAxis(6, 6)
		}, []string{"forward", "backward-weights"}},
		{"batch 1 non-square", []int{1, 7, 12, 2}, []int{3, 5, 2, 3}, func(c *ConvolutionBuilder) *ConvolutionBuilder {
			return c.NoPadding().StridePerAxis(1, 2)
		}, []string{"forward", "backward-weights"}},
		{"groups", []int{2, 6, 6, 4}, []int{3, 3, 2, 6}, func(c *ConvolutionBuilder) *ConvolutionBuilder {
			return c.PadSame().StridePerAxis(1, 1).ChannelGroupCount(2)
		}, []string{"forward"}},
		{"depthwise", []int{2, 6, 6, 4}, []int{3, 3, 1, 4}, func(c *ConvolutionBuilder) *ConvolutionBuilder {
			return c.PadSame().StridePerAxis(1, 1).ChannelGroupCount(4)
		}, []string{"forward"}},
		{"channels first", []int{2, 3, 7, 6}, []int{4, 3, 3, 3}, func(c *ConvolutionBuilder) *ConvolutionBuilder {
			return c.ChannelsAxis(images.ChannelsFirst).PadSame().StridePerAxis(1, 1)
		}, []string{"forward", "backward-weights"}},
		{"1d", []int{3, 10, 2}, []int{3, 2, 4}, func(c *ConvolutionBuilder) *ConvolutionBuilder {
			return c.PadSame().StridePerAxis(1)
		}, []string{"forward", "backward-weights"}},
		{"3d", []int{1, 5, 4, 6, 2}, []int{3, 2, 3, 2, 3}, func(c *ConvolutionBuilder) *ConvolutionBuilder {
			return c.PadSame().StridePerAxis(1, 1, 1)
		}, []string{"forward", "backward-weights"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, withGrads(func(xs []*Node) *Node {
				return tc.conv(Convolve(xs[0], xs[1])).Done()
			}), tc.native, tc.in, tc.k)
		})
	}
}

func TestConvGeneralForms(t *testing.T) {
	nhwc := ConvolveAxesConfig{
		InputBatch: 0, InputSpatial: []int{1, 2}, InputChannels: 3,
		KernelSpatial: []int{0, 1}, KernelInputChannels: 2, KernelOutputChannels: 3,
		OutputBatch: 0, OutputSpatial: []int{1, 2}, OutputChannels: 3,
	}
	for _, tc := range []struct {
		name        string
		in, k       []int
		strides     []int
		pads        [][2]int
		inDil, kDil []int
		native      string
	}{
		{"input dilation", []int{2, 5, 6, 3}, []int{3, 2, 3, 4}, nil, [][2]int{{2, 2}, {1, 1}}, []int{2, 3}, nil, "backward-data"},
		{"input dilation, wide padding", []int{1, 4, 4, 2}, []int{2, 2, 2, 3}, nil, [][2]int{{3, 4}, {0, 5}}, []int{2, 2}, []int{1, 2}, "backward-data"},
		{"input dilation, negative padding", []int{1, 6, 5, 2}, []int{3, 3, 2, 2}, nil, [][2]int{{-1, 1}, {2, -2}}, []int{3, 2}, nil, "backward-data"},
		{"negative padding", []int{2, 8, 7, 3}, []int{3, 3, 3, 2}, []int{2, 1}, [][2]int{{-1, 2}, {1, -2}}, nil, nil, "forward"},
		{"large kernel", []int{3, 9, 9, 2}, []int{8, 7, 2, 4}, nil, [][2]int{{1, 0}, {-1, 1}}, nil, []int{1, 1}, "backward-weights"},
		{"large strided kernel", []int{3, 12, 10, 2}, []int{5, 4, 2, 4}, []int{2, 1}, [][2]int{{1, 1}, {0, 0}}, nil, []int{2, 2}, "backward-weights"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, func(xs []*Node) []*Node {
				return []*Node{ConvGeneral(xs[0], xs[1], nhwc, tc.strides, tc.pads, tc.inDil, tc.kDil, 1, 1)}
			}, []string{tc.native}, tc.in, tc.k)
		})
	}
}

func TestNNConv2D(t *testing.T) {
	for _, tc := range []struct {
		name         string
		in, k        []int
		strides, dil [2]int
		same         bool
	}{
		{"3x3 same", []int{2, 9, 8, 3}, []int{3, 3, 3, 4}, [2]int{1, 1}, [2]int{1, 1}, true},
		{"2x3 even kernel", []int{1, 7, 8, 2}, []int{2, 3, 2, 3}, [2]int{1, 1}, [2]int{1, 1}, true},
		{"stride 2", []int{2, 11, 9, 3}, []int{3, 3, 3, 2}, [2]int{2, 2}, [2]int{1, 1}, true},
		{"dilation 6", []int{1, 20, 17, 2}, []int{3, 3, 2, 2}, [2]int{1, 1}, [2]int{6, 6}, true},
		{"1x1 valid", []int{3, 4, 5, 6}, []int{1, 1, 6, 2}, [2]int{1, 1}, [2]int{1, 1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, withGrads(func(xs []*Node) *Node {
				var pads [2][2]int
				if tc.same {
					for a := range 2 {
						pads[a] = nn.SamePadding(tc.in[1+a], tc.k[a], tc.strides[a], tc.dil[a])
					}
				}
				return nn.Conv2D(xs[0], xs[1], tc.strides, tc.dil, pads)
			}), []string{"forward", "backward-weights"}, tc.in, tc.k)
		})
	}
}

// TestNNDepthwise covers nn.DepthwiseConv2D with its gradients: the
// atrous shapes run on tfrun's own depthwise kernel (oneDNN has none but a
// GEMM), forward and for the input gradient, which is itself a depthwise
// convolution.
func TestNNDepthwise(t *testing.T) {
	for _, tc := range []struct {
		name         string
		in, k        []int
		strides, dil [2]int
		native       string
	}{
		{"dilation 6", []int{2, 9, 8, 12}, []int{3, 3, 1, 12}, [2]int{1, 1}, [2]int{6, 6}, "on tfrun depthwise"},
		{"dilation 18", []int{1, 16, 16, 10}, []int{3, 3, 1, 10}, [2]int{1, 1}, [2]int{18, 18}, "on tfrun depthwise"},
		{"dilation 2x3 non-square", []int{1, 7, 10, 5}, []int{3, 3, 1, 5}, [2]int{1, 1}, [2]int{2, 3}, "forward"},
		{"stride 2", []int{2, 11, 9, 6}, []int{3, 3, 1, 6}, [2]int{2, 2}, [2]int{1, 1}, "forward"},
		{"1x1", []int{3, 4, 5, 7}, []int{1, 1, 1, 7}, [2]int{1, 1}, [2]int{1, 1}, "forward"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !Native() {
				// Without oneDNN every convolution runs on the Go kernels.
				tc.native = "forward"
			}
			if !Native() {
				// Without oneDNN every convolution runs on the Go kernels.
				tc.native = "forward"
			}
			compare(t, withGrads(func(xs []*Node) *Node {
				var pads [2][2]int
				for a := range 2 {
					pads[a] = nn.SamePadding(tc.in[1+a], tc.k[a], tc.strides[a], tc.dil[a])
				}
				return nn.DepthwiseConv2D(xs[0], xs[1], tc.strides, tc.dil, pads)
			}), []string{tc.native}, tc.in, tc.k)
		})
	}
}

// TestPaddedSlice checks slices of a zero-padded tensor read from the
// tensor itself, reaching into the padding or not, with strides, and
// partly along the last axis; the gradient flows back through them.
func TestPaddedSlice(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		starts, limits, stride []int
	}{
		{"tap", []int{0, 6, 0, 0}, []int{2, 15, 8, 5}, nil},
		{"strided", []int{0, 1, 3, 0}, []int{2, 12, 11, 5}, []int{1, 2, 3, 1}},
		{"last axis", []int{1, 2, 2, 0}, []int{2, 5, 6, 9}, []int{1, 1, 1, 2}},
		{"all padding", []int{0, 0, 0, 0}, []int{2, 3, 3, 5}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, withGrads(func(xs []*Node) *Node {
				p := nn.ZeroPadAxis(nn.ZeroPadAxis(xs[0], 1, 6, 6), 2, 3, 4)
				if tc.name == "last axis" {
					p = nn.ZeroPadAxis(p, 3, 2, 2)
				}
				spec := make([]SliceAxisSpec, 4)
				for a := range spec {
					spec[a] = AxisRange(tc.starts[a], tc.limits[a])
					if tc.stride != nil {
						spec[a] = spec[a].Stride(tc.stride[a])
					}
				}
				return Slice(p, spec...)
			}), []string{"Slice of padding"}, []int{2, 9, 8, 5})
		})
	}
}

func TestElementwise(t *testing.T) {
	big := []int{3, 37, 29, 31} // above the parallel threshold, not a whole number of blocks
	for _, tc := range []struct {
		name   string
		fn     func(xs []*Node) []*Node
		dims   [][]int
		native []string
	}{
		{"bias relu", withGrads(func(xs []*Node) *Node {
			y := Add(xs[0], ExpandLeftToRank(xs[1], 4))
			return Where(GreaterThan(y, ZerosLike(y)), y, ZerosLike(y))
		}), [][]int{big, {31}}, []string{"fused"}},
		{"math", withGrads(func(xs []*Node) *Node {
			a, b := xs[0], xs[1]
			pos := AddScalar(Abs(a), 0.5)
			y := Add(Mul(Exp(a), Tanh(b)), Div(Log(pos), Sqrt(AddScalar(Abs(b), 1))))
			y = Add(y, Sub(Max(a, b), Min(a, Neg(b))))
			y = Add(y, Mul(Logistic(a), Pow(pos, b)))
			return Add(y, Add(Sign(b), Erf(a)))
		}), [][]int{{5, 7, 11}, {5, 7, 11}}, []string{"fused"}},
		{"logic", func(xs []*Node) []*Node {
			a, b := xs[0], xs[1]
			p, q := GreaterOrEqual(a, b), LessThan(a, ScalarZero(a.Graph(), a.DType()))
			r := LogicalOr(LogicalAnd(p, LogicalNot(q)), LogicalXor(Equal(a, a), NotEqual(b, a)))
			f := Where(r, a, ConvertDType(LessOrEqual(b, a), dtypes.Float32))
			return []*Node{f, r, ConvertDType(f, dtypes.Bool)}
		}, [][]int{big, big}, []string{"fused"}},
		{"broadcasts", func(xs []*Node) []*Node {
			a := xs[0] // [6, 5, 4]
			lead := BroadcastToDims(Reshape(xs[1], 6, 1, 1), 6, 5, 4)
			mid := BroadcastToDims(Reshape(xs[2], 1, 5, 1), 6, 5, 4) // not fusible: the adapter runs it
			return []*Node{Mul(Add(a, lead), mid), lead}
		}, [][]int{{6, 5, 4}, {6}, {5}}, []string{"fused"}},
	} {
		t.Run(tc.name, func(t *testing.T) { compare(t, tc.fn, tc.native, tc.dims...) })
	}
}

func TestPooling(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     []int
		pool   func(x *Node) *Node
		native []string
	}{
		{"max 2x2", []int{3, 8, 10, 5}, func(x *Node) *Node { return MaxPool(x).WindowPerAxis(2, 2).StridePerAxis(2, 2).Done() },
			[]string{"ReduceWindow Max", "SelectAndScatterMax"}},
		{"max 3x3 overlapping", []int{2, 7, 6, 3}, func(x *Node) *Node {
			return MaxPool(x).WindowPerAxis(3, 3).StridePerAxis(1, 1).PadSame().Done()
		}, []string{"ReduceWindow Max", "SelectAndScatterMax"}},
		{"max 3x2 stride 2 padded", []int{2, 9, 7, 4}, func(x *Node) *Node {
			return MaxPool(x).WindowPerAxis(3, 2).StridePerAxis(2, 2).PadSame().Done()
		}, []string{"ReduceWindow Max", "SelectAndScatterMax"}},
		{"mean 2x2", []int{2, 6, 6, 3}, func(x *Node) *Node { return MeanPool(x).WindowPerAxis(2, 2).StridePerAxis(2, 2).Done() },
			[]string{"ReduceWindow Sum"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// ReLU first, so windows of tied zeros test the tie rule.
			compare(t, withGrads(func(xs []*Node) *Node {
				x := xs[0]
				return tc.pool(Max(x, ZerosLike(x)))
			}), tc.native, tc.in)
		})
	}
}

func TestSelectAndScatterTies(t *testing.T) {
	// Direct builder ops: the gradient path never shows where ties go.
	be := newProfiled(t)
	defer be.Finalize()
	ref, err := oracle()
	if err != nil {
		t.Fatal(err)
	}
	x := tensors.FromFlatDataAndDimensions([]float32{1, 1, 0, 2, 2, 2, 0, 0, 3, 1, 3, 0, 0, 0, 0, 0}, 1, 4, 4, 1)
	src := tensors.FromFlatDataAndDimensions([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 3, 3, 1)
	build := func(b backends.Builder, in []backends.Op) (backends.Op, error) {
		return b.SelectAndScatterMax(in[0], in[1], []int{1, 2, 2, 1}, []int{1, 1, 1, 1}, nil)
	}
	want, got := execBuilder(t, ref, build, x, src), execBuilder(t, be, build, x, src)
	if e := relErr(got, want); e != 0 {
		t.Errorf("got %v, want %v", got, want)
	}
	if len(be.nativeSteps()) == 0 {
		t.Error("SelectAndScatterMax did not run natively")
	}
}

// execBuilder runs one op built directly on a backend's builder.
func execBuilder(t *testing.T, be backends.Backend, build func(b backends.Builder, in []backends.Op) (backends.Op, error),
	inputs ...*tensors.Tensor) []float32 {
	t.Helper()
	b := be.Builder(t.Name())
	params := make([]backends.Op, len(inputs))
	bufs := make([]backends.Buffer, len(inputs))
	for i, in := range inputs {
		var err error
		if params[i], err = b.Parameter(fmt.Sprint(i), in.Shape(), nil); err != nil {
			t.Fatal(err)
		}
		if bufs[i], err = be.BufferFromFlatData(0, tensors.MustCopyFlatData[float32](in), in.Shape()); err != nil {
			t.Fatal(err)
		}
	}
	out, err := build(b, params)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := b.Compile([]backends.Op{out}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer exe.Finalize()
	res, err := exe.Execute(bufs, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	shape, _ := be.BufferShape(res[0])
	flat := make([]float32, shape.Size())
	if err := be.BufferToFlatData(res[0], flat); err != nil {
		t.Fatal(err)
	}
	return flat
}

func TestReduce(t *testing.T) {
	compare(t, func(xs []*Node) []*Node {
		x := xs[0]
		return []*Node{ReduceSum(x, 0, 1, 2), ReduceSum(x, 2, 3), ReduceMax(x, 0), ReduceMin(x, 3), ReduceSum(x, 1),
			ReduceSum(x, 1, 3), ReduceMax(x, 0, 2)}
	}, []string{"ReduceSum", "ReduceMax", "ReduceMin"}, []int{40, 30, 20, 7})
}

func TestDataMovement(t *testing.T) {
	compare(t, withGrads(func(xs []*Node) *Node {
		x := xs[0]                                                      // [4, 5, 6]
		up := BroadcastToDims(Reshape(x, 4, 1, 5, 1, 6), 4, 2, 5, 3, 6) // not fusible: middle axes
		t := TransposeAllAxes(Reshape(up, 8, 15, 6), 2, 0, 1)
		s := Slice(t, AxisRange(1, 5), AxisRange().Stride(3), AxisRange(2, 13).Stride(2))
		return Concatenate([]*Node{s, Neg(s), Reshape(ReduceSum(s, 2), 4, 3, 1)}, 2)
	}), []string{"BroadcastInDim", "Transpose", "Slice", "Concatenate"}, []int{4, 5, 6})
	// Large enough to be split over threads, with rows of odd length.
	compare(t, func(xs []*Node) []*Node {
		x := xs[0] // [37, 30, 41]
		return []*Node{TransposeAllAxes(x, 2, 0, 1), BroadcastToDims(Reshape(x, 37, 1, 30, 41), 37, 3, 30, 41),
			Slice(x, AxisRange(1, 36), AxisRange().Stride(2), AxisRange(3, 40)),
			Concatenate([]*Node{x, Neg(x)}, 2), Concatenate([]*Node{Neg(x), x}, 1)}
	}, []string{"Transpose", "BroadcastInDim", "Slice", "Concatenate"}, []int{37, 30, 41})
	compare(t, func(xs []*Node) []*Node {
		one := Slice(xs[0], AxisRange(2, 3))
		return []*Node{TransposeAllAxes(Reshape(one, 1, 1), 1, 0), Reshape(one)}
	}, nil, []int{3})
}

// TestReshapeFolding checks that a native op writes the reshape of its
// output in place of a copy, and that a value read besides the reshape (or
// returned) keeps its own.
func TestReshapeFolding(t *testing.T) {
	upsample := func(x *Node) *Node { // nearest up-sampling of [2, 3, 4, 5] by 2
		return Reshape(BroadcastToDims(Reshape(x, 2, 3, 1, 4, 1, 5), 2, 3, 2, 4, 2, 5), 2, 6, 8, 5)
	}
	// The transpose, a native op, reads the reshape from a slot.
	fn := func(x *Node) *Node { return TransposeAllAxes(upsample(x), 0, 2, 1, 3) }
	compare(t, withGrads(func(xs []*Node) *Node { return fn(xs[0]) }), []string{"BroadcastInDim", "Transpose"},
		[]int{2, 3, 4, 5})
	be := newProfiled(t)
	defer be.Finalize()
	execute(t, be, func(xs []*Node) []*Node { return []*Node{fn(xs[0])} },
		[]*tensors.Tensor{randTensor(rand.New(rand.NewPCG(1, 1)), 2, 3, 4, 5)})
	for _, name := range be.nativeSteps() {
		if strings.Contains(name, "x 480:") && strings.Contains(name, "Reshape") {
			t.Errorf("the reshape of a broadcast ran as a step of its own: %s", name)
		}
	}
	compare(t, func(xs []*Node) []*Node {
		x := xs[0]
		b := BroadcastToDims(Reshape(x, 2, 3, 1, 4, 1, 5), 2, 3, 2, 4, 2, 5)
		return []*Node{Reshape(b, 2, 6, 8, 5), Mul(b, b), b}
	}, []string{"BroadcastInDim"}, []int{2, 3, 4, 5})
}

// TestConvEpilogues checks convolutions followed by a bias and/or a ReLU,
// as a convolution layer records them, with and without their gradients
// (a training step's backward pass also reads the ReLU's comparison), and
// that the convolution computed them.
func TestConvEpilogues(t *testing.T) {
	conv := func(xs []*Node) *Node {
		pads := [2][2]int{nn.SamePadding(9, 3, 1, 1), nn.SamePadding(7, 3, 1, 1)}
		return nn.Conv2D(xs[0], xs[1], [2]int{1, 1}, [2]int{1, 1}, pads)
	}
	withBias := func(xs []*Node) *Node { return nn.AddBias(conv(xs), xs[2]) }
	in, k, bias := []int{2, 9, 7, 3}, []int{3, 3, 3, 5}, []int{5}
	for _, tc := range []struct {
		name   string
		fn     func(xs []*Node) *Node
		native string
	}{
		{"bias", withBias, "forward+bias src"},
		{"bias relu", func(xs []*Node) *Node { return nn.Relu(withBias(xs)) }, "forward+bias+relu"},
		{"relu", func(xs []*Node) *Node { return nn.Relu(conv(xs)) }, "forward+relu"},
		// The pre-activation is read twice: nothing folds but the bias.
		{"bias relu and sum", func(xs []*Node) *Node {
			s := withBias(xs)
			return Add(nn.Relu(s), s)
		}, "forward+bias src"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			compare(t, func(xs []*Node) []*Node { return []*Node{tc.fn(xs)} }, []string{tc.native}, in, k, bias)
			compare(t, withGrads(tc.fn), []string{tc.native}, in, k, bias)
		})
	}
	// An inference batch norm: scale and shift from its variables, computed
	// after the convolution as a layer records them.
	affine := func(y *Node, v []*Node) *Node {
		inv := Mul(Div(OnesLike(v[0]), Sqrt(AddScalar(v[0], 1e-3))), v[1])
		shift := Sub(v[2], Mul(v[3], inv))
		return Add(Mul(y, ExpandLeftToRank(inv, 4)), ExpandLeftToRank(shift, 4))
	}
	depthwise := func(xs []*Node) *Node {
		pads := [2][2]int{nn.SamePadding(9, 3, 1, 2), nn.SamePadding(7, 3, 1, 2)}
		return nn.DepthwiseConv2D(xs[0], xs[1], [2]int{1, 1}, [2]int{2, 2}, pads)
	}
	for _, tc := range []struct {
		name   string
		fn     func(xs []*Node) *Node
		k      []int
		native string
	}{
		{"affine", func(xs []*Node) *Node { return affine(conv(xs), xs[3:]) }, k, "forward+affine src"},
		{"bias affine relu", func(xs []*Node) *Node { return nn.Relu(affine(withBias(xs), xs[3:])) }, k, "forward+bias+affine+relu"},
		{"depthwise affine relu", func(xs []*Node) *Node { return nn.Relu(affine(depthwise(xs), xs[3:])) }, []int{3, 3, 1, 3}, "forward+affine+relu"},
		// The convolution's output is read twice: nothing folds.
		{"affine and sum", func(xs []*Node) *Node {
			y := conv(xs)
			return Add(affine(y, xs[3:]), y)
		}, k, "forward src"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.k[3]
			// The variance must be positive.
			variance := func(xs []*Node) []*Node { return append(xs[:3:3], Abs(xs[3]), xs[4], xs[5], xs[6]) }
			fn := func(xs []*Node) *Node { return tc.fn(variance(xs)) }
			compare(t, func(xs []*Node) []*Node { return []*Node{fn(xs)} }, []string{tc.native}, in, tc.k, []int{c},
				[]int{c}, []int{c}, []int{c}, []int{c})
			// In training the backward pass reads the convolution's output.
			compare(t, withGrads(fn), []string{"forward"}, in, tc.k, []int{c}, []int{c}, []int{c}, []int{c}, []int{c})
		})
	}
	// A ReLU whose input is also returned keeps it.
	compare(t, func(xs []*Node) []*Node {
		s := withBias(xs)
		return []*Node{nn.Relu(s), s}
	}, []string{"forward+bias src"}, in, k, bias)
	// The backward pass computes the ReLU's mask within its own program,
	// zeros included.
	be := newProfiled(t)
	defer be.Finalize()
	rng := rand.New(rand.NewPCG(2, 2))
	execute(t, be, withGrads(func(xs []*Node) *Node { return nn.Relu(withBias(xs)) }),
		[]*tensors.Tensor{randTensor(rng, in...), randTensor(rng, k...), randTensor(rng, bias...)})
	for _, name := range be.nativeSteps() {
		if strings.Contains(name, "GreaterThan") && !strings.Contains(name, "Where") ||
			strings.HasSuffix(name, "x 630: [BroadcastInDim]") {
			t.Errorf("the ReLU mask is a pass of its own: %s", name)
		}
	}
}

// TestBlockedLayouts runs two ResNet bottleneck blocks, whose activations
// stay in oneDNN's blocked layout from one convolution to the next and
// through the residual add and ReLU, and reads them in every other way
// too: as outputs, through a reduction, and as a comparison's bools.
func TestBlockedLayouts(t *testing.T) {
	if !Native() {
		t.Skip("oneDNN is not loaded: the blocked layout is never used")
	}
	conv := func(x, k, b *Node, kernel int) *Node {
		h, w := x.Shape().Dimensions[1], x.Shape().Dimensions[2]
		pads := [2][2]int{nn.SamePadding(h, kernel, 1, 1), nn.SamePadding(w, kernel, 1, 1)}
		return nn.AddBias(nn.Conv2D(x, k, [2]int{1, 1}, [2]int{1, 1}, pads), b)
	}
	block := func(x *Node, p []*Node, project bool) *Node {
		y := nn.Relu(conv(x, p[0], p[1], 1))
		y = nn.Relu(conv(y, p[2], p[3], 3))
		y = conv(y, p[4], p[5], 1)
		short := x
		if project {
			short = conv(x, p[6], p[7], 1)
		}
		return nn.Relu(Add(y, short))
	}
	net := func(xs []*Node) (*Node, *Node) {
		b1 := block(xs[0], xs[1:9], true)
		return b1, block(b1, xs[9:15], false)
	}
	dims := [][]int{{2, 9, 7, 32},
		{1, 1, 32, 32}, {32}, {3, 3, 32, 32}, {32}, {1, 1, 32, 64}, {64}, {1, 1, 32, 64}, {64},
		{1, 1, 64, 32}, {32}, {3, 3, 32, 32}, {32}, {1, 1, 32, 64}, {64}}
	compare(t, func(xs []*Node) []*Node {
		b1, b2 := net(xs)
		return []*Node{b2, ReduceSum(b1, 1, 2), GreaterThan(b2, ScalarOne(b2.Graph(), dtypes.Float32))}
	}, []string{"forward+bias+relu blocked", "to blocked", "Unblock"}, dims...)
	compare(t, withGrads(func(xs []*Node) *Node {
		_, b2 := net(xs)
		return b2
	}), []string{"forward"}, dims...)
}

// TestWeightCache calls one inference executable with the same weights,
// then with one value of the kernel, the bias or the batch norm's scale
// changed: each call must compute with the weights it is given, not the
// ones the convolution prepared before.
func TestWeightCache(t *testing.T) {
	ref, err := oracle()
	if err != nil {
		t.Fatal(err)
	}
	be := newProfiled(t)
	defer be.Finalize()
	fn := func(xs []*Node) *Node {
		pads := [2][2]int{nn.SamePadding(9, 3, 1, 1), nn.SamePadding(7, 3, 1, 1)}
		y := nn.AddBias(nn.Conv2D(xs[0], xs[1], [2]int{1, 1}, [2]int{1, 1}, pads), xs[2])
		return nn.Relu(Add(Mul(y, ExpandLeftToRank(xs[3], 4)), ExpandLeftToRank(xs[4], 4)))
	}
	newExec := func(be backends.Backend) *Exec {
		exec, err := NewExec(be, func(x, k, b, scale, shift *Node) *Node { return fn([]*Node{x, k, b, scale, shift}) })
		if err != nil {
			t.Fatal(err)
		}
		return exec
	}
	fast, slow := newExec(be), newExec(ref)
	defer fast.Finalize()
	defer slow.Finalize()
	rng := rand.New(rand.NewPCG(6, 6))
	inputs := []*tensors.Tensor{randTensor(rng, 2, 9, 7, 32), randTensor(rng, 3, 3, 32, 40), randTensor(rng, 40),
		randTensor(rng, 40), randTensor(rng, 40)}
	changed := func(operand int) []*tensors.Tensor {
		ins := slices.Clone(inputs)
		flat := tensors.MustCopyFlatData[float32](ins[operand])
		flat[len(flat)-1] += 0.5
		ins[operand] = tensors.FromFlatDataAndDimensions(flat, ins[operand].Shape().Dimensions...)
		return ins
	}
	for i, ins := range [][]*tensors.Tensor{inputs, inputs, changed(1), changed(2), changed(3), inputs} {
		want, got := runExec(t, slow, ins)[0], runExec(t, fast, ins)[0]
		if e := relErr(got, want); e > 1e-4 {
			t.Errorf("call %d: relative error %.3g", i, e)
		}
	}
}

// TestFusedSums checks sums over leading axes that run inside the program
// computing the summed value: alone, with the value also read elsewhere,
// with a column count that does not divide the program's blocks, and as a
// batch norm's statistics and their gradients.
func TestFusedSums(t *testing.T) {
	centredSquares := func(xs []*Node) (*Node, *Node) {
		c := Sub(xs[0], ExpandLeftToRank(xs[1], 4))
		return c, Mul(c, c)
	}
	for _, dims := range [][]int{{2, 33, 17, 24}, {3, 20, 20, 7}} {
		ch := []int{dims[3]}
		compare(t, func(xs []*Node) []*Node {
			_, sq := centredSquares(xs)
			return []*Node{ReduceSum(sq, 0, 1, 2)}
		}, []string{"and 1 sums"}, dims, ch)
		compare(t, func(xs []*Node) []*Node {
			c, sq := centredSquares(xs)
			return []*Node{ReduceSum(sq, 0, 1, 2), Neg(c), ReduceSum(c, 0, 1)}
		}, []string{"and 2 sums"}, dims, ch)
		// Every axis: one column.
		compare(t, func(xs []*Node) []*Node {
			_, sq := centredSquares(xs)
			return []*Node{ReduceSum(sq, 0, 1, 2, 3)}
		}, []string{"and 1 sums"}, dims, ch)
		compare(t, withGrads(func(xs []*Node) *Node {
			c, sq := centredSquares(xs)
			inv := Inverse(Sqrt(AddScalar(ReduceMean(sq, 0, 1, 2), 1e-3)))
			return Mul(c, ExpandLeftToRank(inv, 4))
		}), []string{"sums"}, dims, ch)
	}
}
