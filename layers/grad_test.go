package layers

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/tfgraph/adapter"
)

// gradCheck runs a chain of layers in float64 on the adapter and compares
// the gradients of a random projection of its output, w.r.t. the input and
// every trainable weight, with central finite differences.
func gradCheck(t *testing.T, training bool, input []int, chain ...Layer) {
	t.Helper()
	backend, err := adapter.New("")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 12))
	random := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = rng.Float64()*2 - 1
		}
		return v
	}
	type param struct {
		scope, name string
		shape       []int
		vals        []float64
		frozen      bool
	}
	var params []*param
	shape := append([]int{}, input...)
	for i, l := range chain {
		for _, w := range l.Weights([][]int{shape}) {
			vals := random(int(prod(w.Shape)))
			if w.Name == "moving_variance" {
				for j := range vals {
					vals[j] = 1 + math.Abs(vals[j])
				}
			}
			params = append(params, &param{scope: fmt.Sprintf("l%d", i), name: w.Name, shape: w.Shape, vals: vals, frozen: w.Frozen})
		}
		out, err := l.OutputShape([][]int{shape})
		if err != nil {
			t.Fatal(err)
		}
		shape = out
	}
	x := random(2 * int(prod(input)))
	c := random(2 * int(prod(shape)))
	outShape := append([]int{2}, shape...)
	forward := func(ctx *context.Context, in *graph.Node) *graph.Node {
		ctx.SetTraining(in.Graph(), training)
		y := in
		for i, l := range chain {
			y = l.Apply(ctx.In(fmt.Sprintf("l%d", i)), []*graph.Node{y})
		}
		return graph.ReduceAllSum(graph.Mul(y, graph.Const(in.Graph(), tensors.FromFlatDataAndDimensions(c, outShape...))))
	}
	objective := func(xv []float64) float64 {
		ctx := context.New()
		for _, p := range params {
			ctx.In(p.scope).VariableWithValue(p.name, tensors.FromFlatDataAndDimensions(p.vals, p.shape...))
		}
		out, err := context.ExecOnce(backend, ctx, forward, tensors.FromFlatDataAndDimensions(xv, append([]int{2}, input...)...))
		if err != nil {
			t.Fatal(err)
		}
		return out.Value().(float64)
	}
	ctx := context.New()
	for _, p := range params {
		ctx.In(p.scope).VariableWithValue(p.name, tensors.FromFlatDataAndDimensions(p.vals, p.shape...))
	}
	outs, err := context.ExecOnceN(backend, ctx, func(ctx *context.Context, in *graph.Node) []*graph.Node {
		loss := forward(ctx, in)
		wrt := []*graph.Node{in}
		for _, p := range params {
			wrt = append(wrt, ctx.In(p.scope).GetVariable(p.name).ValueGraph(in.Graph()))
		}
		return graph.Gradient(loss, wrt...)
	}, tensors.FromFlatDataAndDimensions(x, append([]int{2}, input...)...))
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, vals []float64, got []float64) {
		// Every element for small tensors, a sample of the rest.
		step := max(1, len(vals)/40)
		for i := 0; i < len(vals); i += step {
			const eps = 1e-6
			orig := vals[i]
			vals[i] = orig + eps
			up := objective(x)
			vals[i] = orig - eps
			down := objective(x)
			vals[i] = orig
			fd := (up - down) / (2 * eps)
			if math.Abs(got[i]-fd) > 1e-6*math.Max(1, math.Abs(fd)) {
				t.Fatalf("%s[%d]: gradient %g, finite difference %g", what, i, got[i], fd)
			}
		}
	}
	check("input", x, tensors.MustCopyFlatData[float64](outs[0]))
	for i, p := range params {
		if p.frozen {
			continue
		}
		check(p.scope+"/"+p.name, p.vals, tensors.MustCopyFlatData[float64](outs[1+i]))
	}
}

func TestGradients(t *testing.T) {
	for _, tc := range []struct {
		name     string
		training bool
		input    []int
		chain    []Layer
	}{
		{"conv-pool-dense", true, []int{6, 5, 2}, []Layer{
			&Conv2D{Filters: 3, Kernel: Sq(3), Padding: "same", Activation: "tanh"},
			MaxPool2D(2), &Flatten{}, &Dense{Units: 4, Activation: "sigmoid"}}},
		{"even-kernels-strides-dilation", true, []int{9, 8, 2}, []Layer{
			&Conv2D{Filters: 3, Kernel: Pair{2, 3}, Strides: Sq(2), Padding: "same"},
			&Conv2D{Filters: 2, Kernel: Sq(2), Padding: "same", Activation: "tanh"},
			&Conv2D{Filters: 2, Kernel: Sq(2), Dilation: Sq(2)},
			&Conv2D{Filters: 1, Kernel: Pair{1, 2}, Strides: Pair{1, 2}}}},
		{"batchnorm-training", true, []int{4, 4, 3}, []Layer{&BatchNorm{}}},
		{"batchnorm-inference", false, []int{4, 4, 3}, []Layer{&BatchNorm{}}},
		{"zeropad-depthwise-separable", true, []int{5, 4, 2}, []Layer{
			&ZeroPadding2D{Padding: Ints{1, 2}},
			&DepthwiseConv2D{Kernel: Sq(3), Multiplier: 2, Strides: Sq(2), Activation: "tanh"},
			&SeparableConv2D{Filters: 3, Kernel: Sq(3), Padding: "same", Dilation: Sq(2)}}},
		{"conv2dtranspose", true, []int{3, 4, 2}, []Layer{
			&Conv2DTranspose{Filters: 2, Kernel: Sq(3), Strides: Sq(2), Padding: "same", Activation: "tanh"},
			&Conv2DTranspose{Filters: 1, Kernel: Pair{2, 3}, Strides: Sq(1), Padding: "valid"}}},
		{"same-stride-depthwise-relu-pools", true, []int{9, 8, 2}, []Layer{
			&DepthwiseConv2D{Kernel: Sq(3), Strides: Sq(2), Padding: "same"},
			&ReLU{NegativeSlope: 0.1, Threshold: 0.05},
			&Pool2D{kind: "maxpool2d", Pool: Sq(3), Strides: Sq(2), Padding: "same"},
			&Pool2D{kind: "avgpool2d", Pool: Sq(3), Strides: Sq(2), Padding: "same"}}},
		{"upsampling-globalpool", true, []int{4, 5, 2}, []Layer{
			&UpSampling2D{Size: Sq(2)}, &UpSampling2D{Size: Pair{2, 3}, Interpolation: "bilinear"},
			AvgPool2D(2), &GlobalAvgPool2D{}, &Reshape{Target: []int{1, 2}}}},
	} {
		t.Run(tc.name, func(t *testing.T) { gradCheck(t, tc.training, tc.input, tc.chain...) })
	}
}
