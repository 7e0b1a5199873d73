package mapping

import (
	"github.com/tfrun/tfrun/modeldir"
)

// InfoOf describes a loaded model for Run: its shapes, output activation
// and the preprocessing it was trained with (a raster model's fitted
// preprocessing, else images' Decode.Scale, else arrays' Preprocess.Scale).
func InfoOf(ld *modeldir.Loaded) ModelInfo {
	m := ModelInfo{Input: ld.Model.Input.Shape, Output: ld.Model.Output.Shape,
		Activation: ld.Model.OutputActivation(), Scale: ld.Meta.Preprocess.Scale, Raster: ld.Meta.Raster}
	if d := ld.Meta.Decode; d != nil {
		m.Scale = d.Scale
	}
	return m
}
