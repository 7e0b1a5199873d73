package pca

import (
	"bytes"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
)

// CheckBands tells whether an input of the given band count fits the
// transform; callers prefix the file name.
func (t *Transform) CheckBands(bands int) error {
	if bands != t.InBands() {
		return fmt.Errorf("has %d bands, the PCA transform was fitted on %d", bands, t.InBands())
	}
	return nil
}

// Save writes the transform as YAML through a temporary file, so that a
// crash leaves the old file or none.
func (t *Transform) Save(path string) error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(t); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%s: %v", path, err)
	}
	return nil
}

// Load reads and validates a transform written by Save.
func Load(path string) (*Transform, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var t Transform
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("%s: not a PCA transform: %v", path, err)
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return &t, nil
}
