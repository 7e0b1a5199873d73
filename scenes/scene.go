package scenes

import (
	"errors"
	"fmt"
	"os"

	"github.com/tfrun/tfrun/pipeline"
	"github.com/tfrun/tfrun/raster"
)

// Config is a scene dataset as a run config gives it (data.scene):
//
//	image: ../shared/data/spacenet_buildings/image.tif
//	labels: ../shared/data/spacenet_buildings/mask.tif   # or a .gpkg with attr
//	classes: {0: background, 255: building}
//	window: 128
//	stride: 64
//	region: {cols: [0, 450]}
//	split: {validation: 0.2, block: 128}
//	clip: [0.01, 99.99]
//	copies: [rot90, rot180, rot270]
type Config struct {
	Image  string `yaml:"image"`
	Labels string `yaml:"labels"`
	// Layer and Attr pick the vector layer and the attribute whose value
	// is burnt as the label (without Attr, features burn 1 and the rest 0).
	Layer      string `yaml:"layer,omitempty"`
	Attr       string `yaml:"attr,omitempty"`
	PrepConfig `yaml:",inline"`
	// Remap changes label values before classes are assigned, the
	// course's changelabel: {3: 1, 7: 0}.
	Remap map[int]int `yaml:"remap,omitempty"`
	// Classes names the label values that are classes; class ids follow
	// ascending values. Without it, values 1..max are classes 0..max-1.
	// Any value that is not a class (0 by default) is ignored (-1).
	Classes map[int]string `yaml:"classes,omitempty"`
	// Window is the chip side in pixels; Stride the step between chips
	// (default: Window).
	Window int    `yaml:"window"`
	Stride int    `yaml:"stride,omitempty"`
	Region Region `yaml:"region,omitempty"`
	Split  Split  `yaml:"split,omitempty"`
	// Copies adds turned or flipped copies of each training chip:
	// rot90, rot180, rot270, hflip, vflip.
	Copies []string `yaml:"copies,flow,omitempty"`
	// Cache holds the prepared region in memory; by default it does when
	// the region takes at most 256 MiB prepared, and reads chips from the
	// files otherwise.
	Cache            *bool `yaml:"cache,omitempty"`
	pipeline.Options `yaml:",inline"`
}

// autoCacheBytes is the largest prepared region cached by default.
const autoCacheBytes = 256 << 20

// Scene is a scene opened for training: its fitted preprocessing, label
// classes and chips. Close it to release files and temporary labels.
type Scene struct {
	Image string
	Info  raster.Info
	// LabelRaster is the labels on the scene's grid: the labels file, or a
	// rasterized or warped copy in a temporary folder.
	LabelRaster string
	Prep        *Prep
	Tiling      Tiling
	// Train holds the training chips followed by their copies.
	Train, Validation []Chip
	// Dropped counts chips that straddled training and validation blocks.
	Dropped int
	// Counts are the labelled pixels of each class in the region.
	Counts []int64

	opt         pipeline.Options
	labelNoData *float64
	tmpDir      string
	readers     readerPool
	cache       *cache
}

func (c Config) validate() error {
	var errs []error
	if c.Image == "" {
		errs = append(errs, errors.New("image: the scene raster is required"))
	}
	if c.Labels == "" {
		errs = append(errs, errors.New("labels: a label raster or vector file is required"))
	}
	if c.Window < 1 {
		errs = append(errs, fmt.Errorf("window %d: want the chip side in pixels", c.Window))
	}
	if _, err := ParseCopies(c.Copies); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(append(errs, c.Split.validate())...)
}

// Open fits the preprocessing on the region, lines the labels up with
// the scene, settles the classes and lists the chips.
func Open(cfg Config) (*Scene, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("scene %s: %v", cfg.Image, err)
	}
	f, err := raster.OpenCube(cfg.Image)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := &Scene{Image: cfg.Image, Info: f.Info(), opt: cfg.Options}
	if err := s.open(f, cfg); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Scene) open(f *raster.File, cfg Config) error {
	region, err := cfg.Region.rect(s.Info.Width, s.Info.Height)
	if err != nil {
		return fmt.Errorf("%s: %v", cfg.Image, err)
	}
	s.Tiling = Tiling{Region: region, Size: cfg.Window, Stride: cfg.Stride}
	if s.Tiling.Stride == 0 {
		s.Tiling.Stride = cfg.Window
	}
	if err := s.Tiling.validate(); err != nil {
		return fmt.Errorf("%s: %v", cfg.Image, err)
	}
	if s.Prep, err = FitPrep(f, cfg.Image, region, cfg.PrepConfig); err != nil {
		return err
	}
	ls := labelSource{Path: cfg.Labels, Layer: cfg.Layer, Attr: cfg.Attr}
	if s.LabelRaster, err = ls.align(cfg.Image, s.Info.Grid(), s.tempDir); err != nil {
		return err
	}
	if err := s.settleClasses(cfg); err != nil {
		return err
	}
	split, err := s.Tiling.Split(cfg.Split, cfg.Seed)
	if err != nil {
		return fmt.Errorf("%s: %v", cfg.Image, err)
	}
	copies, _ := ParseCopies(cfg.Copies)
	s.Train, s.Validation, s.Dropped = withCopies(split.Train, copies), split.Validation, split.Dropped
	s.readers.open = s.openReader
	cached := int64(region.W) * int64(region.H) * int64(s.Prep.OutBands()+1) * 4
	if cfg.Cache != nil && *cfg.Cache || cfg.Cache == nil && cached <= autoCacheBytes {
		s.cache, err = s.loadCache()
	}
	return err
}

// tempDir makes the scene's temporary folder on first use.
func (s *Scene) tempDir() (string, error) {
	if s.tmpDir == "" {
		d, err := os.MkdirTemp("", "tfrun-scene-")
		if err != nil {
			return "", fmt.Errorf("%s: temporary folder for aligned labels: %v", s.Image, err)
		}
		s.tmpDir = d
	}
	return s.tmpDir, nil
}

// Cached tells whether chips come from the prepared region in memory.
func (s *Scene) Cached() bool { return s.cache != nil }

// Close releases the open files and removes temporary labels.
func (s *Scene) Close() error {
	err := s.readers.close()
	if s.tmpDir != "" {
		err = errors.Join(err, os.RemoveAll(s.tmpDir))
		s.tmpDir = ""
	}
	return err
}
