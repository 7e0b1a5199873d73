package adapter

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
)

type windowCfg struct {
	window, strides []int
	paddings        [][2]int
}

func (w windowCfg) outDims(dims []int) []int {
	out := make([]int, len(dims))
	for i, d := range dims {
		var p [2]int
		if len(w.paddings) > 0 {
			p = w.paddings[i]
		}
		out[i] = (d+p[0]+p[1]-w.window[i])/w.strides[i] + 1
	}
	return out
}

// forWindow calls fn with the operand index of every non-padding element of
// window o, in row-major window order.
func (w windowCfg) forWindow(dims, o []int, fn func(idx []int)) {
	idx := make([]int, len(dims))
	iterIndices(w.window, func(k []int) {
		for i := range dims {
			var p [2]int
			if len(w.paddings) > 0 {
				p = w.paddings[i]
			}
			idx[i] = o[i]*w.strides[i] + k[i] - p[0]
			if idx[i] < 0 || idx[i] >= dims[i] {
				return
			}
		}
		fn(idx)
	})
}

// refReduceWindow ignores padding elements, which for max, min and sum is the
// same as padding with the reduction's identity.
func refReduceWindow(x array, w windowCfg, op backends.ReduceOpType) array {
	out := zerosArray(w.outDims(x.dims)...)
	iterIndices(out.dims, func(o []int) {
		var acc float64
		switch op {
		case backends.ReduceOpMax:
			acc = math.Inf(-1)
		case backends.ReduceOpMin:
			acc = math.Inf(1)
		case backends.ReduceOpProduct:
			acc = 1
		}
		w.forWindow(x.dims, o, func(idx []int) {
			v := x.at(idx...)
			switch op {
			case backends.ReduceOpMax:
				acc = math.Max(acc, v)
			case backends.ReduceOpMin:
				acc = math.Min(acc, v)
			case backends.ReduceOpSum:
				acc += v
			case backends.ReduceOpProduct:
				acc *= v
			}
		})
		out.set(acc, o...)
	})
	return out
}

// refSelectAndScatter follows XLA: the first extreme element in window order
// (padding never selected) receives the window's source value.
func refSelectAndScatter(x, source array, w windowCfg, isMax bool) array {
	out := zerosArray(x.dims...)
	iterIndices(source.dims, func(o []int) {
		var best []int
		bestV := 0.0
		w.forWindow(x.dims, o, func(idx []int) {
			v := x.at(idx...)
			if best == nil || (isMax && v > bestV) || (!isMax && v < bestV) {
				best, bestV = append([]int(nil), idx...), v
			}
		})
		if best != nil {
			out.add(source.at(o...), best...)
		}
	})
	return out
}

var windowCases = []struct {
	name string
	dims []int
	w    windowCfg
}{
	{"2x2_stride2", []int{2, 4, 6, 3}, windowCfg{[]int{1, 2, 2, 1}, []int{1, 2, 2, 1}, nil}},
	{"3x3_stride2_pad1", []int{2, 7, 6, 2}, windowCfg{[]int{1, 3, 3, 1}, []int{1, 2, 2, 1}, [][2]int{{0, 0}, {1, 1}, {1, 1}, {0, 0}}}},
	{"3x2_stride1_asym_pad", []int{1, 5, 4, 2}, windowCfg{[]int{1, 3, 2, 1}, []int{1, 1, 1, 1}, [][2]int{{0, 0}, {0, 2}, {1, 0}, {0, 0}}}},
	{"1d_window3_stride3_overhang", []int{3, 8}, windowCfg{[]int{1, 3}, []int{1, 3}, [][2]int{{0, 0}, {0, 1}}}},
}

// ties makes windows with repeated extremes, so the first-wins rule matters.
func ties(rng *rand.Rand, dims ...int) array {
	a := zerosArray(dims...)
	for i := range a.data {
		a.data[i] = float64(rng.IntN(3))
	}
	return a
}

func TestSelectAndScatterValues(t *testing.T) {
	be := testBackend(t)
	rng := rand.New(rand.NewPCG(21, 22))
	for _, tc := range windowCases {
		for _, isMax := range []bool{true, false} {
			for _, withTies := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s_max=%v_ties=%v", tc.name, isMax, withTies), func(t *testing.T) {
					x := randArray(rng, tc.dims...)
					if withTies {
						x = ties(rng, tc.dims...)
					}
					source := randArray(rng, tc.w.outDims(tc.dims)...)
					got := execOps(t, be, func(b backends.Builder, p []backends.Op) ([]backends.Op, error) {
						var out backends.Op
						var err error
						if isMax {
							out, err = b.SelectAndScatterMax(p[0], p[1], tc.w.window, tc.w.strides, tc.w.paddings)
						} else {
							out, err = b.SelectAndScatterMin(p[0], p[1], tc.w.window, tc.w.strides, tc.w.paddings)
						}
						return []backends.Op{out}, err
					}, x, source)[0]
					assertClose(t, "SelectAndScatter", got, refSelectAndScatter(x, source, tc.w, isMax), 1e-12)
				})
			}
		}
	}
}

// A window made only of -Inf must send its value to a real element, never
// to the padding (which also holds -Inf).
func TestSelectAndScatterAllLowest(t *testing.T) {
	be := testBackend(t)
	x := array{dims: []int{4}, data: []float64{math.Inf(-1), math.Inf(-1), math.Inf(-1), math.Inf(-1)}}
	w := windowCfg{[]int{3}, []int{2}, [][2]int{{1, 0}}}
	source := array{dims: []int{2}, data: []float64{10, 20}}
	got := execOps(t, be, func(b backends.Builder, p []backends.Op) ([]backends.Op, error) {
		out, err := b.SelectAndScatterMax(p[0], p[1], w.window, w.strides, w.paddings)
		return []backends.Op{out}, err
	}, x, source)[0]
	assertClose(t, "SelectAndScatterMax", got, array{dims: []int{4}, data: []float64{10, 20, 0, 0}}, 0)
}

// simplego implements ReduceWindow itself; this pins down that it pads with
// the reduction identity and honours strides, as pooling relies on.
func TestReduceWindowValues(t *testing.T) {
	be := testBackend(t)
	rng := rand.New(rand.NewPCG(23, 24))
	ops := []backends.ReduceOpType{backends.ReduceOpMax, backends.ReduceOpMin, backends.ReduceOpSum}
	for _, tc := range windowCases {
		for _, op := range ops {
			t.Run(fmt.Sprintf("%s_%s", tc.name, op), func(t *testing.T) {
				x := randArray(rng, tc.dims...)
				got := execGraph(t, be, func(xs []*Node) []*Node {
					return []*Node{BackendReduceWindow(xs[0], op, tc.w.window, tc.w.strides, nil, nil, tc.w.paddings)}
				}, x)[0]
				assertClose(t, "ReduceWindow", got, refReduceWindow(x, tc.w, op), 1e-12)
			})
		}
	}
}

// refPool2D pools an NHWC array the way graph.MaxPool/MeanPool do: means
// divide by the number of non-padding elements in the window.
func refPool2D(x array, window, stride int, padding [2]int, isMax bool) array {
	w := windowCfg{
		window:   []int{1, window, window, 1},
		strides:  []int{1, stride, stride, 1},
		paddings: [][2]int{{0, 0}, padding, padding, {0, 0}},
	}
	if isMax {
		return refReduceWindow(x, w, backends.ReduceOpMax)
	}
	sum := refReduceWindow(x, w, backends.ReduceOpSum)
	ones := zerosArray(x.dims...)
	for i := range ones.data {
		ones.data[i] = 1
	}
	count := refReduceWindow(ones, w, backends.ReduceOpSum)
	for i := range sum.data {
		sum.data[i] /= count.data[i]
	}
	return sum
}

func TestPoolingValuesAndGradients(t *testing.T) {
	be := testBackend(t)
	rng := rand.New(rand.NewPCG(25, 26))
	cases := []struct {
		name           string
		dims           []int
		window, stride int
		padding        [2]int
	}{
		{"window2_stride2", []int{2, 4, 6, 3}, 2, 2, [2]int{}},
		{"window3_stride2_pad1", []int{2, 7, 6, 2}, 3, 2, [2]int{1, 1}},
		{"window3_stride2_pad01", []int{1, 6, 5, 2}, 3, 2, [2]int{0, 1}},
	}
	for _, tc := range cases {
		for _, isMax := range []bool{true, false} {
			name := fmt.Sprintf("%s_mean", tc.name)
			if isMax {
				name = fmt.Sprintf("%s_max", tc.name)
			}
			pool := func(x *Node) *Node {
				var b *PoolBuilder
				if isMax {
					b = MaxPool(x)
				} else {
					b = MeanPool(x)
				}
				b = b.Window(tc.window).Strides(tc.stride)
				if tc.padding != [2]int{} {
					b = b.PaddingPerDim([][2]int{tc.padding, tc.padding})
				}
				return b.Done()
			}
			t.Run(name, func(t *testing.T) {
				x := randArray(rng, tc.dims...)
				got := execGraph(t, be, func(xs []*Node) []*Node { return []*Node{pool(xs[0])} }, x)[0]
				assertClose(t, "pool", got, refPool2D(x, tc.window, tc.stride, tc.padding, isMax), 1e-12)
				checkGradient(t, be, func(xs []*Node) *Node { return pool(xs[0]) }, x)
			})
		}
	}
}
