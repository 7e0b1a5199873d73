// Package modeldir saves and loads tfrun models. A model is a folder:
//
//	model.yaml   format tag, the model as layers, the preprocessing, and the
//	             list of variables with shapes and CRC-32 checksums
//	weights.npz  one flat float32 array per variable, named layer/weight;
//	             numpy.load reads it, and the shapes are in model.yaml
//
// Each file is written to a temporary name and renamed, weights first, so a
// folder with a model.yaml always has the weights it describes, and a crash
// mid-save leaves the previous model intact.
package modeldir

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/sbinet/npyio/npy"
	"github.com/sbinet/npyio/npz"
	"github.com/tfrun/tfrun/datasets"
	"github.com/tfrun/tfrun/internal/dims"
	"github.com/tfrun/tfrun/models"
	"github.com/tfrun/tfrun/pipeline"
	"github.com/tfrun/tfrun/savedmodels/importer"
	"github.com/tfrun/tfrun/scenes"
	"gopkg.in/yaml.v3"
)

// Format tags model.yaml; a loader refuses formats it does not know.
const Format = "tfrun-model/1"

const (
	metaFile    = "model.yaml"
	weightsFile = "weights.npz"
)

// Meta is model.yaml.
type Meta struct {
	Format    string      `yaml:"format"`
	Model     models.Spec `yaml:"model"`
	Inputs    `yaml:",inline"`
	Variables []VarInfo `yaml:"variables"`
}

// Inputs is how raw data becomes model input, saved so that prediction
// repeats exactly what training did.
type Inputs struct {
	// Preprocess scales arrays and single images (classifiers).
	Preprocess datasets.Preprocess `yaml:"preprocess,omitempty"`
	// Decode reads image files and masks (segmentation): size, channels,
	// scale and the mask values of the classes.
	Decode *pipeline.Decode `yaml:"decode,omitempty"`
	// Raster is the fitted preprocessing of georeferenced scenes (bands,
	// clip, scale, nodata) and how label values become classes.
	Raster *scenes.Prep `yaml:"raster,omitempty"`
}

// VarInfo describes one stored variable.
type VarInfo struct {
	Name  string `yaml:"name"`
	Shape []int  `yaml:"shape,flow"`
	CRC32 uint32 `yaml:"crc32"`
}

// Save writes the model and its variables from ctx into dir.
func Save(dir string, m *models.Model, ctx *context.Context, in Inputs) error {
	spec, err := models.SpecOf(m)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	meta := Meta{Format: Format, Model: spec, Inputs: in}
	arrays := map[string]any{}
	for _, v := range m.Variables() {
		cv := ctx.In(v.Layer).GetVariable(v.Name)
		if cv == nil {
			return fmt.Errorf("save %s: variable %s missing from the context", dir, v.Path())
		}
		t, err := cv.Value()
		if err != nil {
			return fmt.Errorf("save %s: %s: %v", dir, v.Path(), err)
		}
		vals, err := tensors.CopyFlatData[float32](t)
		if err != nil {
			return fmt.Errorf("save %s: %s: %v", dir, v.Path(), err)
		}
		arrays[v.Path()] = vals
		meta.Variables = append(meta.Variables, VarInfo{Name: v.Path(), Shape: v.Shape, CRC32: checksum(vals)})
	}
	if err := writeAtomic(filepath.Join(dir, weightsFile), func(path string) error { return npz.Write(path, arrays) }); err != nil {
		return fmt.Errorf("save %s: %v", dir, err)
	}
	b, err := yaml.Marshal(meta)
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, metaFile), func(path string) error { return os.WriteFile(path, b, 0o644) })
}

func writeAtomic(final string, write func(path string) error) error {
	tmp := final + ".tmp"
	if err := write(tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, final)
}

func checksum(vals []float32) uint32 {
	b := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return crc32.ChecksumIEEE(b)
}

// Loaded is a model read back from disk, with its variables in Ctx.
type Loaded struct {
	Meta  Meta
	Model *models.Model
	Ctx   *context.Context
}

// Load reads a model folder, or imports a Keras model: a SavedModel folder
// with keras_metadata.pb, or an .h5 file. Every problem names the file at
// fault.
func Load(dir string) (*Loaded, error) {
	if isKeras(dir) {
		return loadKeras(dir)
	}
	metaPath := filepath.Join(dir, metaFile)
	b, err := os.ReadFile(metaPath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: not a tfrun model folder (no %s), a SavedModel or a Keras .h5 file", dir, metaFile)
		}
		return nil, fmt.Errorf("%s: %v", metaPath, err)
	}
	var meta Meta
	if err := yaml.Unmarshal(b, &meta); err != nil {
		return nil, fmt.Errorf("%s: %v", metaPath, err)
	}
	if meta.Format != Format {
		return nil, fmt.Errorf("%s: format %q, this tfrun reads %q", metaPath, meta.Format, Format)
	}
	m, err := meta.Model.Build()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", metaPath, err)
	}
	wPath := filepath.Join(dir, weightsFile)
	r, err := npz.Open(wPath)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read weights: %v", wPath, err)
	}
	defer r.Close()
	stored := map[string]VarInfo{}
	for _, vi := range meta.Variables {
		stored[vi.Name] = vi
	}
	values := map[string]*tensors.Tensor{}
	for _, v := range m.Variables() {
		vi, ok := stored[v.Path()]
		if !ok {
			return nil, fmt.Errorf("%s: variable %s of the model is not listed", metaPath, v.Path())
		}
		if !slices.Equal(vi.Shape, v.Shape) {
			return nil, fmt.Errorf("%s: variable %s has shape %v, the model needs %v", metaPath, v.Path(), vi.Shape, v.Shape)
		}
		var vals []float32
		if err := readArray(r, v.Path(), &vals); err != nil {
			return nil, fmt.Errorf("%s: %s: %v", wPath, v.Path(), err)
		}
		if len(vals) != dims.Product(v.Shape) {
			return nil, fmt.Errorf("%s: %s has %d values, want %d", wPath, v.Path(), len(vals), dims.Product(v.Shape))
		}
		if checksum(vals) != vi.CRC32 {
			return nil, fmt.Errorf("%s: %s fails its CRC-32 check: the file is corrupt", wPath, v.Path())
		}
		values[v.Path()] = tensors.FromFlatDataAndDimensions(vals, v.Shape...)
		delete(stored, v.Path())
	}
	for name := range stored {
		return nil, fmt.Errorf("%s: variable %s does not belong to the model", metaPath, name)
	}
	ctx := context.New()
	if err := m.SetVariables(ctx, values); err != nil {
		return nil, fmt.Errorf("%s: %v", metaPath, err)
	}
	return &Loaded{Meta: meta, Model: m, Ctx: ctx}, nil
}

// isKeras tells a Keras model from a tfrun folder: a file, or a folder
// with a saved_model.pb and no model.yaml.
func isKeras(path string) bool {
	st, err := os.Stat(path)
	if err != nil {
		return false
	}
	if !st.IsDir() {
		return true
	}
	_, errMeta := os.Stat(filepath.Join(path, metaFile))
	_, errPB := os.Stat(filepath.Join(path, "saved_model.pb"))
	return errors.Is(errMeta, os.ErrNotExist) && errPB == nil
}

// loadKeras imports a Keras model into tfrun's engine. It records no
// preprocessing: Keras files do not say how inputs were prepared, and a
// model that rescales raw pixels does so in its own Rescaling layer.
func loadKeras(path string) (*Loaded, error) {
	imp, err := importer.Load(path)
	if err != nil {
		return nil, err
	}
	spec, err := models.SpecOf(imp.Model)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	ctx := context.New()
	if err := imp.Model.SetVariables(ctx, imp.Values); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return &Loaded{Meta: Meta{Format: "keras " + imp.Keras.Format, Model: spec}, Model: imp.Model, Ctx: ctx}, nil
}

// readArray reads one array of the archive. npyio's npy reader assumes each
// Read fills its 4-byte buffer, which a deflate stream does not promise, so
// the entry is read through fullReader; npyio's panics on malformed data
// become errors.
func readArray(r *npz.Reader, name string, ptr *[]float32) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed array: %v", p)
		}
	}()
	if r.Header(name) == nil {
		return fmt.Errorf("missing from the archive")
	}
	rc, err := r.Open(name)
	if err != nil {
		return err
	}
	defer rc.Close()
	nr, err := npy.NewReader(fullReader{rc})
	if err != nil {
		return err
	}
	return nr.Read(ptr)
}

type fullReader struct{ r io.Reader }

func (f fullReader) Read(p []byte) (int, error) { return io.ReadFull(f.r, p) }
