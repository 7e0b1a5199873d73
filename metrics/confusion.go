// Package metrics computes classification metrics from a confusion matrix of
// integer class labels, so that per-pixel segmentation and per-sample
// classification share one accumulator.
package metrics

import "fmt"

// Confusion counts (truth, prediction) pairs. M[t][p] is the number of
// samples of true class t predicted as class p.
type Confusion struct {
	Classes int
	M       [][]int64
}

// NewConfusion returns an empty matrix for classes 0..classes-1.
func NewConfusion(classes int) *Confusion {
	if classes < 0 {
		panic(fmt.Sprintf("metrics: negative class count %d", classes))
	}
	m := make([][]int64, classes)
	// One backing array keeps rows contiguous for cache-friendly scans.
	cells := make([]int64, classes*classes)
	for i := range m {
		m[i] = cells[i*classes : (i+1)*classes : (i+1)*classes]
	}
	return &Confusion{Classes: classes, M: m}
}

// Add counts each (truth[i], pred[i]) pair. A negative truth is an ignore
// index (e.g. unlabelled or no-data pixels) and is skipped whatever its
// prediction. The inputs are checked in full before anything is counted, so
// on error c is unchanged.
func (c *Confusion) Add(truth, pred []int32) error {
	if len(truth) != len(pred) {
		return fmt.Errorf("metrics: %d truth labels but %d predictions", len(truth), len(pred))
	}
	k := int32(c.Classes)
	for i, t := range truth {
		if t < 0 {
			continue
		}
		if t >= k {
			return fmt.Errorf("metrics: truth[%d] = %d outside [0,%d)", i, t, k)
		}
		if p := pred[i]; p < 0 || p >= k {
			return fmt.Errorf("metrics: pred[%d] = %d outside [0,%d)", i, p, k)
		}
	}
	for i, t := range truth {
		if t >= 0 {
			c.M[t][pred[i]]++
		}
	}
	return nil
}

// Merge adds o's counts into c, e.g. to combine per-batch or per-worker
// matrices.
func (c *Confusion) Merge(o *Confusion) error {
	if o.Classes != c.Classes {
		return fmt.Errorf("metrics: cannot merge %d-class matrix into %d-class matrix", o.Classes, c.Classes)
	}
	for i, row := range o.M {
		for j, v := range row {
			c.M[i][j] += v
		}
	}
	return nil
}

// N is the number of counted samples.
func (c *Confusion) N() int64 {
	var n int64
	for _, row := range c.M {
		for _, v := range row {
			n += v
		}
	}
	return n
}

func (c *Confusion) trace() int64 {
	var t int64
	for i := range c.M {
		t += c.M[i][i]
	}
	return t
}

// rowCol returns the per-class truth totals (support) and prediction totals.
func (c *Confusion) rowCol() (rows, cols []int64) {
	rows = make([]int64, c.Classes)
	cols = make([]int64, c.Classes)
	for i, row := range c.M {
		for j, v := range row {
			rows[i] += v
			cols[j] += v
		}
	}
	return rows, cols
}

// Accuracy is the fraction of samples on the diagonal; 0 for an empty matrix.
func (c *Confusion) Accuracy() float64 {
	n := c.N()
	if n == 0 {
		return 0
	}
	return float64(c.trace()) / float64(n)
}

// ClassStats are one class's one-vs-rest scores. Support is the number of
// samples whose true class it is.
type ClassStats struct {
	Precision, Recall, F1, IoU float64
	Support                    int64
}

// ratio is a/b, or 0 when b is 0; this matches sklearn's zero_division=0 so
// that an absent or never-predicted class scores 0 instead of NaN poisoning
// every average taken over classes.
func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// PerClass returns precision, recall, F1 and IoU (Jaccard) for each class.
// Scores with a zero denominator are 0.
func (c *Confusion) PerClass() []ClassStats {
	rows, cols := c.rowCol()
	out := make([]ClassStats, c.Classes)
	for k := range out {
		tp := c.M[k][k]
		fp := cols[k] - tp
		fn := rows[k] - tp
		out[k] = ClassStats{
			Precision: ratio(tp, cols[k]),
			Recall:    ratio(tp, rows[k]),
			// The count form equals 2PR/(P+R) but stays exact when
			// P and R are both 0.
			F1:      ratio(2*tp, 2*tp+fp+fn),
			IoU:     ratio(tp, tp+fp+fn),
			Support: rows[k],
		}
	}
	return out
}

// Kappa is Cohen's kappa, (po - pe) / (1 - pe), with po the observed
// agreement (accuracy) and pe the agreement expected from the truth and
// prediction marginals alone. It is 0 for an empty matrix and when pe is 1
// (truth and prediction both a single class), where chance explains all
// agreement and kappa is undefined.
func (c *Confusion) Kappa() float64 {
	n := c.N()
	if n == 0 {
		return 0
	}
	rows, cols := c.rowCol()
	// Products of marginals overflow int64 for large rasters, so the
	// expected agreement is accumulated in float64.
	fn := float64(n)
	var pe float64
	for k := range rows {
		pe += (float64(rows[k]) / fn) * (float64(cols[k]) / fn)
	}
	if pe >= 1 {
		return 0
	}
	po := float64(c.trace()) / fn
	return (po - pe) / (1 - pe)
}

// MeanIoU averages IoU over the classes that occur in truth or prediction.
// Classes absent from both have no defined IoU and are left out, as Keras'
// MeanIoU and sklearn's jaccard_score(average="macro") do; counting them as 0
// would penalise a tile for classes it never contained. It is 0 when no class
// occurs.
func (c *Confusion) MeanIoU() float64 {
	rows, cols := c.rowCol()
	var sum float64
	var present int
	for k := range rows {
		tp := c.M[k][k]
		union := rows[k] + cols[k] - tp
		if union == 0 {
			continue
		}
		sum += float64(tp) / float64(union)
		present++
	}
	if present == 0 {
		return 0
	}
	return sum / float64(present)
}
