package pipeline

import (
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tfrun/tfrun/datasets"
	"github.com/tfrun/tfrun/internal/testkit"
	"gopkg.in/yaml.v3"
)

func names(t *testing.T, src datasets.Source) []string {
	t.Helper()
	var out []string
	for _, p := range src.(*Files).Pairs() {
		out = append(out, p.Name)
	}
	return out
}

func TestCourseSplit(t *testing.T) {
	root := seaIce(t)
	cfg := FolderConfig{Root: root, Split: SplitConfig{Limit: 500, Shuffle: true, Test: 0.3}, Options: Options{Seed: 42}}
	sets, err := OpenFolders(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sets.Validation != nil || sets.Train.Len() != 350 || sets.Test.Len() != 150 {
		t.Fatalf("train %d, test %d, validation %v; want 350, 150, none", sets.Train.Len(), sets.Test.Len(), sets.Validation)
	}
	if got := sets.Train.InputShape(); !slices.Equal(got, []int{256, 256, 3}) {
		t.Errorf("input shape %v", got)
	}
	if got := sets.Test.LabelShape(); !slices.Equal(got, []int{256, 256}) {
		t.Errorf("label shape %v", got)
	}
	train, test := names(t, sets.Train), names(t, sets.Test)
	all := slices.Sorted(slices.Values(slices.Concat(train, test)))
	for i, n := range all {
		if want := fmt.Sprintf("sea_ice_%03d", i+1); n != want {
			t.Fatalf("pair %d is %s, want %s: the sets must split the 500 pairs exactly", i, n, want)
		}
	}
	if slices.IsSorted(train) {
		t.Error("train set is in name order: not shuffled")
	}

	again, err := OpenFolders(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names(t, again.Test), test) {
		t.Error("the same seed gave a different split")
	}
	cfg.Seed = 43
	other, err := OpenFolders(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(names(t, other.Test), test) {
		t.Error("another seed gave the same split")
	}

	cfg.Split.Limit = 100
	small, err := OpenFolders(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if small.Train.Len() != 70 || small.Test.Len() != 30 || slices.Max(names(t, small.Train)) > "sea_ice_100" {
		t.Errorf("limit 100: %d train, %d test, last %s", small.Train.Len(), small.Test.Len(), slices.Max(names(t, small.Train)))
	}
}

func TestFractionAndListSplits(t *testing.T) {
	root := t.TempDir()
	var all []string
	for i := range 10 {
		all = append(all, fmt.Sprintf("p%02d", i))
		synthPair(t, root, all[i], 4, 6, i)
	}
	sets, err := OpenFolders(FolderConfig{Root: root, Split: SplitConfig{Validation: 0.2, Test: 0.1}})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(t, sets.Train); !slices.Equal(got, all[:7]) {
		t.Errorf("train %v", got)
	}
	if got := names(t, sets.Validation); !slices.Equal(got, all[7:9]) {
		t.Errorf("validation %v", got)
	}
	if got := names(t, sets.Test); !slices.Equal(got, all[9:]) {
		t.Errorf("test %v", got)
	}

	sets, err = OpenFolders(FolderConfig{Root: root, Split: SplitConfig{TrainFiles: []string{"p03", "p01.png"}, TestFiles: []string{"p09"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(t, sets.Train); !slices.Equal(got, []string{"p03", "p01"}) || sets.Validation != nil || sets.Test.Len() != 1 {
		t.Errorf("lists: train %v, validation %v, test %d", got, sets.Validation, sets.Test.Len())
	}

	sets, err = OpenFolders(FolderConfig{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if sets.Train.Len() != 10 || sets.Test != nil {
		t.Errorf("no split: train %d, test %v", sets.Train.Len(), sets.Test)
	}

	for _, bad := range []struct {
		split SplitConfig
		want  string
	}{
		{SplitConfig{TrainFiles: []string{"p01", "nope"}}, `"nope"`},
		{SplitConfig{TrainFiles: []string{"p01"}, TestFiles: []string{"p01.png"}}, "train_files and test_files"},
		{SplitConfig{TestFiles: []string{"p01"}}, "train_files is empty"},
		{SplitConfig{TrainFiles: []string{"p01"}, Test: 0.2}, "not both"},
		{SplitConfig{Validation: 0.5, Test: 0.5}, "leave some for training"},
		{SplitConfig{Test: 0.01}, "empty set"},
		{SplitConfig{Limit: -1}, "limit"},
	} {
		_, err := OpenFolders(FolderConfig{Root: root, Split: bad.split})
		testkit.WantErr(t, err, bad.want)
	}
}

// Every bad folder gives an error that names the offending file.
func TestFolderErrors(t *testing.T) {
	good := func(t *testing.T) string {
		root := t.TempDir()
		synthPair(t, root, "a", 4, 6, 1)
		synthPair(t, root, "b", 4, 6, 2)
		return root
	}
	open := func(root string, cfg FolderConfig) error {
		cfg.Root = root
		_, err := OpenFolders(cfg)
		return err
	}

	t.Run("missing folder", func(t *testing.T) {
		root := t.TempDir()
		testkit.WantErr(t, open(root, FolderConfig{}), filepath.Join(root, "image"), "no such file")
	})
	t.Run("empty folder", func(t *testing.T) {
		root := good(t)
		os.MkdirAll(filepath.Join(root, "empty"), 0o755)
		os.WriteFile(filepath.Join(root, "empty", "notes.txt"), []byte("x"), 0o644)
		testkit.WantErr(t, open(root, FolderConfig{Masks: "empty"}), filepath.Join(root, "empty"), "has no images")
	})
	t.Run("unpaired image", func(t *testing.T) {
		root := good(t)
		os.Remove(filepath.Join(root, "label", "b.png"))
		testkit.WantErr(t, open(root, FolderConfig{}), filepath.Join(root, "image", "b.png"), "has no mask")
	})
	t.Run("unpaired mask", func(t *testing.T) {
		root := good(t)
		writeImage(t, filepath.Join(root, "label", "c.png"), image.NewGray(image.Rect(0, 0, 6, 4)))
		testkit.WantErr(t, open(root, FolderConfig{}), filepath.Join(root, "label", "c.png"), "has no image")
	})
	t.Run("same name twice", func(t *testing.T) {
		root := good(t)
		writeImage(t, filepath.Join(root, "image", "a.jpg"), image.NewGray(image.Rect(0, 0, 6, 4)))
		testkit.WantErr(t, open(root, FolderConfig{}), "a.jpg", "a.png", "same name")
	})
	t.Run("mask size", func(t *testing.T) {
		root := good(t)
		writeImage(t, filepath.Join(root, "label", "b.png"), image.NewGray(image.Rect(0, 0, 6, 5)))
		testkit.WantErr(t, open(root, FolderConfig{}), filepath.Join(root, "image", "b.png"), filepath.Join(root, "label", "b.png"), "6×4", "6×5")
	})
	t.Run("image sizes differ", func(t *testing.T) {
		root := good(t)
		synthPair(t, root, "c", 8, 8, 3)
		testkit.WantErr(t, open(root, FolderConfig{}), filepath.Join(root, "image", "c.png"), "set size")
		if err := open(root, FolderConfig{Decode: Decode{Size: []int{4, 4}}}); err != nil {
			t.Errorf("with size: %v", err)
		}
	})
	t.Run("corrupt header", func(t *testing.T) {
		root := good(t)
		os.WriteFile(filepath.Join(root, "label", "b.png"), []byte("not a png"), 0o644)
		testkit.WantErr(t, open(root, FolderConfig{}), filepath.Join(root, "label", "b.png"), "corrupt")
	})
	t.Run("bad settings", func(t *testing.T) {
		root := good(t)
		ignore := 128
		for _, bad := range []struct {
			cfg  FolderConfig
			want string
		}{
			{FolderConfig{Decode: Decode{Size: []int{0, 4}}}, "size"},
			{FolderConfig{Decode: Decode{Size: []int{4}}}, "size"},
			{FolderConfig{Decode: Decode{Scale: -1}}, "scale"},
			{FolderConfig{Decode: Decode{Classes: []int{0, 1, 0}}}, "listed twice"},
			{FolderConfig{Decode: Decode{Classes: []int{0, 128}, Ignore: &ignore}}, "ignore 128"},
			{FolderConfig{Decode: Decode{Channels: 4}}, "channels: 4"},
			{FolderConfig{Options: Options{Workers: -1}}, "workers"},
		} {
			testkit.WantErr(t, open(root, bad.cfg), bad.want)
		}
		cfg := FolderConfig{}
		cfg.Augment.Rot90 = true
		cfg.Size = []int{4, 5}
		testkit.WantErr(t, open(root, cfg), "square")
	})
}

// Errors found only by decoding pixels end the iteration, naming the file.
func TestDecodeErrorsSurfaceInBatches(t *testing.T) {
	noLeak(t)
	stream := func(t *testing.T, root string, dec Decode) error {
		sets, err := OpenFolders(FolderConfig{Root: root, Decode: dec, Options: Options{Workers: 2}})
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range sets.Train.Batches(0, nil, 1) {
			if err != nil {
				return err
			}
		}
		return nil
	}
	t.Run("colour mask", func(t *testing.T) {
		root := t.TempDir()
		synthPair(t, root, "a", 4, 6, 1)
		synthPair(t, root, "b", 4, 6, 2)
		m := image.NewNRGBA(image.Rect(0, 0, 6, 4))
		m.SetNRGBA(2, 1, color.NRGBA{255, 0, 0, 255})
		writeImage(t, filepath.Join(root, "label", "b.png"), m)
		testkit.WantErr(t, stream(t, root, Decode{}), filepath.Join(root, "label", "b.png"), "row 1, col 2", "grey")
	})
	t.Run("value not a class", func(t *testing.T) {
		root := t.TempDir()
		synthPair(t, root, "a", 4, 6, 1)
		testkit.WantErr(t, stream(t, root, Decode{Classes: []int{0, 128}}), filepath.Join(root, "label", "a.png"), "value 255", "[0 128]")
	})
	t.Run("truncated image", func(t *testing.T) {
		root := t.TempDir()
		synthPair(t, root, "a", 40, 60, 1)
		p := filepath.Join(root, "image", "a.png")
		raw, _ := os.ReadFile(p)
		os.WriteFile(p, raw[:len(raw)/2], 0o644)
		testkit.WantErr(t, stream(t, root, Decode{}), p, "corrupt")
	})
}

func TestMaskValues(t *testing.T) {
	root := t.TempDir()
	img := image.NewNRGBA(image.Rect(0, 0, 4, 1))
	// The mask is a PNG beside a JPEG image: pairing ignores extensions.
	writeImage(t, filepath.Join(root, "image", "a.jpg"), img)
	mask := image.NewGray(image.Rect(0, 0, 4, 1))
	for x, v := range []uint8{0, 128, 255, 7} {
		mask.SetGray(x, 0, color.Gray{v})
	}
	writeImage(t, filepath.Join(root, "label", "a.png"), mask)
	ignore := 7
	for _, tc := range []struct {
		dec  Decode
		want []int32
	}{
		{Decode{Classes: []int{0, 128, 255}, Ignore: &ignore}, []int32{0, 1, 2, -1}},
		{Decode{Classes: []int{255, 0, 128, 7}}, []int32{1, 2, 0, 3}},
		{Decode{}, []int32{0, 1, 1, 0}},
		{Decode{Ignore: &ignore}, []int32{0, 1, 1, -1}},
	} {
		sets, err := OpenFolders(FolderConfig{Root: root, Decode: tc.dec})
		if err != nil {
			t.Fatal(err)
		}
		b := collect(t, sets.Train, 0, nil, 1)[0]
		if !slices.Equal(b.Y, tc.want) {
			t.Errorf("%+v: labels %v, want %v", tc.dec, b.Y, tc.want)
		}
	}

	// A grey mask saved in colour passes when its channels agree, within
	// JPEG noise for binary masks and exactly for classes.
	near := image.NewNRGBA(image.Rect(0, 0, 4, 1))
	for x, v := range []uint8{0, 120, 140, 250} {
		near.SetNRGBA(x, 0, color.NRGBA{v, v + 5, v, 255})
	}
	writeImage(t, filepath.Join(root, "label", "a.png"), near)
	sets, err := OpenFolders(FolderConfig{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if b := collect(t, sets.Train, 0, nil, 1)[0]; !slices.Equal(b.Y, []int32{0, 0, 1, 1}) {
		t.Errorf("near-grey colour mask: labels %v", b.Y)
	}
	sets, err = OpenFolders(FolderConfig{Root: root, Decode: Decode{Classes: []int{0, 120, 140, 250}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range sets.Train.Batches(0, nil, 1) {
		testkit.WantErr(t, err, "a.png", "grey")
	}
}

func TestChannels(t *testing.T) {
	root := t.TempDir()
	synthPair(t, root, "a", 4, 6, 10)
	sets, err := OpenFolders(FolderConfig{Root: root, Decode: Decode{Channels: 1, Scale: 255}})
	if err != nil {
		t.Fatal(err)
	}
	if got := sets.Train.InputShape(); !slices.Equal(got, []int{4, 6, 1}) {
		t.Fatalf("grey input shape %v", got)
	}
	b := collect(t, sets.Train, 0, nil, 1)[0]
	// Pixel (row 1, col 2) of synthPair is RGB (24, 15, 30).
	if want := (0.299*24 + 0.587*15 + 0.114*30) / 255; abs(float64(b.X[8])-want) > 1e-5 {
		t.Errorf("grey pixel %g, want luma %g", b.X[8], want)
	}

	// The grey masks as images, asked for in RGB, repeat their one channel.
	sets, err = OpenFolders(FolderConfig{Root: root, Images: "label", Masks: "label", Decode: Decode{Channels: 3}})
	if err != nil {
		t.Fatal(err)
	}
	b = collect(t, sets.Train, 0, nil, 1)[0]
	if len(b.X) != 4*6*3 || b.X[0] != 255 || b.X[1] != 255 || b.X[2] != 255 || b.X[3*5] != 0 {
		t.Errorf("grey to RGB: %v", b.X[:18])
	}
}

func abs(v float64) float64 { return max(v, -v) }

// The trainer decodes FolderConfig from its YAML with unknown keys refused.
func TestFolderConfigYAML(t *testing.T) {
	text := `
root: ../shared/data/sea_ice
images: image
masks: label
size: [128, 128]
channels: 3
scale: 255
classes: [0, 255]
ignore: 7
split: {limit: 500, shuffle: true, test: 0.3}
augment: {hflip: true, rotation: 20, zoom: 0.1, fill: reflect}
cache: true
workers: 2
prefetch: 3
seed: 42
`
	var cfg FolderConfig
	dec := yaml.NewDecoder(strings.NewReader(text))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Root != "../shared/data/sea_ice" || !slices.Equal(cfg.Size, []int{128, 128}) || cfg.Scale != 255 || *cfg.Ignore != 7 ||
		cfg.Split.Limit != 500 || !cfg.Split.Shuffle || cfg.Split.Test != 0.3 || cfg.Augment.Rotation != 20 || cfg.Augment.Zoom[1] != 1.1 ||
		!cfg.Cache || cfg.Workers != 2 || cfg.Prefetch != 3 || cfg.Seed != 42 || len(cfg.Classes) != 2 {
		t.Errorf("decoded %+v", cfg)
	}
	dec = yaml.NewDecoder(strings.NewReader("root: x\nresize: [1, 2]\n"))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err == nil || !strings.Contains(err.Error(), "resize") {
		t.Errorf("unknown key: %v", err)
	}
}
