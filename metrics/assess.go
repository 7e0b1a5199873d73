package metrics

import "fmt"

// Assessment is a map's accuracy as remote sensing reports it (Congalton
// 1991): the error matrix with rows = reference and columns = map, overall
// accuracy and kappa, each class's producer's and user's accuracy, and the
// segmentation scores F1, IoU, mean IoU and frequency-weighted IoU. The JSON
// names are the ones `tfrun eval --json` prints.
type Assessment struct {
	OverallAccuracy float64         `json:"overall_accuracy"`
	Kappa           float64         `json:"kappa"`
	MIoU            float64         `json:"miou"`
	FWIoU           float64         `json:"fwiou"`
	N               int64           `json:"n"`
	Classes         []ClassAccuracy `json:"classes"`
	ConfusionMatrix [][]int64       `json:"confusion_matrix"`
}

// ClassAccuracy is one class of an Assessment. Producer's accuracy is the
// share of the class's reference samples the map got right (1 − omission
// error, i.e. recall); user's accuracy is the share of the samples mapped as
// the class that are it (1 − commission error, i.e. precision). Support is
// the number of reference samples, Mapped the number of samples the map
// assigns to the class.
type ClassAccuracy struct {
	Name              string  `json:"name"`
	ProducersAccuracy float64 `json:"producers_accuracy"`
	UsersAccuracy     float64 `json:"users_accuracy"`
	F1                float64 `json:"f1"`
	IoU               float64 `json:"iou"`
	Support           int64   `json:"support"`
	Mapped            int64   `json:"mapped"`
}

// Assess summarises c. names labels the classes in order; nil names them
// by index. Scores whose denominator is 0 (a class absent from the
// reference or never mapped) are 0, as in PerClass.
func (c *Confusion) Assess(names []string) (*Assessment, error) {
	if names == nil {
		names = make([]string, c.Classes)
		for k := range names {
			names[k] = fmt.Sprint(k)
		}
	}
	if len(names) != c.Classes {
		return nil, fmt.Errorf("metrics: %d class names for a %d-class matrix", len(names), c.Classes)
	}
	_, mapped := c.rowCol()
	a := &Assessment{
		OverallAccuracy: c.Accuracy(),
		Kappa:           c.Kappa(),
		MIoU:            c.MeanIoU(),
		FWIoU:           c.FrequencyWeightedIoU(),
		N:               c.N(),
		ConfusionMatrix: c.M,
		Classes:         make([]ClassAccuracy, c.Classes),
	}
	for k, s := range c.PerClass() {
		a.Classes[k] = ClassAccuracy{
			Name:              names[k],
			ProducersAccuracy: s.Recall,
			UsersAccuracy:     s.Precision,
			F1:                s.F1,
			IoU:               s.IoU,
			Support:           s.Support,
			Mapped:            mapped[k],
		}
	}
	return a, nil
}

// FrequencyWeightedIoU weights each class's IoU by its share of the
// reference samples (Long, Shelhamer and Darrell 2015, "Fully convolutional
// networks for semantic segmentation", §5): large classes dominate, which
// mIoU deliberately avoids. 0 for an empty matrix.
func (c *Confusion) FrequencyWeightedIoU() float64 {
	n := c.N()
	if n == 0 {
		return 0
	}
	var sum float64
	for _, s := range c.PerClass() {
		sum += float64(s.Support) * s.IoU
	}
	return sum / float64(n)
}
