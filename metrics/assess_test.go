package metrics

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
)

// congalton1991 is the example error matrix of Table 1 in R. G. Congalton,
// "A review of assessing the accuracy of classifications of remotely sensed
// data", Remote Sensing of Environment 37:35–46 (1991). The paper prints it
// with rows = classified data and columns = reference data, classes
// D (deciduous), C (conifer), BA (barren), SB (shrub):
//
//	            reference
//	map       D    C   BA   SB   row total
//	D        65    4   22   24   115
//	C         6   81    5    8   100
//	BA        0   11   85   19   115
//	SB        4    7    3   90   104
//	total    75  103  115  141   434
//
// tfrun's rows are the reference, so the matrix below is its transpose.
// The paper's results: overall accuracy 321/434 = 74%; producer's accuracy
// D 65/75 = 87%, C 81/103 = 79%, BA 85/115 = 74%, SB 90/141 = 64%; user's
// accuracy D 65/115 = 57%, C 81/100 = 81%, BA 85/115 = 74%, SB 90/104 = 87%.
func congalton1991() *Confusion {
	published := [4][4]int64{
		{65, 4, 22, 24},
		{6, 81, 5, 8},
		{0, 11, 85, 19},
		{4, 7, 3, 90},
	}
	c := NewConfusion(4)
	for m, row := range published {
		for r, v := range row {
			c.M[r][m] = v
		}
	}
	return c
}

var congaltonNames = []string{"D", "C", "BA", "SB"}

func TestCongalton1991(t *testing.T) {
	a, err := congalton1991().Assess(congaltonNames)
	if err != nil {
		t.Fatal(err)
	}
	if a.N != 434 {
		t.Fatalf("N = %d, want 434", a.N)
	}
	// The paper's percentages, to the two digits it prints.
	round2 := func(v float64) float64 { return math.Round(100*v) / 100 }
	if got := round2(a.OverallAccuracy); got != 0.74 {
		t.Errorf("overall accuracy %v rounds to %v, the paper prints 74%%", a.OverallAccuracy, got)
	}
	paperPA := []float64{0.87, 0.79, 0.74, 0.64}
	paperUA := []float64{0.57, 0.81, 0.74, 0.87}
	for k, cl := range a.Classes {
		if round2(cl.ProducersAccuracy) != paperPA[k] || round2(cl.UsersAccuracy) != paperUA[k] {
			t.Errorf("%s: PA %.4f UA %.4f, the paper prints %.2f and %.2f",
				cl.Name, cl.ProducersAccuracy, cl.UsersAccuracy, paperPA[k], paperUA[k])
		}
	}

	// Exact values, by hand from the marginals: reference totals
	// (support) 75, 103, 115, 141; map totals 115, 100, 115, 104.
	wantClasses := []ClassAccuracy{
		// F1 = 2·x_kk / (reference_k + map_k); IoU = x_kk / (reference_k + map_k − x_kk).
		{Name: "D", ProducersAccuracy: 65.0 / 75, UsersAccuracy: 65.0 / 115, F1: 130.0 / 190, IoU: 65.0 / 125, Support: 75, Mapped: 115},
		{Name: "C", ProducersAccuracy: 81.0 / 103, UsersAccuracy: 81.0 / 100, F1: 162.0 / 203, IoU: 81.0 / 122, Support: 103, Mapped: 100},
		{Name: "BA", ProducersAccuracy: 85.0 / 115, UsersAccuracy: 85.0 / 115, F1: 170.0 / 230, IoU: 85.0 / 145, Support: 115, Mapped: 115},
		{Name: "SB", ProducersAccuracy: 90.0 / 141, UsersAccuracy: 90.0 / 104, F1: 180.0 / 245, IoU: 90.0 / 155, Support: 141, Mapped: 104},
	}
	for k, w := range wantClasses {
		g := a.Classes[k]
		if g.Name != w.Name || g.Support != w.Support || g.Mapped != w.Mapped ||
			!near(g.ProducersAccuracy, w.ProducersAccuracy) || !near(g.UsersAccuracy, w.UsersAccuracy) ||
			!near(g.F1, w.F1) || !near(g.IoU, w.IoU) {
			t.Errorf("class %d: got %+v, want %+v", k, g, w)
		}
	}
	if !near(a.OverallAccuracy, 321.0/434) {
		t.Errorf("overall accuracy %v, want 321/434", a.OverallAccuracy)
	}

	// KHAT = (N·Σx_kk − Σ x_k+·x_+k) / (N² − Σ x_k+·x_+k) with
	// Σ x_k+·x_+k = 115·75 + 100·103 + 115·115 + 104·141
	//             = 8625 + 10300 + 13225 + 14664 = 46814,
	// N·Σx_kk = 434·321 = 139314 and N² = 188356:
	// KHAT = 92500 / 141542 = 0.65352…, the 0.65 quoted for this matrix.
	if !near(a.Kappa, 92500.0/141542) {
		t.Errorf("kappa %v, want 92500/141542 = %v", a.Kappa, 92500.0/141542)
	}
	if got := math.Round(100*a.Kappa) / 100; got != 0.65 {
		t.Errorf("kappa rounds to %v, want 0.65", got)
	}

	// mIoU = (65/125 + 81/122 + 85/145 + 90/155) / 4
	//      = (0.52 + 0.66393 + 0.58621 + 0.58065) / 4 = 0.58770.
	wantMIoU := (65.0/125 + 81.0/122 + 85.0/145 + 90.0/155) / 4
	if !near(a.MIoU, wantMIoU) || math.Abs(a.MIoU-0.58770) > 5e-6 {
		t.Errorf("mIoU %v, want %v", a.MIoU, wantMIoU)
	}
	// FWIoU = Σ support_k·IoU_k / N
	//       = (75·65/125 + 103·81/122 + 115·85/145 + 141·90/155) / 434
	//       = (39 + 68.38525 + 67.41379 + 81.87097) / 434 = 256.67001 / 434 = 0.59141.
	wantFW := (75*65.0/125 + 103*81.0/122 + 115*85.0/145 + 141*90.0/155) / 434
	if !near(a.FWIoU, wantFW) || math.Abs(a.FWIoU-0.59141) > 5e-6 {
		t.Errorf("FWIoU %v, want %v", a.FWIoU, wantFW)
	}
	// Rows are the reference: row D holds the first column of the paper.
	if !slices.Equal(a.ConfusionMatrix[0], []int64{65, 6, 0, 4}) {
		t.Errorf("row D = %v, want the paper's D column 65 6 0 4", a.ConfusionMatrix[0])
	}
}

// The JSON names are the CLI's contract with scripts that read it.
func TestAssessmentJSON(t *testing.T) {
	a, err := congalton1991().Assess(congaltonNames)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"overall_accuracy", "kappa", "miou", "fwiou", "confusion_matrix", "classes", "n"} {
		if _, ok := generic[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
	first := generic["classes"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "producers_accuracy", "users_accuracy", "f1", "iou", "support"} {
		if _, ok := first[k]; !ok {
			t.Errorf("class JSON lacks %q: %v", k, first)
		}
	}
	if first["name"] != "D" || first["support"] != 75.0 {
		t.Errorf("first class %v, want D with support 75", first)
	}
}

func TestAssessNames(t *testing.T) {
	c := congalton1991()
	a, err := c.Assess(nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, cl := range a.Classes {
		names = append(names, cl.Name)
	}
	if !slices.Equal(names, []string{"0", "1", "2", "3"}) {
		t.Errorf("default names %v, want indices", names)
	}
	if _, err := c.Assess([]string{"a", "b"}); err == nil || !strings.Contains(err.Error(), "2 class names for a 4-class") {
		t.Errorf("two names for four classes: err %v", err)
	}
}

// Absent classes: class 3 of handMatrix occurs nowhere and has zero
// support, so it adds nothing to FWIoU; class 2 is never mapped.
func TestFWIoUHandMatrix(t *testing.T) {
	c := handMatrix(t)
	// supports 4, 3, 2, 0; IoUs 1/2, 2/5, 0, 0; N = 9.
	want := (4*0.5 + 3*0.4) / 9
	if got := c.FrequencyWeightedIoU(); !near(got, want) {
		t.Errorf("FWIoU %v, want %v", got, want)
	}
	if got := NewConfusion(3).FrequencyWeightedIoU(); got != 0 {
		t.Errorf("empty FWIoU %v, want 0", got)
	}
	a, err := c.Assess(nil)
	if err != nil {
		t.Fatal(err)
	}
	if cl := a.Classes[2]; cl.UsersAccuracy != 0 || cl.ProducersAccuracy != 0 || cl.Mapped != 0 || cl.Support != 2 {
		t.Errorf("never-mapped class: %+v", cl)
	}
}
