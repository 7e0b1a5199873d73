package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/tfrun/tfrun/datasets/mnist"
	"github.com/tfrun/tfrun/inputs"
	"github.com/tfrun/tfrun/internal/dims"
	"github.com/tfrun/tfrun/modeldir"
	"github.com/tfrun/tfrun/tfgraph/engine"
)

// These tests compare imported Keras models with scripts/keras_reference.py,
// an independent numpy/PyTorch forward pass that reads the same files.

const referenceScript = "../../scripts/keras_reference.py"

// referencePython finds a Python with numpy, h5py and PyTorch (Debian's
// live in the system Python), or skips.
func referencePython(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("TFRUN_PYTHON"), "/usr/bin/python3", "python3"}
	for _, py := range candidates {
		if py == "" {
			continue
		}
		if exec.Command(py, "-c", "import numpy, h5py, torch").Run() == nil {
			return py
		}
	}
	t.Skip("skipping: no python3 with numpy, h5py and torch for the reference (Debian: python3-numpy python3-h5py python3-torch; or set TFRUN_PYTHON)")
	return ""
}

func reference(t *testing.T, py string, args ...string) string {
	t.Helper()
	out, err := exec.Command(py, append([]string{referenceScript}, args...)...).Output()
	if err != nil {
		msg := err.Error()
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("keras_reference.py %v: %s", args, msg)
	}
	return string(out)
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	r := run(t, nil, args...)
	if r.code != 0 {
		t.Fatalf("tfrun %v: exit %d: %s", args, r.code, r.stderr)
	}
	return r.stdout
}

func loadNPY(t *testing.T, path string) *inputs.Array {
	t.Helper()
	a, err := inputs.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// maxDiff compares two arrays of the same shape: the largest absolute
// difference, and the largest relative to max(1, |want|).
func maxDiff(t *testing.T, got, want *inputs.Array) (abs, rel float64) {
	t.Helper()
	if !slices.Equal(got.Shape, want.Shape) {
		t.Fatalf("shape %v, reference %v", got.Shape, want.Shape)
	}
	for i := range got.Data {
		d := math.Abs(float64(got.Data[i] - want.Data[i]))
		abs = max(abs, d)
		rel = max(rel, d/max(1, math.Abs(float64(want.Data[i]))))
	}
	return abs, rel
}

// loadOnEngine loads a model and starts the default engine; the caller
// finalizes the engine.
func loadOnEngine(t *testing.T, model string) (*modeldir.Loaded, backends.Backend) {
	t.Helper()
	ld, err := modeldir.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	backend, err := engine.New(engine.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return ld, backend
}

// logits runs an imported model in-process with its last activation left
// out, so saturated probabilities cannot hide differences.
func logits(t *testing.T, model string, x *inputs.Array) *inputs.Array {
	t.Helper()
	ld, backend := loadOnEngine(t, model)
	defer backend.Finalize()
	out, err := context.ExecOnce(backend, ld.Ctx, func(ctx *context.Context, in *graph.Node) *graph.Node {
		return ld.Model.Forward(ctx, in, true)
	}, tensors.FromFlatDataAndDimensions(x.Data, x.Shape...))
	if err != nil {
		t.Fatal(err)
	}
	return &inputs.Array{Shape: out.Shape().Dimensions, Data: tensors.MustCopyFlatData[float32](out)}
}

// compareWithReference predicts x with tfrun predict and with the reference,
// and checks probabilities (and, with withLogits, logits) agree to tol
// relative to max(1, |value|).
func compareWithReference(t *testing.T, py, model string, x *inputs.Array, withLogits bool, tol float64) {
	t.Helper()
	dir := t.TempDir()
	xp, yp, rp, lp := filepath.Join(dir, "x.npy"), filepath.Join(dir, "y.npy"), filepath.Join(dir, "r.npy"), filepath.Join(dir, "l.npy")
	if err := inputs.SaveNPY(xp, x); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "predict", "--model", model, "--input", xp, "--out", yp)
	args := []string{"predict", model, xp, rp}
	if withLogits {
		args = append(args, "--logits", lp)
	}
	reference(t, py, args...)
	abs, rel := maxDiff(t, loadNPY(t, yp), loadNPY(t, rp))
	t.Logf("%s: outputs %v, largest difference %.3g (relative %.3g)", filepath.Base(model), loadNPY(t, yp).Shape, abs, rel)
	if rel > tol {
		t.Errorf("%s: tfrun predict differs from the reference by %.3g (relative), tolerance %g", model, rel, tol)
	}
	if !withLogits {
		return
	}
	want := loadNPY(t, lp)
	abs, rel = maxDiff(t, logits(t, model, x), want)
	lo, hi := slices.Min(want.Data), slices.Max(want.Data)
	t.Logf("%s: logits in [%.3g, %.3g], largest difference %.3g (relative %.3g)", filepath.Base(model), lo, hi, abs, rel)
	if rel > tol {
		t.Errorf("%s: logits differ from the reference by %.3g (relative), tolerance %g", model, rel, tol)
	}
}

// seaIce reads n of the course's sea-ice photos, 256×256 RGB, 0–255.
func seaIce(t *testing.T, n int) [][]float32 {
	t.Helper()
	var out [][]float32
	for i := 1; i <= n; i++ {
		p := fmt.Sprintf("../../../shared/data/sea_ice/image/sea_ice_%03d.jpg", i*37)
		needSharedPath(t, p)
		out = append(out, loadNPY(t, p).Data)
	}
	return out
}

// TestKerasSavedModelsMatchReference runs the two real Keras SavedModels
// on photos and on random pixels: smile_bn_cnn (Conv2D, BatchNormalization,
// ReLU) on grey 64×64 crops, potato_disease_cnn (nested Resizing and
// Rescaling) on 256×256 RGB.
func TestKerasSavedModelsMatchReference(t *testing.T) {
	py := referencePython(t)
	potato, smile := sharedModels+"potato_disease_cnn", sharedModels+"smile_bn_cnn"
	needSharedPath(t, potato)
	needSharedPath(t, smile)
	photos := seaIce(t, 4)
	rng := rand.New(rand.NewPCG(4, 4))
	random := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.IntN(256))
		}
		return v
	}

	x := &inputs.Array{Shape: []int{6, 256, 256, 3}}
	for _, p := range photos {
		x.Data = append(x.Data, p...)
	}
	x.Data = append(append(x.Data, random(256*256*3)...), random(256*256*3)...)
	compareWithReference(t, py, potato, x, true, 1e-5)

	// Grey 64×64: each photo's mean over 4×4 blocks of its RGB pixels.
	x = &inputs.Array{Shape: []int{6, 64, 64, 1}}
	for _, p := range photos {
		for y := range 64 {
			for xx := range 64 {
				var s float32
				for dy := range 4 {
					for dx := range 4 {
						i := ((4*y+dy)*256 + 4*xx + dx) * 3
						s += p[i] + p[i+1] + p[i+2]
					}
				}
				x.Data = append(x.Data, s/48)
			}
		}
	}
	x.Data = append(append(x.Data, random(64*64)...), random(64*64)...)
	compareWithReference(t, py, smile, x, true, 1e-5)
}

// TestKerasLayersMatchReference checks every layer kind the import covers
// against the reference, on models the reference writes as Keras 2.x .h5
// files with random weights: a functional CNN, compared at its output and
// inside it, and a Sequential with a nested preprocessing Sequential.
func TestKerasLayersMatchReference(t *testing.T) {
	py := referencePython(t)
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(5, 5))
	x := &inputs.Array{Shape: []int{3, 17, 19, 3}, Data: make([]float32, 3*17*19*3)}
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	h5 := filepath.Join(dir, "cnn.h5")
	// Inner layers: after the stride-2 "same" convolutions and ReLU
	// options, the separable and merge layers, pooling, the transposed
	// convolutions, the bilinear and nearest resizes, the dense block.
	probes := []string{"relu6", "cat", "maxp", "up2", "resize", "fc2"}
	args := []string{"synthetic", h5, "--kind", "cnn"}
	for _, p := range probes {
		args = append(args, "--probe", p)
	}
	reference(t, py, args...)
	compareWithReference(t, py, h5, x, true, 1e-5)
	xp, layerDir := filepath.Join(dir, "x.npy"), filepath.Join(dir, "layers")
	if err := inputs.SaveNPY(xp, x); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(layerDir, 0o755)
	reference(t, py, "predict", h5, xp, filepath.Join(dir, "r.npy"), "--layers", layerDir)
	for _, p := range probes {
		yp := filepath.Join(dir, p+".npy")
		mustRun(t, "predict", "--model", filepath.Join(dir, "cnn-"+p+".h5"), "--input", xp, "--out", yp)
		abs, rel := maxDiff(t, loadNPY(t, yp), loadNPY(t, filepath.Join(layerDir, p+".npy")))
		t.Logf("cnn up to %s: largest difference %.3g (relative %.3g)", p, abs, rel)
		if rel > 1e-5 {
			t.Errorf("cnn up to %s differs from the reference by %.3g (relative)", p, rel)
		}
	}
	h5 = filepath.Join(dir, "nested.h5")
	reference(t, py, "synthetic", h5, "--kind", "nested")
	x = &inputs.Array{Shape: []int{4, 16, 20, 1}, Data: make([]float32, 4*16*20)}
	for i := range x.Data {
		x.Data[i] = float32(rng.IntN(256))
	}
	compareWithReference(t, py, h5, x, true, 1e-5)
}

type evalJSON struct {
	Accuracy float64 `json:"accuracy"`
	N        int     `json:"n"`
}

func evalOf(t *testing.T, args ...string) evalJSON {
	t.Helper()
	var e evalJSON
	if err := json.Unmarshal([]byte(mustRun(t, append([]string{"eval", "--json", "--data", "mnist:test"}, args...)...)), &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestCourseMNISTAccuracy evaluates the course's Keras MLP on the MNIST test
// set, with the course's preprocessing (pixels / 255), directly and after
// tfrun import, and checks the reference's figure from the same .h5.
func TestCourseMNISTAccuracy(t *testing.T) {
	needSharedPath(t, courseH5)
	py := referencePython(t)
	mnistDir, err := mnist.Dir()
	if err != nil {
		t.Skipf("skipping: MNIST is not in the module cache: %v", err)
	}
	var want evalJSON
	if err := json.Unmarshal([]byte(reference(t, py, "mnist", courseH5, mnistDir, "--scale", "255")), &want); err != nil {
		t.Fatal(err)
	}
	// The literal command: mnist: sources carry the conventional /255 for
	// an imported model that records no scaling.
	got := evalOf(t, "--model", courseH5)
	if explicit := evalOf(t, "--model", courseH5, "--scale", "255"); explicit != got {
		t.Errorf("with --scale 255: %+v, without: %+v", explicit, got)
	}
	if raw := evalOf(t, "--model", courseH5, "--scale", "1"); raw.Accuracy == got.Accuracy {
		t.Errorf("--scale 1 gives the same accuracy %.4f as /255: the override is ignored", raw.Accuracy)
	}
	t.Logf("course MLP on MNIST test: tfrun %.4f, reference %.4f (n = %d)", got.Accuracy, want.Accuracy, got.N)
	if got.N != 10000 || want.N != 10000 || math.Abs(got.Accuracy-want.Accuracy) > 5e-5 {
		t.Errorf("tfrun eval gives accuracy %.4f on %d examples, the reference %.4f on %d", got.Accuracy, got.N, want.Accuracy, want.N)
	}

	imported := filepath.Join(t.TempDir(), "course_mlp")
	mustRun(t, "import", "--scale", "255", "--out", imported, courseH5)
	if again := evalOf(t, "--model", imported); again != got {
		t.Errorf("after tfrun import: %+v, directly: %+v", again, got)
	}
	// The course's photos of dark digits on white paper, inverted.
	r := mustRun(t, "predict", "--model", imported, "--invert", "--input", "../../../shared/data/course/digit_3.jpg")
	var label string
	var class int
	var p float64
	if _, err := fmt.Sscanf(r, "%s\t%d\t%g", &label, &class, &p); err != nil || class != 3 || p < 0.5 || p > 1 {
		t.Errorf("predict prints %q, want the photo, class 3 and its probability", r)
	}
}

// TestFineTuneKeras trains the course's Keras MLP further (train --init):
// the weights move, the accuracy stays the model's.
func TestFineTuneKeras(t *testing.T) {
	needSharedPath(t, courseH5)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "finetune.yaml")
	os.WriteFile(cfg, []byte("data: {train: 'mnist:train', limit: 1000, test: 'mnist:test', preprocess: {scale: 255}}\n"+
		"train: {optimizer: rmsprop, learning_rate: 0.0001, batch_size: 50, epochs: 1, seed: 3}\n"), 0o644)
	out := filepath.Join(dir, "run")
	mustRun(t, "train", "--quiet", "--init", courseH5, "--config", cfg, "--out", out)
	var rep evalJSON
	b, err := os.ReadFile(filepath.Join(out, "test.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil || rep.Accuracy < 0.92 {
		t.Errorf("fine-tuned test accuracy %+v (%v), want ≥ 0.92 (0.9371 before)", rep, err)
	}
	before, err := modeldir.Load(courseH5)
	if err != nil {
		t.Fatal(err)
	}
	after, err := modeldir.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	v0, _ := before.Ctx.In("dense_22").GetVariable("kernel").Value()
	v1, _ := after.Ctx.In("dense_22").GetVariable("kernel").Value()
	k0, k1 := tensors.MustCopyFlatData[float32](v0), tensors.MustCopyFlatData[float32](v1)
	if len(k0) != dims.Product([]int{784, 64}) || slices.Equal(k0, k1) {
		t.Error("fine-tuning left dense_22/kernel as it was")
	}

	os.WriteFile(cfg, []byte("model: {zoo: mlp, input: [784]}\ndata: {train: 'mnist:train'}\n"), 0o644)
	wantFailure(t, run(t, nil, "train", "--init", courseH5, "--config", cfg, "--out", out), "--init", "not both")
}

// TestTensorFlowEngineAbsent checks the message of a binary built without
// the tag (TestMain builds the binary without tags).
func TestTensorFlowEngineAbsent(t *testing.T) {
	r := run(t, nil, "predict", "--engine", "tensorflow", "--model", halfPlusTwoDir, "--input", "x.npy")
	wantFailure(t, r, "built without TensorFlow", "-tags tensorflow")
	r = run(t, nil, "eval", "--engine", "tensorflow", "--model", halfPlusTwoDir, "--data", "mnist:test")
	wantFailure(t, r, "built without TensorFlow")
}
