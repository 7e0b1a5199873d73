package layers

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/tfgraph/adapter"
	"gopkg.in/yaml.v3"
)

func fromYAML(t *testing.T, kind, params string) Layer {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(params), &n); err != nil {
		t.Fatal(err)
	}
	l, err := FromYAML(kind, n.Content[0])
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestConv2DMatchesKeras checks the layer against a direct evaluation of
// Keras' definition: HWIO kernel, "same" padding split with the extra pixel
// at the end, stride 2, bias, ReLU.
func TestConv2DMatchesKeras(t *testing.T) {
	c := fromYAML(t, "conv2d", "{filters: 3, kernel: [3, 2], strides: 2, padding: same, activation: relu}").(*Conv2D)
	const h, w, cin = 7, 6, 2
	out, err := c.OutputShape([][]int{{h, w, cin}})
	if err != nil {
		t.Fatal(err)
	}
	if out[0] != 4 || out[1] != 3 || out[2] != 3 {
		t.Fatalf("output shape %v, want [4 3 3] (ceil(7/2), ceil(6/2))", out)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	x := make([]float32, h*w*cin)
	k := make([]float32, 3*2*cin*3)
	bias := []float32{0.1, -0.2, 0.3}
	for i := range x {
		x[i] = rng.Float32()*2 - 1
	}
	for i := range k {
		k[i] = rng.Float32()*2 - 1
	}
	backend, err := adapter.New("")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	ctx.VariableWithValue("kernel", tensors.FromFlatDataAndDimensions(k, 3, 2, cin, 3))
	ctx.VariableWithValue("bias", tensors.FromFlatDataAndDimensions(bias, 3))
	got, err := context.ExecOnce(backend, ctx, func(ctx *context.Context, in *graph.Node) *graph.Node {
		return c.Apply(ctx, []*graph.Node{in})
	}, tensors.FromFlatDataAndDimensions(x, 1, h, w, cin))
	if err != nil {
		t.Fatal(err)
	}
	vals := tensors.MustCopyFlatData[float32](got)
	// TensorFlow's "same": total padding max((out-1)·s + k - in, 0), with the
	// smaller half before.
	padTop := ((out[0]-1)*2 + 3 - h) / 2
	padLeft := ((out[1]-1)*2 + 2 - w) / 2
	for oy := 0; oy < out[0]; oy++ {
		for ox := 0; ox < out[1]; ox++ {
			for f := 0; f < 3; f++ {
				sum := float64(bias[f])
				for ky := 0; ky < 3; ky++ {
					for kx := 0; kx < 2; kx++ {
						iy, ix := oy*2+ky-padTop, ox*2+kx-padLeft
						if iy < 0 || iy >= h || ix < 0 || ix >= w {
							continue
						}
						for ci := 0; ci < cin; ci++ {
							sum += float64(x[(iy*w+ix)*cin+ci]) * float64(k[((ky*2+kx)*cin+ci)*3+f])
						}
					}
				}
				want := math.Max(sum, 0)
				if g := vals[(oy*out[1]+ox)*3+f]; math.Abs(float64(g)-want) > 1e-5 {
					t.Fatalf("out[%d,%d,%d] = %g, want %g", oy, ox, f, g, want)
				}
			}
		}
	}
}

func TestShapes(t *testing.T) {
	for _, tc := range []struct {
		kind, params string
		in           [][]int
		want         []int
	}{
		{"dense", "{units: 5}", [][]int{{4, 3}}, []int{4, 5}},
		{"conv2d", "{filters: 8, kernel: 3}", [][]int{{28, 28, 1}}, []int{26, 26, 8}},
		{"conv2d", "{filters: 8, kernel: 3, dilation: 2}", [][]int{{28, 28, 1}}, []int{24, 24, 8}},
		{"maxpool2d", "{pool: 2}", [][]int{{7, 7, 4}}, []int{3, 3, 4}},
		{"maxpool2d", "{pool: 2, padding: same}", [][]int{{7, 7, 4}}, []int{4, 4, 4}},
		{"avgpool2d", "{pool: 3, strides: 1}", [][]int{{5, 5, 2}}, []int{3, 3, 2}},
		{"flatten", "{}", [][]int{{7, 7, 64}}, []int{3136}},
		{"concatenate", "{}", [][]int{{4, 4, 2}, {4, 4, 3}}, []int{4, 4, 5}},
	} {
		got, err := fromYAML(t, tc.kind, tc.params).OutputShape(tc.in)
		if err != nil {
			t.Errorf("%s %s: %v", tc.kind, tc.params, err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s %s on %v: %v, want %v", tc.kind, tc.params, tc.in, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s %s on %v: %v, want %v", tc.kind, tc.params, tc.in, got, tc.want)
				break
			}
		}
	}
	if _, err := Add().OutputShape([][]int{{4, 4, 2}, {4, 4, 3}}); err == nil {
		t.Error("add of mismatched shapes: no error")
	}
}

func TestYAMLErrors(t *testing.T) {
	for _, tc := range []struct{ kind, params, want string }{
		{"dense", "{units: 0}", "units must be > 0"},
		{"conv2d", "{filters: 4, kernel: [3, 3, 3]}", "want a number or [height, width]"},
		{"conv2d", "{filters: 4, kernel: 3, padding: full}", `padding must be "valid" or "same"`},
		{"dropout", "{rate: 1}", "rate must be in [0, 1)"},
		{"dense", "{units: 3, bias: false}", "field bias not found"},
	} {
		var n yaml.Node
		yaml.Unmarshal([]byte(tc.params), &n)
		_, err := FromYAML(tc.kind, n.Content[0])
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: error %v, want %q", tc.kind, tc.params, err, tc.want)
		}
	}
}
