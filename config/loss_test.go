package config

import (
	"slices"
	"strings"
	"testing"
)

func TestLossKeys(t *testing.T) {
	base := "model: {name: m, input: [4], layers: [{dense: {units: 3}}]}\ndata: {train: mnist:train}\n"
	cfg, err := Parse([]byte(base+"train: {loss: focal+dice, focal: {gamma: 1}, class_weights: [1, 2.5, 4]}\n"), []string{"train.tversky.beta=0.8"})
	if err != nil {
		t.Fatal(err)
	}
	tr := cfg.Train
	if tr.Focal.Gamma != 1 || tr.Focal.Alpha != 0.25 {
		t.Errorf("focal %+v: want gamma 1 and the default alpha 0.25", tr.Focal)
	}
	if tr.Tversky.Alpha != 0.3 || tr.Tversky.Beta != 0.8 {
		t.Errorf("tversky %+v: want the default alpha 0.3 and beta 0.8", tr.Tversky)
	}
	if tr.ClassWeights == nil || !slices.Equal(tr.ClassWeights.Values, []float64{1, 2.5, 4}) || tr.ClassWeights.Method != "" {
		t.Errorf("class weights %+v, want [1 2.5 4]", tr.ClassWeights)
	}
	cfg, err = Parse([]byte(base), []string{"train.loss=wce", "train.class_weights=inverse"})
	if err != nil {
		t.Fatal(err)
	}
	if w := cfg.Train.ClassWeights; w == nil || w.Method != "inverse" || w.Values != nil {
		t.Errorf("class weights %+v, want the inverse method", w)
	}

	for _, tc := range []struct {
		sets []string
		want string
	}{
		{[]string{"train.loss=ce+dice+focal"}, "train.loss: loss \"ce+dice+focal\": combine at most two"},
		{[]string{"train.loss=dice", "train.class_weights=auto"}, "only wce and focal weigh classes"},
		{[]string{"train.loss=wce", "train.class_weights=median_freq"}, `unknown method "median_freq"`},
		{[]string{"train.loss=wce", "train.class_weights=[1, 0, 2]"}, "weight 1 is 0"},
		{[]string{"train.focal.alpha=1.5"}, "train.focal: gamma must be ≥ 0 and alpha in [0, 1]"},
		{[]string{"train.tversky.alpha=0", "train.tversky.beta=0"}, "not both 0"},
		{[]string{"train.focal.beta=1"}, "field beta not found"},
	} {
		_, err := Parse([]byte(base), tc.sets)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.sets, err, tc.want)
		}
	}
}
