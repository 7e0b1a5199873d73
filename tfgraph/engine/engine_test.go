package engine

import (
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/tfrun/tfrun/tfgraph/cpu"
)

// TestPureOverride checks that TFRUN_CPU=pure selects the adapter even
// where the native kernels are built in, for comparisons.
func TestPureOverride(t *testing.T) {
	t.Setenv(PureEnv, "pure")
	be, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Finalize()
	if be.Name() != "tfrun-go" {
		t.Errorf("with %s=pure the engine is %q, want the adapter tfrun-go", PureEnv, be.Name())
	}
}

func TestGoEngine(t *testing.T) {
	for _, cfg := range []Config{{}, {Name: "go"}, {Name: " GO ", Threads: 1}, {Name: "go", Threads: 2, Plugin: "ignored"}} {
		be, err := New(cfg)
		if err != nil {
			t.Fatalf("New(%+v): %v", cfg, err)
		}
		want := "tfrun-go"
		if cpu.Native() {
			want = "tfrun-cpu"
		}
		if be.Name() != want {
			t.Errorf("New(%+v).Name() = %q, want %q", cfg, be.Name(), want)
		}
		out, err := ExecOnce(be, func(g *Graph) *Node {
			x := IotaFull(g, shapes.Make(dtypes.Float32, 2, 3))
			return ReduceAllSum(Convolve(Reshape(x, 1, 2, 3, 1), Ones(g, shapes.Make(dtypes.Float32, 2, 2, 1, 1))).Done())
		})
		if err != nil {
			t.Fatalf("New(%+v): executing: %v", cfg, err)
		}
		// Windows over [[0 1 2] [3 4 5]]: (0+1+3+4) + (1+2+4+5).
		if got := tensors.MustCopyFlatData[float32](out)[0]; got != 20 {
			t.Errorf("New(%+v): got %v, want 20", cfg, got)
		}
		be.Finalize()
	}
	if _, err := New(Config{Name: "go", Threads: -2}); err == nil {
		t.Error("negative threads should fail")
	}
}

func TestUnknownEngine(t *testing.T) {
	be, err := New(Config{Name: "tpu"})
	if err == nil || be != nil {
		t.Fatalf("New(tpu) = %v, %v; want an error and no backend", be, err)
	}
	for _, want := range []string{`"tpu"`, `"go"`, `"xla"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q should mention %s", err, want)
		}
	}
}

func TestConfigString(t *testing.T) {
	cases := []struct {
		cfg  Config
		want []string
	}{
		{Config{}, []string{"engine=go", "all cores"}},
		{Config{Name: "go", Threads: 3, Plugin: "x.so"}, []string{"engine=go threads=3"}},
		{Config{Name: "xla", Plugin: "/p/pjrt_c_api_cpu_plugin.so", Threads: 3}, []string{"engine=xla plugin=/p/pjrt_c_api_cpu_plugin.so"}},
		{Config{Name: "xla"}, []string{"engine=xla plugin=(none)"}},
		{Config{Name: "bogus"}, []string{"invalid"}},
	}
	for _, tc := range cases {
		s := tc.cfg.String()
		for _, w := range tc.want {
			if !strings.Contains(s, w) {
				t.Errorf("%+v.String() = %q, want it to contain %q", tc.cfg, s, w)
			}
		}
	}
	if s := (Config{Name: "go", Plugin: "x.so"}).String(); strings.Contains(s, "x.so") {
		t.Errorf("go engine String() = %q mentions the ignored plugin", s)
	}
}
