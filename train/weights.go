package train

import (
	"fmt"
	"slices"

	"github.com/tfrun/tfrun/datasets"
	"github.com/tfrun/tfrun/tfgraph/nn"
)

// prepareLoss builds the configured loss once. Class weights computed from
// label frequencies need the training data: train is read once for its
// label histogram (nil when the caller has none, an error for such
// weights).
func (f *Fitter) prepareLoss(train datasets.Source) error {
	if f.loss != nil {
		return nil
	}
	act := f.Model.OutputActivation()
	channels := f.Model.Output.Shape[len(f.Model.Output.Shape)-1]
	spec := nn.LossSpec{Name: f.Opts.Loss, Focal: f.Opts.Focal, Tversky: f.Opts.Tversky}
	if w := f.Opts.ClassWeights; w != nil && w.Values != nil {
		spec.ClassWeights = w.Values
	} else if parts, _ := nn.ParseLoss(f.Opts.Loss); w != nil || slices.Contains(parts, "wce") {
		method := "auto"
		if w != nil {
			method = w.Method
		}
		if train == nil {
			return fmt.Errorf("train.class_weights %s: the weights come from the training labels, which Fit reads", method)
		}
		classes := channels
		if act == "sigmoid" && channels == 1 {
			classes = 2
		}
		counts, err := ClassHistogram(train, classes, f.Opts.BatchSize)
		if err != nil {
			return err
		}
		if spec.ClassWeights, err = FrequencyWeights(counts, method); err != nil {
			return err
		}
		f.printf("class weights (%s, from label counts %v): %.4g\n", method, counts, spec.ClassWeights)
	}
	loss, err := nn.NewLoss(spec, act, channels)
	if err != nil {
		return fmt.Errorf("train.loss: %v", err)
	}
	f.loss = loss
	return nil
}

// ClassHistogram counts the labels of each class in one pass over src;
// negative labels (the ignore index) are skipped, and a label the model
// has no class for is an error.
func ClassHistogram(src datasets.Source, classes, batch int) ([]int64, error) {
	counts := make([]int64, classes)
	for b, err := range src.Batches(0, nil, batch) {
		if err != nil {
			return nil, err
		}
		for _, y := range b.Y {
			if y < 0 {
				continue
			}
			if int(y) >= classes {
				return nil, fmt.Errorf("the training labels hold class %d, the model has %d classes (0 to %d)", y, classes, classes-1)
			}
			counts[y]++
		}
	}
	return counts, nil
}

// FrequencyWeights turns label counts into class weights by method: auto
// or median is median-frequency balancing, w_c = median(f)/f_c; inverse
// is N/(C·n_c). config.ClassWeights says why auto is the median. A class
// absent from the labels gets weight 1: it has no pixel to weigh, and any
// finite weight keeps validation on data that has it well defined.
func FrequencyWeights(counts []int64, method string) ([]float64, error) {
	var total int64
	var present []float64
	for _, n := range counts {
		total += n
		if n > 0 {
			present = append(present, float64(n))
		}
	}
	if total == 0 {
		return nil, fmt.Errorf("class weights: the training data has no labelled pixel")
	}
	var scale float64
	switch method {
	case "auto", "median":
		slices.Sort(present)
		m := len(present)
		scale = present[m/2]
		if m%2 == 0 {
			scale = (present[m/2-1] + present[m/2]) / 2
		}
	case "inverse":
		scale = float64(total) / float64(len(counts))
	default:
		return nil, fmt.Errorf("class weights: unknown method %q (auto, median or inverse)", method)
	}
	w := make([]float64, len(counts))
	for c, n := range counts {
		w[c] = 1
		if n > 0 {
			w[c] = scale / float64(n)
		}
	}
	return w, nil
}
