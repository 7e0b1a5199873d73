package h5

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const mnistH5 = "../../../shared/data/course/mnist.h5"

func needMNIST(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(mnistH5)
	if err != nil {
		t.Skipf("skipping: the course model %s is absent (../shared/data is not here): %v", mnistH5, err)
	}
	return data
}

func TestMNISTAttributesAndWeights(t *testing.T) {
	needMNIST(t)
	f, err := Open(mnistH5)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, err := f.StringsAttr("/", "keras_version")
	if err != nil || len(v) != 1 || v[0] != "2.2.4" {
		t.Errorf("keras_version = %q, %v", v, err)
	}
	cfg, err := f.StringsAttr("/", "model_config")
	if err != nil || !strings.HasPrefix(cfg[0], `{"class_name": "Sequential"`) {
		t.Errorf("model_config = %.60q, %v", cfg, err)
	}
	layers, err := f.StringsAttr("/model_weights", "layer_names")
	if want := "dense_22 dense_23 activation_11 dense_24 activation_12"; err != nil || strings.Join(layers, " ") != want {
		t.Errorf("layer_names = %q, %v", layers, err)
	}
	// Keras writes an empty weight list as an empty float array.
	empty, err := f.StringsAttr("/model_weights/activation_11", "weight_names")
	if err != nil || len(empty) != 0 {
		t.Errorf("activation weight_names = %q, %v", empty, err)
	}
	names, err := f.StringsAttr("/model_weights/dense_22", "weight_names")
	if err != nil || strings.Join(names, " ") != "dense_22/kernel:0 dense_22/bias:0" {
		t.Fatalf("weight_names = %q, %v", names, err)
	}
	k, shape, err := f.ReadFloat32("/model_weights/dense_22/dense_22/kernel:0")
	if err != nil {
		t.Fatal(err)
	}
	if len(shape) != 2 || shape[0] != 784 || shape[1] != 64 || len(k) != 784*64 {
		t.Errorf("kernel shape %v, %d values", shape, len(k))
	}
	b, _, err := f.ReadFloat32("/model_weights/dense_24/dense_24/bias:0")
	// The first bias value, as the pure-Go HDF5 module and h5py print it.
	if err != nil || len(b) != 10 || b[0] != float32(-0.09981079399585724) {
		t.Errorf("dense_24 bias = %v, %v", b, err)
	}
	if f.HasAttr("/", "nope") || !f.HasAttr("/model_weights", "layer_names") || f.HasAttr("/no/such/group", "x") {
		t.Error("HasAttr is wrong")
	}
	if _, err := f.StringsAttr("/", "nope"); err == nil || !strings.Contains(err.Error(), mnistH5) {
		t.Errorf("missing attribute: %v", err)
	}
	if _, _, err := f.ReadFloat32("/model_weights/nope"); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing dataset: %v", err)
	}
}

func TestNotHDF5(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "model.h5")
	os.WriteFile(p, []byte("{\"class_name\": \"Sequential\"}"), 0o644)
	if _, err := Open(p); err == nil || !strings.Contains(err.Error(), "not an HDF5 file") {
		t.Errorf("JSON as .h5: %v", err)
	}
	if _, err := Open(filepath.Join(dir, "absent.h5")); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("absent file: %v", err)
	}
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "folder") {
		t.Errorf("folder: %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

// readAll touches everything Keras reading touches; errors are expected on
// damaged files, crashes are not.
func readAll(path string) {
	f, err := Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	f.StringsAttr("/", "model_config")
	layers, _ := f.StringsAttr("/model_weights", "layer_names")
	for _, l := range layers {
		names, _ := f.StringsAttr("/model_weights/"+l, "weight_names")
		for _, n := range names {
			f.ReadFloat32("/model_weights/" + l + "/" + n)
		}
	}
}

// Damaged copies of mnist.h5 (cut short, or with bytes flipped in the
// metadata at the front) must give errors, not crashes or huge allocations.
func TestDamagedFiles(t *testing.T) {
	data := needMNIST(t)
	p := filepath.Join(t.TempDir(), "damaged.h5")
	for cut := 0; cut < len(data); cut += 1499 {
		os.WriteFile(p, data[:cut], 0o644)
		readAll(p)
	}
	r := rand.New(rand.NewSource(1))
	flips := 300
	if testing.Short() {
		flips = 30
	}
	for i := 0; i < flips; i++ {
		b := append([]byte(nil), data...)
		for j := 0; j < 4; j++ {
			b[r.Intn(4096)] ^= byte(1 + r.Intn(255))
		}
		os.WriteFile(p, b, 0o644)
		readAll(p)
	}
	os.WriteFile(p, data[:len(data)/2], 0o644)
	f, err := Open(p)
	if err == nil {
		defer f.Close()
		_, _, err = f.ReadFloat32("/model_weights/dense_22/dense_22/kernel:0")
	}
	if err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("half a file: %v", err)
	}
}

// The fixtures were written by h5py 3.7 on libhdf5 1.10.8 (see
// testdata/h5/make_fixtures.py): earliest.h5 with the default, old-style
// layout that Keras files have, latest.h5 with libver="latest" (version 3
// superblock, version 2 object headers, link messages).
func TestFixtures(t *testing.T) {
	for _, name := range []string{"earliest", "latest"} {
		t.Run(name, func(t *testing.T) {
			f, err := Open("../../testdata/h5/" + name + ".h5")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			attrs := map[string]string{
				"vlen":   "variable length é",
				"fixed":  `{"class_name": "Sequential"}`,
				"names":  "dense/kernel:0|dense/bias:0",
				"vnames": "a||ccc",
				"empty":  "",
			}
			for attr, want := range attrs {
				got, err := f.StringsAttr("/", attr)
				if err != nil || strings.Join(got, "|") != want {
					t.Errorf("attribute %s = %q, %v; want %q", attr, got, err, want)
				}
			}
			datasets := map[string]struct {
				shape  []int
				values []float32
			}{
				"f32":    {[]int{2, 3}, []float32{0, 0.25, 0.5, 0.75, 1, 1.25}},
				"f64":    {[]int{2}, []float32{1.5, -2.25}},
				"f16":    {[]int{2}, []float32{0.5, 3}},
				"be":     {[]int{2}, []float32{1.25, 7}},
				"i16":    {[]int{2}, []float32{-3, 300}},
				"u8":     {[]int{1}, []float32{200}},
				"scalar": {[]int{}, []float32{42}},
				"zero":   {[]int{0, 4}, []float32{}},
			}
			for ds, want := range datasets {
				got, shape, err := f.ReadFloat32("/weights/dense/" + ds)
				if err != nil {
					t.Errorf("%s: %v", ds, err)
					continue
				}
				if fmt.Sprint(shape) != fmt.Sprint(want.shape) || fmt.Sprint(got) != fmt.Sprint(want.values) {
					t.Errorf("%s = %v %v, want %v %v", ds, shape, got, want.shape, want.values)
				}
			}
			compact, _, err := f.ReadFloat32("/weights/other/compact")
			if err != nil || fmt.Sprint(compact) != "[9 8]" {
				t.Errorf("compact dataset = %v, %v", compact, err)
			}
			if _, _, err := f.ReadFloat32("/weights/other/chunked"); err == nil || !strings.Contains(err.Error(), "chunked") {
				t.Errorf("chunked dataset: %v", err)
			}
			if _, _, err := f.ReadFloat32("/weights/other/text"); err == nil || !strings.Contains(err.Error(), "not numeric") {
				t.Errorf("string dataset: %v", err)
			}
			if _, err := f.StringsAttr("/weights/dense", "nope"); err == nil || !strings.Contains(err.Error(), "missing") {
				t.Errorf("missing attribute: %v", err)
			}
			deep, err := f.StringsAttr("/many/m299", "deep")
			last, err2 := f.StringsAttr("/lots", "last")
			if name == "earliest" {
				// A two-level group B-tree, and an object header long enough
				// to need continuation blocks.
				if err != nil || deep[0] != "found" || err2 != nil || last[0] != "after many attributes" {
					t.Errorf("deep = %q, %v; last = %q, %v", deep, err, last, err2)
				}
			} else {
				if err == nil || !strings.Contains(err.Error(), "dense storage") {
					t.Errorf("300 links in a libver=latest group: %v", err)
				}
				if err2 == nil || !strings.Contains(err2.Error(), "dense attribute storage") {
					t.Errorf("41 attributes in a libver=latest group: %v", err2)
				}
			}
		})
	}
}
