// Package pipeline reads segmentation data, a folder of images and a folder
// of masks paired by file name, and serves it as datasets.Source batches
// (X [N, H, W, C], Y [N, H, W]) prepared by worker goroutines ahead of the
// training loop.
//
// The trainer's entry point is OpenFolders, configured from YAML:
//
//	root: ../shared/data/sea_ice
//	images: image          # the default; masks: label likewise
//	size: [128, 128]       # resize (bilinear images, nearest masks)
//	scale: 255
//	split: {limit: 500, shuffle: true, test: 0.3}   # the course's split
//	augment: {hflip: true, vflip: true, rotation: 20, zoom: 0.1}
//	seed: 42
//
// It returns Sets: Files sources that stream from disk, or with cache: true
// Memory sources decoded once. The pieces are usable alone: ListPairs pairs
// two folders, Decode reads one image or mask, NewFiles and NewMemory make
// sources, and package augment holds the transforms.
//
// Files are paired by name without extension, so an image a.jpg takes the
// mask a.png. JPEG, PNG and TIFF files are read (TIFF through GDAL); hidden
// files and other extensions (such as GDAL's .aux.xml side-cars) are
// skipped. Errors name the file.
package pipeline

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tfrun/tfrun/datasets"
	"github.com/tfrun/tfrun/pipeline/augment"
)

// FolderConfig is a folder dataset as a run config gives it.
type FolderConfig struct {
	// Root holds the two folders; Images and Masks name them (default
	// image and label, the course's). An absolute Images or Masks is used
	// as it is; relative paths start from the working directory, so a
	// caller reading a config file may want to join Root to its folder.
	Root   string `yaml:"root"`
	Images string `yaml:"images,omitempty"`
	Masks  string `yaml:"masks,omitempty"`
	Decode `yaml:",inline"`
	Split  SplitConfig `yaml:"split,omitempty"`
	// Cache decodes every example once into memory, for sets that fit;
	// augmentation still varies per epoch.
	Cache   bool `yaml:"cache,omitempty"`
	Options `yaml:",inline"`
}

// SplitConfig divides the pairs into train, validation and test sets:
// either by fractions (optionally after Limit and Shuffle) or by explicit
// lists of names. With neither, every pair is for training.
//
// The course's split is {limit: 500, shuffle: true, test: 0.3}: the first
// 500 pairs in name order, shuffled with the seed, the first 70% to train.
type SplitConfig struct {
	// Limit keeps only the first Limit pairs in file-name order (0: all).
	Limit int `yaml:"limit,omitempty"`
	// Shuffle shuffles the pairs with the seed before cutting; otherwise
	// each set keeps name order.
	Shuffle bool `yaml:"shuffle,omitempty"`
	// Validation and Test are fractions, cut in the order train,
	// validation, test.
	Validation float64 `yaml:"validation,omitempty"`
	Test       float64 `yaml:"test,omitempty"`
	// The lists name pairs by image file name, with or without extension;
	// a pair in no list is unused.
	TrainFiles      []string `yaml:"train_files,omitempty"`
	ValidationFiles []string `yaml:"validation_files,omitempty"`
	TestFiles       []string `yaml:"test_files,omitempty"`
}

// splitStream is the PCG stream of the split's shuffle, fixed so that the
// same seed always gives the same split.
const splitStream = 0x73706c6974

// Sets are the sources of one folder dataset; a set with no pairs is nil.
type Sets struct {
	Train, Validation, Test datasets.Source
}

// OpenFolders pairs the folders, checks every used pair's headers, splits
// and returns the sources. Only the training set is augmented.
func OpenFolders(cfg FolderConfig) (*Sets, error) {
	if err := errors.Join(cfg.Decode.validate(), cfg.Options.validate(), cfg.Split.validate()); err != nil {
		return nil, err
	}
	images, masks := cfg.dir(cfg.Images, "image"), cfg.dir(cfg.Masks, "label")
	pairs, err := ListPairs(images, masks)
	if err != nil {
		return nil, err
	}
	parts, err := cfg.Split.apply(pairs, cfg.Seed, images)
	if err != nil {
		return nil, err
	}
	dec, err := checkPairs(slices.Concat(parts[:]...), cfg.Decode)
	if err != nil {
		return nil, err
	}
	var srcs [3]datasets.Source
	for k, part := range parts {
		if len(part) == 0 {
			continue
		}
		opt := cfg.Options
		if k > 0 {
			opt.Augment = augment.Config{}
		}
		f, err := newFiles(part, dec, opt)
		if err != nil {
			return nil, err
		}
		srcs[k] = f
		if cfg.Cache {
			if srcs[k], err = f.Load(); err != nil {
				return nil, err
			}
		}
	}
	return &Sets{Train: srcs[0], Validation: srcs[1], Test: srcs[2]}, nil
}

func (cfg FolderConfig) dir(name, def string) string {
	if name == "" {
		name = def
	}
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(cfg.Root, name)
}

// Pair is one example's files; Name is their shared name without extension.
type Pair struct {
	Name, Image, Mask string
}

var imageExts = []string{".png", ".jpg", ".jpeg", ".tif", ".tiff"}

// ListPairs pairs the image files in images with the mask files in masks
// by name, in image file-name order. A file without a partner is an error.
func ListPairs(images, masks string) ([]Pair, error) {
	imgs, err := listImages(images, "image")
	if err != nil {
		return nil, err
	}
	msks, err := listImages(masks, "mask")
	if err != nil {
		return nil, err
	}
	byStem := make(map[string]string, len(msks))
	for _, m := range msks {
		byStem[stem(m)] = m
	}
	var pairs []Pair
	var unpaired []string
	for _, im := range imgs {
		m, ok := byStem[stem(im)]
		if !ok {
			unpaired = append(unpaired, fmt.Sprintf("%s has no mask in %s", filepath.Join(images, im), masks))
			continue
		}
		delete(byStem, stem(im))
		pairs = append(pairs, Pair{Name: stem(im), Image: filepath.Join(images, im), Mask: filepath.Join(masks, m)})
	}
	for _, m := range msks {
		if _, ok := byStem[stem(m)]; ok {
			unpaired = append(unpaired, fmt.Sprintf("%s has no image in %s", filepath.Join(masks, m), images))
		}
	}
	switch len(unpaired) {
	case 0:
		return pairs, nil
	case 1:
		return nil, fmt.Errorf("pipeline: %s", unpaired[0])
	}
	return nil, fmt.Errorf("pipeline: %s (and %d more unpaired files)", unpaired[0], len(unpaired)-1)
}

func stem(name string) string { return strings.TrimSuffix(name, filepath.Ext(name)) }

// listImages returns the image file names in dir, sorted.
func listImages(dir, role string) ([]string, error) {
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("pipeline: %s folder: %w", role, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("pipeline: %s folder %s is not a folder", role, dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %s folder: %w", role, err)
	}
	var names []string
	seen := map[string]string{}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || e.IsDir() || !slices.Contains(imageExts, strings.ToLower(filepath.Ext(name))) {
			continue
		}
		if other, ok := seen[stem(name)]; ok {
			return nil, fmt.Errorf("pipeline: %s and %s have the same name; files pair by name without extension", filepath.Join(dir, other), filepath.Join(dir, name))
		}
		seen[stem(name)] = name
		names = append(names, name)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("pipeline: %s folder %s has no images (%s files)", role, dir, strings.Join(imageExts, ", "))
	}
	return names, nil // os.ReadDir sorts by name
}

// checkPairs reads every pair's headers: a mask must be the size of its
// image and have one band (or three, grey), and without dec.Size every
// image must be the size of the first. It returns dec with Size and
// Channels settled from the first image where they were unset.
func checkPairs(pairs []Pair, dec Decode) (Decode, error) {
	first, err := readHeader(pairs[0].Image)
	if err != nil {
		return dec, err
	}
	resize := len(dec.Size) == 2
	if !resize {
		dec.Size = []int{first.h, first.w}
	} else {
		dec.Size = slices.Clone(dec.Size)
	}
	if dec.Channels == 0 {
		dec.Channels = first.c
	}
	for _, p := range pairs {
		im, err := readHeader(p.Image)
		if err != nil {
			return dec, err
		}
		m, err := readHeader(p.Mask)
		if err != nil {
			return dec, err
		}
		switch {
		case m.h != im.h || m.w != im.w:
			return dec, fmt.Errorf("pipeline: %s is %d×%d but its mask %s is %d×%d", p.Image, im.w, im.h, p.Mask, m.w, m.h)
		case m.c != 1 && m.c != 3:
			return dec, fmt.Errorf("pipeline: %s: a mask needs one band, this has %d", p.Mask, m.c)
		case !resize && (im.h != first.h || im.w != first.w):
			return dec, fmt.Errorf("pipeline: %s is %d×%d but %s is %d×%d; set size to resize them all", p.Image, im.w, im.h, pairs[0].Image, first.w, first.h)
		case im.c != dec.Channels && !(im.c == 1 && dec.Channels == 3) && !(im.c == 3 && dec.Channels == 1):
			return dec, fmt.Errorf("pipeline: %s has %d channels, and channels: %d converts only between 1 and 3", p.Image, im.c, dec.Channels)
		}
	}
	return dec, nil
}

func (s SplitConfig) lists() bool {
	return len(s.TrainFiles)+len(s.ValidationFiles)+len(s.TestFiles) > 0
}

func (s SplitConfig) validate() error {
	if s.lists() && (s.Limit != 0 || s.Shuffle || s.Validation != 0 || s.Test != 0) {
		return errors.New("pipeline: split: give file lists or limit/shuffle/fractions, not both")
	}
	if s.Limit < 0 {
		return fmt.Errorf("pipeline: split: limit %d: want ≥ 0", s.Limit)
	}
	if !(s.Validation >= 0 && s.Test >= 0 && s.Validation+s.Test < 1) {
		return fmt.Errorf("pipeline: split: validation %g and test %g: want fractions ≥ 0 that leave some for training", s.Validation, s.Test)
	}
	return nil
}

// apply returns the train, validation and test pairs.
func (s SplitConfig) apply(pairs []Pair, seed uint64, images string) ([3][]Pair, error) {
	var parts [3][]Pair
	if s.lists() {
		byName := make(map[string]Pair, 2*len(pairs))
		for _, p := range pairs {
			byName[p.Name] = p
			byName[filepath.Base(p.Image)] = p
		}
		used := map[string]string{}
		for k, list := range [3][]string{s.TrainFiles, s.ValidationFiles, s.TestFiles} {
			key := [3]string{"train_files", "validation_files", "test_files"}[k]
			for _, name := range list {
				p, ok := byName[name]
				if !ok {
					return parts, fmt.Errorf("pipeline: split: %s names %q, which has no pair in %s", key, name, images)
				}
				if prev, ok := used[p.Name]; ok {
					return parts, fmt.Errorf("pipeline: split: %q is in %s and %s", name, prev, key)
				}
				used[p.Name] = key
				parts[k] = append(parts[k], p)
			}
		}
		if len(parts[0]) == 0 {
			return parts, errors.New("pipeline: split: train_files is empty")
		}
		return parts, nil
	}
	if s.Limit > 0 && s.Limit < len(pairs) {
		pairs = pairs[:s.Limit]
	}
	pairs = slices.Clone(pairs)
	if s.Shuffle {
		rng := rand.New(rand.NewPCG(seed, splitStream))
		rng.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })
	}
	n := len(pairs)
	nVal, nTest := int(math.Round(float64(n)*s.Validation)), int(math.Round(float64(n)*s.Test))
	nTrain := n - nVal - nTest
	if (s.Validation > 0 && nVal == 0) || (s.Test > 0 && nTest == 0) || nTrain < 1 {
		return parts, fmt.Errorf("pipeline: split: validation %g and test %g of %d pairs leave an empty set (%d train, %d validation, %d test)", s.Validation, s.Test, n, nTrain, nVal, nTest)
	}
	parts[0], parts[1], parts[2] = pairs[:nTrain], pairs[nTrain:nTrain+nVal], pairs[nTrain+nVal:]
	return parts, nil
}
