package metrics

import (
	"math"
	"reflect"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12 }

func mustAdd(t *testing.T, c *Confusion, truth, pred []int32) {
	t.Helper()
	if err := c.Add(truth, pred); err != nil {
		t.Fatal(err)
	}
}

// Class 2 occurs in truth but is never predicted; class 3 occurs nowhere.
// The ignored sample (truth -1) carries a prediction that would be out of
// range if it were counted.
//
//	truth\pred  0  1  2  3   support
//	0           3  1  0  0   4
//	1           1  2  0  0   3
//	2           1  1  0  0   2
//	3           0  0  0  0   0
//	predicted   5  4  0  0   N = 9
func handMatrix(t *testing.T) *Confusion {
	c := NewConfusion(4)
	mustAdd(t, c,
		[]int32{0, 0, 0, 0, 1, 1, 1, 2, 2, -1},
		[]int32{0, 0, 0, 1, 1, 1, 0, 0, 1, -7})
	return c
}

func TestHandMatrix(t *testing.T) {
	c := handMatrix(t)
	want := [][]int64{{3, 1, 0, 0}, {1, 2, 0, 0}, {1, 1, 0, 0}, {0, 0, 0, 0}}
	if !reflect.DeepEqual(c.M, want) {
		t.Fatalf("M = %v, want %v", c.M, want)
	}
	if c.N() != 9 {
		t.Errorf("N = %d, want 9", c.N())
	}
	if got := c.Accuracy(); !near(got, 5.0/9) {
		t.Errorf("Accuracy = %v, want 5/9", got)
	}

	// F1 = 2tp/(2tp+fp+fn), IoU = tp/(tp+fp+fn):
	// class 0: tp 3, fp 2, fn 1; class 1: tp 2, fp 2, fn 1; class 2: tp 0, fp 0, fn 2.
	wantStats := []ClassStats{
		{Precision: 3.0 / 5, Recall: 3.0 / 4, F1: 6.0 / 9, IoU: 3.0 / 6, Support: 4},
		{Precision: 2.0 / 4, Recall: 2.0 / 3, F1: 4.0 / 7, IoU: 2.0 / 5, Support: 3},
		{Support: 2}, // never predicted: precision undefined, reported as 0
		{},           // absent: everything undefined
	}
	got := c.PerClass()
	for k, w := range wantStats {
		g := got[k]
		if !near(g.Precision, w.Precision) || !near(g.Recall, w.Recall) ||
			!near(g.F1, w.F1) || !near(g.IoU, w.IoU) || g.Support != w.Support {
			t.Errorf("class %d: got %+v, want %+v", k, g, w)
		}
	}

	// Class 3 is absent from truth and prediction, so only 0..2 are averaged.
	if got := c.MeanIoU(); !near(got, (0.5+0.4+0)/3) {
		t.Errorf("MeanIoU = %v, want 0.3", got)
	}

	// po = 5/9; pe = (4·5 + 3·4 + 2·0 + 0·0)/81 = 32/81;
	// kappa = (45/81 − 32/81)/(1 − 32/81) = 13/49.
	if got := c.Kappa(); !near(got, 13.0/49) {
		t.Errorf("Kappa = %v, want 13/49", got)
	}
}

// The worked example of Wikipedia's "Cohen's kappa" article: two readers
// judge 50 grant proposals yes/no. Both say yes 20 times, both no 15 times,
// A yes and B no 5 times, A no and B yes 10 times.
// po = (20+15)/50 = 0.7. A says yes 25/50 = 0.5, B says yes 30/50 = 0.6, so
// pe = 0.5·0.6 + 0.5·0.4 = 0.5 and kappa = (0.7−0.5)/(1−0.5) = 0.4.
func TestKappaWikipedia(t *testing.T) {
	const yes, no = 0, 1
	var a, b []int32
	for _, cell := range []struct {
		a, b int32
		n    int
	}{{yes, yes, 20}, {no, no, 15}, {yes, no, 5}, {no, yes, 10}} {
		for range cell.n {
			a = append(a, cell.a)
			b = append(b, cell.b)
		}
	}
	c := NewConfusion(2)
	mustAdd(t, c, a, b)
	if got := c.Kappa(); !near(got, 0.4) {
		t.Errorf("Kappa = %v, want 0.4", got)
	}
	if got := c.Accuracy(); !near(got, 0.7) {
		t.Errorf("Accuracy = %v, want 0.7", got)
	}
}

// Examples from scikit-learn's documentation, with the values it prints.
func TestSklearnDocExamples(t *testing.T) {
	t.Run("cohen_kappa_score", func(t *testing.T) {
		// y1 = [neg, pos, neg, neu, pos], y2 = [neg, pos, neg, neu, neg] → 0.6875.
		const neg, neu, pos = 0, 1, 2
		c := NewConfusion(3)
		mustAdd(t, c, []int32{neg, pos, neg, neu, pos}, []int32{neg, pos, neg, neu, neg})
		if got := c.Kappa(); !near(got, 0.6875) {
			t.Errorf("Kappa = %v, want 0.6875", got)
		}
	})
	t.Run("classification_report", func(t *testing.T) {
		// y_true = [0,1,2,2,2], y_pred = [0,0,2,2,1]:
		// class 0: 0.50 1.00 0.67 1; class 1: 0.00 0.00 0.00 1;
		// class 2: 1.00 0.67 0.80 3; accuracy 0.60.
		c := NewConfusion(3)
		mustAdd(t, c, []int32{0, 1, 2, 2, 2}, []int32{0, 0, 2, 2, 1})
		want := []ClassStats{
			{Precision: 0.5, Recall: 1, F1: 2.0 / 3, Support: 1},
			{Precision: 0, Recall: 0, F1: 0, Support: 1},
			{Precision: 1, Recall: 2.0 / 3, F1: 0.8, Support: 3},
		}
		for k, s := range c.PerClass() {
			w := want[k]
			if !near(s.Precision, w.Precision) || !near(s.Recall, w.Recall) ||
				!near(s.F1, w.F1) || s.Support != w.Support {
				t.Errorf("class %d: got %+v, want %+v", k, s, w)
			}
		}
		if got := c.Accuracy(); !near(got, 0.6) {
			t.Errorf("Accuracy = %v, want 0.6", got)
		}
	})
	t.Run("jaccard_score", func(t *testing.T) {
		// y_true = [0,1,2,2], y_pred = [0,2,1,2]: average=None → [1, 0, 1/3],
		// average="macro" → 0.444…. The unused fourth class must not change
		// the macro mean.
		c := NewConfusion(4)
		mustAdd(t, c, []int32{0, 1, 2, 2}, []int32{0, 2, 1, 2})
		for k, w := range []float64{1, 0, 1.0 / 3} {
			if got := c.PerClass()[k].IoU; !near(got, w) {
				t.Errorf("IoU[%d] = %v, want %v", k, got, w)
			}
		}
		if got := c.MeanIoU(); !near(got, 4.0/9) {
			t.Errorf("MeanIoU = %v, want 4/9", got)
		}
	})
}

func TestAddErrorsLeaveMatrixUnchanged(t *testing.T) {
	for _, tc := range []struct {
		name        string
		truth, pred []int32
	}{
		{"length mismatch", []int32{0, 1}, []int32{0}},
		{"truth too large", []int32{0, 4}, []int32{0, 0}},
		{"pred too large", []int32{0, 1}, []int32{0, 4}},
		{"pred negative", []int32{0, 1}, []int32{0, -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := handMatrix(t)
			before := c.N()
			if err := c.Add(tc.truth, tc.pred); err == nil {
				t.Fatal("want error")
			}
			if c.N() != before {
				t.Errorf("N changed from %d to %d after a failed Add", before, c.N())
			}
		})
	}
}

func TestMerge(t *testing.T) {
	a := handMatrix(t)
	b := handMatrix(t)
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	if a.N() != 18 || a.M[0][1] != 2 || a.M[2][0] != 2 {
		t.Errorf("merged M = %v", a.M)
	}
	// Doubling every count leaves the rates alone.
	if got := a.Kappa(); !near(got, 13.0/49) {
		t.Errorf("Kappa after merge = %v, want 13/49", got)
	}
	if err := a.Merge(NewConfusion(3)); err == nil {
		t.Error("merging a 3-class matrix into a 4-class one: want error")
	}
}

func TestDegenerate(t *testing.T) {
	empty := NewConfusion(3)
	if empty.Accuracy() != 0 || empty.Kappa() != 0 || empty.MeanIoU() != 0 {
		t.Errorf("empty: accuracy %v kappa %v mIoU %v, want zeros",
			empty.Accuracy(), empty.Kappa(), empty.MeanIoU())
	}
	for k, s := range empty.PerClass() {
		if s != (ClassStats{}) {
			t.Errorf("empty class %d: %+v", k, s)
		}
	}

	// Everything is class 1 on both sides: pe = 1, kappa undefined.
	one := NewConfusion(2)
	mustAdd(t, one, []int32{1, 1, 1}, []int32{1, 1, 1})
	if got := one.Kappa(); got != 0 {
		t.Errorf("single-class kappa = %v, want 0", got)
	}
	if got := one.MeanIoU(); got != 1 {
		t.Errorf("single-class mIoU = %v, want 1", got)
	}

	perfect := NewConfusion(2)
	mustAdd(t, perfect, []int32{0, 1, 1, 0}, []int32{0, 1, 1, 0})
	if got := perfect.Kappa(); !near(got, 1) {
		t.Errorf("perfect kappa = %v, want 1", got)
	}

	// Always predicting the wrong one of two balanced classes.
	inverted := NewConfusion(2)
	mustAdd(t, inverted, []int32{0, 1}, []int32{1, 0})
	if got := inverted.Kappa(); !near(got, -1) {
		t.Errorf("inverted kappa = %v, want -1", got)
	}
}
