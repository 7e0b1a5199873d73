// Package config reads tfrun's YAML run configs. Unknown keys are errors:
// a misspelt `learning_rat` must not silently train with the default.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/tfrun/tfrun/datasets"
	"github.com/tfrun/tfrun/models"
	"github.com/tfrun/tfrun/pipeline"
	"github.com/tfrun/tfrun/scenes"
	"github.com/tfrun/tfrun/tfgraph/nn"
	"gopkg.in/yaml.v3"
)

// Config is one training run.
type Config struct {
	Model  models.Spec `yaml:"model"`
	Data   Data        `yaml:"data"`
	Train  Train       `yaml:"train"`
	Engine Engine      `yaml:"engine,omitempty"`
}

// Data names where examples come from: sources for datasets.Load, or a
// folder dataset of images and masks (segmentation).
type Data struct {
	Train           string              `yaml:"train,omitempty"`
	Validation      string              `yaml:"validation,omitempty"`
	ValidationSplit float64             `yaml:"validation_split,omitempty"`
	Test            string              `yaml:"test,omitempty"`
	Limit           int                 `yaml:"limit,omitempty"` // use only the first N training examples
	Preprocess      datasets.Preprocess `yaml:"preprocess,omitempty"`
	// Folders is a folder dataset; its own split gives the training,
	// validation and test sets.
	Folders *pipeline.FolderConfig `yaml:"folders,omitempty"`
	// Scene is a georeferenced scene and its labels, cut into chips read
	// on the fly; its split gives the validation set.
	Scene *scenes.Config `yaml:"scene,omitempty"`
}

// Train holds the optimiser, schedule and callbacks, with Keras' names.
type Train struct {
	Optimizer string `yaml:"optimizer"`
	// Loss is crossentropy (alias ce, the default: categorical, or binary
	// for a sigmoid output), bce, wce (weighted cross-entropy), focal,
	// dice, tversky, or two of them joined by + (ce+dice, focal+dice).
	// Every loss skips pixels whose label is negative (the ignore index).
	Loss string `yaml:"loss,omitempty"`
	// ClassWeights weigh the classes in wce and focal: auto (median
	// frequency), inverse, or one weight per class. Unset, wce uses auto
	// and focal weighs all classes alike.
	ClassWeights *ClassWeights `yaml:"class_weights,omitempty"`
	// Focal is {gamma, alpha} of the focal loss, 2 and 0.25 by default.
	Focal nn.Focal `yaml:"focal,omitempty"`
	// Tversky is {alpha, beta} of the Tversky loss, the weights of false
	// positives and false negatives, 0.3 and 0.7 by default.
	Tversky       nn.Tversky     `yaml:"tversky,omitempty"`
	LearningRate  float64        `yaml:"learning_rate"`
	Momentum      float64        `yaml:"momentum,omitempty"`
	BatchSize     int            `yaml:"batch_size"`
	Epochs        int            `yaml:"epochs"`
	Seed          uint64         `yaml:"seed"`
	Checkpoint    *Checkpoint    `yaml:"checkpoint,omitempty"`
	EarlyStopping *EarlyStopping `yaml:"early_stopping,omitempty"`
	ReduceLR      *ReduceLR      `yaml:"reduce_lr,omitempty"`
	// BNRecalibration is a number of training batches: after each epoch,
	// before validation and saving, every batch norm's moving statistics
	// become their average over that many batches (0 keeps Keras'
	// momentum average alone). See layers.RecalibrationWeight.
	BNRecalibration int `yaml:"bn_recalibration,omitempty"`
}

// ClassWeights is train.class_weights: how to weigh each class, computed
// from the training labels' frequencies or given.
//
// auto (or median) is median-frequency balancing (Eigen and Fergus 2015):
// w_c = median_k(f_k) / f_c, f_c the share of labelled pixels in class c.
// The median class weighs 1, so the loss keeps the scale of plain
// cross-entropy and a very rare class (Jasper Ridge's road, under 8% of
// pixels) gets a strong but bounded boost. inverse is N / (C·n_c),
// scikit-learn's "balanced": the mean weight per pixel is 1, but a rare
// class's weight grows without bound as it gets rarer, which makes steps
// on batches with a few such pixels erratic.
type ClassWeights struct {
	Method string    // auto, median or inverse; "" when Values are given
	Values []float64 // one weight per class (two for a sigmoid output)
}

// ClassWeightMethods are the names train.class_weights accepts instead of
// a list.
var ClassWeightMethods = []string{"auto", "median", "inverse"}

// UnmarshalYAML takes a method name or a list of weights.
func (w *ClassWeights) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		w.Method = n.Value
		return nil
	}
	return n.Decode(&w.Values)
}

// Monitors are the quantities callbacks can watch; val_miou (mean IoU
// over the classes) exists for segmentation models only.
var Monitors = []string{"loss", "accuracy", "val_loss", "val_accuracy", "val_miou"}

// Checkpoint keeps the best model by a monitored quantity (Keras'
// ModelCheckpoint with save_best_only).
type Checkpoint struct {
	Monitor string `yaml:"monitor"`
}

// EarlyStopping stops when the monitored quantity stops improving.
type EarlyStopping struct {
	Monitor  string  `yaml:"monitor"`
	Patience int     `yaml:"patience"`
	MinDelta float64 `yaml:"min_delta,omitempty"`
}

// ReduceLR multiplies the learning rate by Factor after Patience epochs
// without improvement (Keras' ReduceLROnPlateau).
type ReduceLR struct {
	Monitor  string  `yaml:"monitor"`
	Factor   float64 `yaml:"factor"`
	Patience int     `yaml:"patience"`
	MinLR    float64 `yaml:"min_lr,omitempty"`
}

// Engine selects the compute engine: "go" (embedded) or "xla" with a PJRT
// plugin.
type Engine struct {
	Name    string `yaml:"name,omitempty"`
	Plugin  string `yaml:"plugin,omitempty"`
	Threads int    `yaml:"threads,omitempty"`
}

// Load reads a config file and applies `key.path=value` overrides.
func Load(path string, sets []string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %v", path, errors.Unwrap(err))
	}
	cfg, err := Parse(b, sets)
	if err != nil {
		return nil, fmt.Errorf("config %s: %v", path, err)
	}
	return cfg, nil
}

// Parse reads a config from YAML text and applies overrides.
func Parse(text []byte, sets []string) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, err
	}
	if doc.Kind == 0 {
		return nil, fmt.Errorf("empty config")
	}
	root := doc.Content[0]
	for _, s := range sets {
		if err := set(root, s); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	if err := yaml.NewEncoder(&buf).Encode(root); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(&buf)
	dec.KnownFields(true)
	cfg := Defaults()
	if err := dec.Decode(cfg); err != nil && err != io.EOF {
		return nil, cleanYAMLError(err)
	}
	return cfg, cfg.validate()
}

// Defaults are Keras' own where Keras has one.
func Defaults() *Config {
	return &Config{Train: Train{Optimizer: "adam", LearningRate: 0.001, BatchSize: 32, Epochs: 1, Seed: 1,
		Focal: nn.DefaultFocal, Tversky: nn.DefaultTversky}}
}

// cleanYAMLError keeps yaml.v3's message on one line: its type errors come
// as a multi-line list.
func cleanYAMLError(err error) error {
	msg := strings.ReplaceAll(err.Error(), "\n ", ";")
	msg = strings.TrimPrefix(msg, "yaml: unmarshal errors:;")
	return errors.New(strings.TrimSpace(msg))
}

// set applies one `a.b.c=value` override to the YAML tree, creating the
// mappings on its path; whether the key exists is left to the decoder, which
// knows the schema.
func set(root *yaml.Node, kv string) error {
	key, val, ok := strings.Cut(kv, "=")
	if !ok || key == "" {
		return fmt.Errorf("--set %q: want key.path=value", kv)
	}
	var v yaml.Node
	if err := yaml.Unmarshal([]byte(val), &v); err != nil {
		return fmt.Errorf("--set %s: %v", key, err)
	}
	value := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: ""}
	if v.Kind != 0 {
		value = v.Content[0]
	}
	node := root
	parts := strings.Split(key, ".")
	for i, p := range parts {
		if node.Kind != yaml.MappingNode {
			return fmt.Errorf("--set %s: %s is not a mapping", key, strings.Join(parts[:i], "."))
		}
		var next *yaml.Node
		for j := 0; j+1 < len(node.Content); j += 2 {
			if node.Content[j].Value == p {
				next = node.Content[j+1]
				if i == len(parts)-1 {
					node.Content[j+1] = value
				}
				break
			}
		}
		if i == len(parts)-1 {
			if next == nil {
				node.Content = append(node.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: p}, value)
			}
			return nil
		}
		if next == nil {
			next = &yaml.Node{Kind: yaml.MappingNode}
			node.Content = append(node.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: p}, next)
		}
		node = next
	}
	return nil
}

// Optimizers are the names train.optimizer accepts.
var Optimizers = []string{"adam", "rmsprop", "sgd"}

func (c *Config) validate() error {
	t := c.Train
	known := false
	for _, o := range Optimizers {
		known = known || t.Optimizer == o
	}
	switch {
	case !known:
		return fmt.Errorf("train.optimizer: unknown optimizer %q (known: %s)", t.Optimizer, strings.Join(Optimizers, ", "))
	case t.LearningRate <= 0:
		return fmt.Errorf("train.learning_rate must be > 0, got %g", t.LearningRate)
	case t.Momentum < 0 || t.Momentum >= 1:
		return fmt.Errorf("train.momentum must be in [0, 1), got %g", t.Momentum)
	case t.BatchSize <= 0:
		return fmt.Errorf("train.batch_size must be > 0, got %d", t.BatchSize)
	case t.Epochs <= 0:
		return fmt.Errorf("train.epochs must be > 0, got %d", t.Epochs)
	case t.BNRecalibration < 0:
		return fmt.Errorf("train.bn_recalibration must be ≥ 0 batches, got %d", t.BNRecalibration)
	case c.Data.sources() == 0:
		return fmt.Errorf("data: set data.train, data.folders or data.scene")
	case c.Data.sources() > 1:
		return fmt.Errorf("data: give only one of data.train, data.folders and data.scene")
	case c.Data.Validation != "" && c.Data.ValidationSplit != 0:
		return fmt.Errorf("give data.validation or data.validation_split, not both")
	}
	if err := t.validateLoss(); err != nil {
		return err
	}
	for _, m := range t.CallbackMonitors() {
		if m != "" && !slices.Contains(Monitors, m) {
			return fmt.Errorf("unknown monitor %q (use %s)", m, strings.Join(Monitors, ", "))
		}
		if strings.HasPrefix(m, "val_") && !c.Data.hasValidation() {
			return fmt.Errorf("monitor %q needs data.validation or data.validation_split", m)
		}
	}
	if r := t.ReduceLR; r != nil && (r.Factor <= 0 || r.Factor >= 1) {
		return fmt.Errorf("train.reduce_lr.factor must be in (0, 1), got %g", r.Factor)
	}
	return nil
}

func (t Train) validateLoss() error {
	if _, err := nn.ParseLoss(t.Loss); err != nil {
		return fmt.Errorf("train.loss: %v", err)
	}
	if f := t.Focal; f.Gamma < 0 || f.Alpha < 0 || f.Alpha > 1 {
		return fmt.Errorf("train.focal: gamma must be ≥ 0 and alpha in [0, 1], got gamma %g, alpha %g", f.Gamma, f.Alpha)
	}
	if v := t.Tversky; v.Alpha < 0 || v.Beta < 0 || v.Alpha+v.Beta == 0 {
		return fmt.Errorf("train.tversky: alpha and beta must be ≥ 0 and not both 0, got %g and %g", v.Alpha, v.Beta)
	}
	w := t.ClassWeights
	if w == nil {
		return nil
	}
	if !nn.UsesClassWeights(t.Loss) {
		return fmt.Errorf("train.class_weights: only wce and focal weigh classes, train.loss is %q", t.Loss)
	}
	if w.Values == nil && !slices.Contains(ClassWeightMethods, w.Method) {
		return fmt.Errorf("train.class_weights: unknown method %q (give %s, or a list of weights)", w.Method, strings.Join(ClassWeightMethods, ", "))
	}
	for i, v := range w.Values {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("train.class_weights: weight %d is %g; weights must be finite and > 0", i, v)
		}
	}
	return nil
}

// sources counts the kinds of training data given.
func (d Data) sources() int {
	n := 0
	for _, set := range []bool{d.Train != "", d.Folders != nil, d.Scene != nil} {
		if set {
			n++
		}
	}
	return n
}

// hasValidation tells whether the data gives a set to validate on; a folder
// dataset validates on its validation split, or else on its test split as
// the course does.
func (d Data) hasValidation() bool {
	if s := d.Scene; s != nil {
		return s.Split.Validation > 0
	}
	if f := d.Folders; f != nil {
		return f.Split.Validation > 0 || f.Split.Test > 0 || len(f.Split.ValidationFiles) > 0 || len(f.Split.TestFiles) > 0
	}
	return d.Validation != "" || d.ValidationSplit != 0
}

// CallbackMonitors are the monitors of the callbacks that are set:
// checkpoint, early stopping, reduce_lr.
func (t Train) CallbackMonitors() []string {
	var ms []string
	if c := t.Checkpoint; c != nil {
		ms = append(ms, c.Monitor)
	}
	if c := t.EarlyStopping; c != nil {
		ms = append(ms, c.Monitor)
	}
	if c := t.ReduceLR; c != nil {
		ms = append(ms, c.Monitor)
	}
	return ms
}
