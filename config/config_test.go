package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestShippedConfigsLoad(t *testing.T) {
	files, _ := filepath.Glob("../configs/*.yaml")
	if len(files) == 0 {
		t.Fatal("no configs found")
	}
	for _, f := range files {
		cfg, err := Load(f, nil)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if _, err := cfg.Model.Build(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestSetOverrides(t *testing.T) {
	cfg, err := Load("../configs/mnist_mlp.yaml", []string{"train.epochs=3", "train.optimizer=sgd", "train.momentum=0.9", "data.limit=100", "engine.threads=2"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Train.Epochs != 3 || cfg.Train.Optimizer != "sgd" || cfg.Train.Momentum != 0.9 || cfg.Data.Limit != 100 || cfg.Engine.Threads != 2 {
		t.Errorf("overrides not applied: %+v %+v", cfg.Train, cfg.Data)
	}
	if cfg.Train.BatchSize != 128 {
		t.Errorf("an override changed batch_size to %d", cfg.Train.BatchSize)
	}
}

func TestErrors(t *testing.T) {
	base := "model: {name: m, input: [4], layers: [{dense: {units: 2}}]}\ndata: {train: mnist:train}\n"
	for _, tc := range []struct {
		text string
		sets []string
		want string
	}{
		{base + "train: {learning_rat: 0.1}\n", nil, "field learning_rat not found"},
		{base, []string{"train.learning_rat=0.1"}, "field learning_rat not found"},
		{base, []string{"train.optimizer=adagrad"}, `unknown optimizer "adagrad"`},
		{base, []string{"train.batch_size=0"}, "batch_size must be > 0"},
		{base, []string{"train.loss=hinge"}, `unknown loss "hinge"`},
		{base, []string{"nonsense"}, "want key.path=value"},
		{base, []string{"train.checkpoint.monitor=val_loss"}, "needs data.validation"},
		{base, []string{"train.early_stopping.monitor=val_iou"}, `unknown monitor "val_iou" (use loss, accuracy, val_loss, val_accuracy, val_miou)`},
		{base, []string{"train.bn_recalibration=-1"}, "bn_recalibration must be ≥ 0"},
		{"model: [\n", nil, "yaml"},
		{"", nil, "empty config"},
	} {
		_, err := Parse([]byte(tc.text), tc.sets)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q %v: error %v, want %q", tc.text, tc.sets, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("error is not one line: %q", err)
		}
	}
}

func TestMissingFileNamesIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(path, nil)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("error %v does not name %s", err, path)
	}
	if _, statErr := os.Stat(path); statErr == nil {
		t.Error("Load created the file")
	}
}
