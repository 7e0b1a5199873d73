package main

import (
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/datasets"
	"github.com/tfrun/tfrun/datasets/mnist"
	"github.com/tfrun/tfrun/inputs"
	"github.com/tfrun/tfrun/modeldir"
	"github.com/tfrun/tfrun/models"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tfrun-cli")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "tfrun")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		panic(string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

func run(t *testing.T, env []string, args ...string) result {
	t.Helper()
	return runIn(t, "", env, args...)
}

// runIn runs tfrun in folder dir ("" is the package's).
func runIn(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var so, se strings.Builder
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	r := result{stdout: so.String(), stderr: se.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// wantFailure checks the contract for bad input: exit status 2 and one line
// on stderr that names the culprit.
// runJSON runs tfrun with args, which must succeed, and decodes its
// standard output into v.
func runJSON(t *testing.T, v any, args ...string) result {
	t.Helper()
	r := run(t, nil, args...)
	if r.code != 0 {
		t.Fatalf("tfrun %s: exit status %d: %s", args[0], r.code, r.stderr)
	}
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("tfrun %s: %v in %q", args[0], err, r.stdout)
	}
	return r
}

func wantFailure(t *testing.T, r result, mentions ...string) {
	t.Helper()
	if r.code != 2 {
		t.Errorf("exit status %d, want 2 (stderr %q)", r.code, r.stderr)
	}
	if lines := strings.Count(strings.TrimRight(r.stderr, "\n"), "\n"); lines != 0 {
		t.Errorf("stderr has %d lines, want one: %q", lines+1, r.stderr)
	}
	for _, m := range mentions {
		if !strings.Contains(r.stderr, m) {
			t.Errorf("stderr %q does not mention %q", r.stderr, m)
		}
	}
}

func savedMLP(t *testing.T) string {
	t.Helper()
	m, err := models.FromZoo("mlp", []int{28, 28, 1}, 10)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	m.Init(ctx, 1)
	dir := filepath.Join(t.TempDir(), "mlp")
	if err := modeldir.Save(dir, m, ctx, modeldir.Inputs{Preprocess: datasets.Preprocess{Scale: 255}}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeTestPNG(t *testing.T, path string, size int) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, size, size))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	img.Set(1, 1, color.Gray{255})
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

func TestBadInputs(t *testing.T) {
	tmp := t.TempDir()
	model := savedMLP(t)
	missing := filepath.Join(tmp, "missing.png")
	wantFailure(t, run(t, nil, "predict", "--model", model, "--input", missing), missing)

	big := filepath.Join(tmp, "big.png")
	writeTestPNG(t, big, 32)
	outNPY := filepath.Join(tmp, "probs.npy")
	wantFailure(t, run(t, nil, "predict", "--model", model, "--input", big, "--out", outNPY), big, "32×32×1", "28×28×1")
	if _, err := os.Stat(outNPY); err == nil {
		t.Error("a failed predict left an output file")
	}

	good := filepath.Join(tmp, "x.npy")
	if err := inputs.SaveNPY(good, &inputs.Array{Shape: []int{2, 28, 28}, Data: make([]float32, 2*784)}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(good)
	trunc := filepath.Join(tmp, "trunc.npy")
	os.WriteFile(trunc, b[:len(b)-100], 0o644)
	wantFailure(t, run(t, nil, "predict", "--model", model, "--input", trunc), trunc)

	cfgDir := t.TempDir()
	badKey := filepath.Join(cfgDir, "bad.yaml")
	os.WriteFile(badKey, []byte("model: {zoo: mlp, input: [28, 28, 1]}\ndata: {train: 'mnist:train'}\ntrain: {epoch: 3}\n"), 0o644)
	out := filepath.Join(tmp, "run")
	wantFailure(t, run(t, nil, "train", "--config", badKey, "--out", out), badKey, "epoch")
	wantFailure(t, run(t, nil, "train", "--config", "../../configs/mnist_mlp.yaml", "--out", out, "--set", "train.optimizer=adagrad"), "adagrad")
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed train created its output folder")
	}
	wantFailure(t, run(t, nil, "eval", "--model", tmp, "--data", "mnist:test"), tmp, "not a tfrun model folder")
	// The xla engine without a plugin must fail, not fall back to go.
	wantFailure(t, run(t, []string{"PJRT_PLUGIN_LIBRARY_PATH="}, "bench", "--model", "mlp", "--engine", "xla"), "no PJRT plugin", "never downloads")
	wantFailure(t, run(t, nil, "bench", "--model", "mlp", "--engine", "xla", "--plugin", "/nonexistent/pjrt.so"), "/nonexistent/pjrt.so")
	wantFailure(t, run(t, nil, "bench", "--model", "mlp", "--only", "training"), "--only", "training")
}

// TestBenchOnly times inference alone: the JSON has its time, CPU time and
// GFLOP/s, and no train step.
func TestBenchOnly(t *testing.T) {
	var res map[string]any
	runJSON(t, &res, "bench", "--model", "mlp", "--batch", "8", "--input", "28x28x1", "--repeats", "1", "--only", "inference", "--json")
	for _, key := range []string{"inference_ms", "inference_gflops", "inference_cpu_ms"} {
		if v, _ := res[key].(float64); v <= 0 {
			t.Errorf("%s = %v, want > 0", key, res[key])
		}
	}
	if _, ok := res["train_step_ms"]; ok {
		t.Errorf("--only inference timed a train step: %v", res)
	}
}

func TestTruncatedIDX(t *testing.T) {
	src, err := mnist.Dir()
	if err != nil {
		t.Skipf("MNIST is not in the module cache: %v", err)
	}
	dir := t.TempDir()
	for _, name := range []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"} {
		if err := os.Symlink(filepath.Join(src, name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(name, "images") {
			b = b[:len(b)/3]
		}
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	r := run(t, []string{"TFRUN_MNIST_DIR=" + dir}, "eval", "--model", savedMLP(t), "--data", "mnist:test")
	wantFailure(t, r, filepath.Join(dir, "t10k-images-idx3-ubyte.gz"))
}

// TestTrainEvalPredict runs the README's main job in miniature.
func TestTrainEvalPredict(t *testing.T) {
	if _, err := mnist.Dir(); err != nil {
		t.Skipf("MNIST is not in the module cache: %v", err)
	}
	out := filepath.Join(t.TempDir(), "run")
	r := run(t, nil, "train", "--config", "../../configs/mnist_mlp.yaml", "--out", out, "--quiet",
		"--set", "data.limit=3000", "--set", "train.epochs=2", "--set", "train.batch_size=32", "--set", "data.test=")
	if r.code != 0 {
		t.Fatalf("train failed: %s", r.stderr)
	}
	for _, f := range []string{"model.yaml", "weights.npz", "history.csv", "curves.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("train did not write %s", f)
		}
	}
	csv, _ := os.ReadFile(filepath.Join(out, "history.csv"))
	if !strings.HasPrefix(string(csv), "epoch,accuracy,loss,lr,val_accuracy,val_loss\n") {
		t.Errorf("history.csv header: %q", strings.SplitN(string(csv), "\n", 2)[0])
	}
	var ev classReport
	runJSON(t, &ev, "eval", "--model", out, "--data", "mnist:test", "--json")
	if ev.N != 10000 || ev.Accuracy < 0.85 || len(ev.ConfusionMatrix) != 10 {
		t.Errorf("eval: n %d accuracy %.3f rows %d", ev.N, ev.Accuracy, len(ev.ConfusionMatrix))
	}
	var diag int64
	for i, row := range ev.ConfusionMatrix {
		diag += row[i]
	}
	if float64(diag)/float64(ev.N) != ev.Accuracy {
		t.Errorf("confusion diagonal %d/%d disagrees with accuracy %g", diag, ev.N, ev.Accuracy)
	}

	x := filepath.Join(t.TempDir(), "x.npy")
	digits, err := datasets.Load("mnist:test", datasets.Preprocess{})
	if err != nil {
		t.Fatal(err)
	}
	first := digits.Range(0, 20)
	if err := inputs.SaveNPY(x, &inputs.Array{Shape: []int{20, 28, 28}, Data: first.X}); err != nil {
		t.Fatal(err)
	}
	y := filepath.Join(filepath.Dir(x), "y.npy")
	r = run(t, nil, "predict", "--model", out, "--input", x, "--out", y)
	if r.code != 0 {
		t.Fatalf("predict failed: %s", r.stderr)
	}
	probs, err := inputs.Load(y)
	if err != nil {
		t.Fatal(err)
	}
	if len(probs.Shape) != 2 || probs.Shape[0] != 20 || probs.Shape[1] != 10 {
		t.Fatalf("probabilities of shape %v, want [20 10]", probs.Shape)
	}
	right := 0
	for i := 0; i < 20; i++ {
		row := probs.Data[i*10 : (i+1)*10]
		var sum float32
		best := 0
		for j, p := range row {
			sum += p
			if p > row[best] {
				best = j
			}
		}
		if sum < 0.999 || sum > 1.001 {
			t.Errorf("example %d: probabilities sum to %g", i, sum)
		}
		if int32(best) == first.Y[i] {
			right++
		}
	}
	if right < 16 {
		t.Errorf("%d of the first 20 test digits right, want ≥ 16", right)
	}
	if lines := strings.Count(r.stdout, "\n"); lines != 20 {
		t.Errorf("predict printed %d lines, want 20", lines)
	}
}

// TestSegmentation trains a tiny U-Net on a few sea-ice pairs, then
// evaluates it on folders, previews it and writes masks.
func TestSegmentation(t *testing.T) {
	root := "../../../shared/data/sea_ice"
	if _, err := os.Stat(root); err != nil {
		t.Skipf("the course's sea-ice data is absent (%v)", err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "seg.yaml")
	os.WriteFile(cfg, []byte(`
model: {name: tiny, zoo: unet, input: [32, 32, 3], classes: 1, options: {base: 4, depth: 2, batchnorm: true}}
data:
  folders: {root: `+root+`, size: [32, 32], channels: 3, scale: 255, split: {limit: 24, shuffle: true, test: 0.25}, seed: 1, augment: {hflip: true}}
train: {optimizer: adam, learning_rate: 0.01, loss: bce+dice, batch_size: 6, epochs: 1, seed: 1}
`), 0o644)
	out := filepath.Join(dir, "run")
	if r := run(t, nil, "train", "--config", cfg, "--out", out, "--quiet"); r.code != 0 {
		t.Fatalf("train failed: %s", r.stderr)
	}
	var rep segReport
	b, err := os.ReadFile(filepath.Join(out, "test.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.NPixels != 6*32*32 || rep.PixelAccuracy <= 0 || rep.PixelAccuracy > 1 || len(rep.ConfusionMatrix) != 2 {
		t.Errorf("test.json: %+v", rep)
	}
	preview := filepath.Join(dir, "grid.png")
	var all segReport
	runJSON(t, &all, "eval", "--model", out, "--images", root+"/image", "--masks", root+"/label", "--json", "--batch", "50", "--preview", preview)
	if all.NPixels != 500*32*32 {
		t.Errorf("eval over the folders counted %d pixels, want %d", all.NPixels, 500*32*32)
	}
	if img, err := os.Open(preview); err != nil {
		t.Error("no preview written")
	} else {
		cfg, err := png.DecodeConfig(img)
		img.Close()
		if err != nil || cfg.Width != 3*32+4 || cfg.Height != 8*34 {
			t.Errorf("preview %dx%d (%v)", cfg.Width, cfg.Height, err)
		}
	}
	masks := filepath.Join(dir, "masks")
	r := run(t, nil, "predict", "--model", out, "--input", root+"/image/sea_ice_001.jpg", "--input", root+"/image/sea_ice_002.jpg", "--out", masks)
	if r.code != 0 {
		t.Fatalf("predict failed: %s", r.stderr)
	}
	f, err := os.Open(filepath.Join(masks, "sea_ice_002.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if m.Bounds().Dx() != 256 || m.Bounds().Dy() != 256 {
		t.Errorf("mask is %v, want the image's 256×256", m.Bounds())
	}
	// Bad inputs: an unpaired mask folder and a classifier's flags.
	empty := t.TempDir()
	wantFailure(t, run(t, nil, "eval", "--model", out, "--images", root+"/image", "--masks", empty), empty)
	wantFailure(t, run(t, nil, "predict", "--model", out, "--input", root+"/image/sea_ice_001.jpg"), "--out FOLDER")
}
