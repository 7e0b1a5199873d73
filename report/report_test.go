package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tfrun/tfrun/metrics"
	"gonum.org/v1/plot/palette/brewer"
)

// congalton is Table 1 of Congalton (1991), RSE 37:35–46, with rows turned
// to the reference (the paper's columns); metrics' tests check its scores.
func congalton(t *testing.T) *metrics.Assessment {
	t.Helper()
	published := [4][4]int64{{65, 4, 22, 24}, {6, 81, 5, 8}, {0, 11, 85, 19}, {4, 7, 3, 90}}
	c := metrics.NewConfusion(4)
	for m, row := range published {
		for r, v := range row {
			c.M[r][m] = v
		}
	}
	a, err := c.Assess([]string{"deciduous", "conifer", "barren", "shrub"})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestWriteAssessment(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "report")
	a := congalton(t)
	doc := Document{Title: "Congalton 1991, Table 1", About: [][2]string{{"source", "RSE 37:35–46"}}, Assessment: a}
	if err := Write(dir, doc); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{HeatmapFile, CSVFile, JSONFile, MarkdownFile}; !slices.Equal(names, want) {
		t.Errorf("files %v, want %v (no temporaries left)", names, want)
	}

	f, err := os.Open(filepath.Join(dir, CSVFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	wantHeader := []string{"class", "support", "mapped", "producers_accuracy", "users_accuracy", "f1", "iou",
		"mapped_as_deciduous", "mapped_as_conifer", "mapped_as_barren", "mapped_as_shrub"}
	if !slices.Equal(rows[0], wantHeader) {
		t.Errorf("CSV header %v, want %v", rows[0], wantHeader)
	}
	// Deciduous: 75 reference, 115 mapped; PA 65/75, UA 65/115, F1 130/190,
	// IoU 65/125; its reference row is the paper's first column.
	if want := []string{"deciduous", "75", "115", "0.8667", "0.5652", "0.6842", "0.5200", "65", "6", "0", "4"}; !slices.Equal(rows[1], want) {
		t.Errorf("CSV row %v, want %v", rows[1], want)
	}
	if len(rows) != 5 {
		t.Errorf("CSV has %d rows, want header + 4 classes", len(rows))
	}

	md, err := os.ReadFile(filepath.Join(dir, MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# Congalton 1991, Table 1\n\n- source: RSE 37:35–46\n\n|",
		"| 0.7396 | 0.6535 | 0.5877 | 0.5914 | 434 |",               // OA 321/434, kappa, mIoU, FWIoU, N
		"| shrub | 141 | 104 | 0.6383 | 0.8654 | 0.7347 | 0.5806 |", // PA 90/141, UA 90/104
		"| deciduous | 65 | 6 | 0 | 4 | 75 |",                       // error-matrix row with its total
		"| total | 115 | 100 | 115 | 104 | 434 |",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}

	var back metrics.Assessment
	b, err := os.ReadFile(filepath.Join(dir, JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Kappa != a.Kappa || back.Classes[3].Name != "shrub" || back.ConfusionMatrix[2][3] != 3 {
		t.Errorf("report.json does not round-trip: %+v", back)
	}
}

// The heatmap colours each cell by its share of the reference row: the
// cells of Congalton's matrix fall on known palette colours, and a class
// without reference pixels is drawn grey.
func TestHeatmapColours(t *testing.T) {
	pal, err := brewer.GetPalette(brewer.TypeSequential, "Blues", 9)
	if err != nil {
		t.Fatal(err)
	}
	colours := pal.Colors()
	// Palette index of a share s is round(8s), as gonum scales it.
	idx := func(num, den int) int { return (16*num + den) / (2 * den) }

	a := congalton(t)
	img := drawHeatmap(t, a)
	px := countColours(img)
	b := img.Bounds()
	if b.Dx() != b.Dy() || b.Dx() < 600 {
		t.Errorf("image %v, want a square of at least 600 px", b)
	}
	// Cells: 4×4 on a plot area of about 400 px, so over 5000 px each.
	const minCell = 5000
	cells := map[int]int{}
	for r, row := range a.ConfusionMatrix {
		for _, v := range row {
			cells[idx(int(v), int(a.Classes[r].Support))]++
		}
	}
	for i, n := range cells {
		if got := px[rgba(colours[i])]; got < n*minCell {
			t.Errorf("palette colour %d covers %d px, want at least %d for %d cells", i, got, n*minCell, n)
		}
	}
	// Deciduous' diagonal, 65/75 = 0.87, is colour 7; conifer's 81/103 and
	// barren's 85/115 are 6; no cell reaches colour 8.
	if cells[7] != 1 || cells[6] != 2 || px[rgba(colours[8])] > 0 {
		t.Errorf("cells per colour %v, colour 8 covers %d px", cells, px[rgba(colours[8])])
	}

	c := metrics.NewConfusion(3)
	if err := c.Add([]int32{0, 0, 1, 1}, []int32{0, 2, 1, 1}); err != nil {
		t.Fatal(err)
	}
	empty, err := c.Assess([]string{"water", "forest", "snow and ice"})
	if err != nil {
		t.Fatal(err)
	}
	px = countColours(drawHeatmap(t, empty))
	if got := px[rgba(color.Gray{Y: 0xe0})]; got < 3*minCell {
		t.Errorf("the empty reference row covers %d grey px, want at least %d", got, 3*minCell)
	}
}

func drawHeatmap(t *testing.T, a *metrics.Assessment) image.Image {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteHeatmap(&buf, "test", a); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func rgba(c color.Color) [4]uint32 {
	r, g, b, a := c.RGBA()
	return [4]uint32{r >> 8, g >> 8, b >> 8, a >> 8}
}

func countColours(img image.Image) map[[4]uint32]int {
	n := map[[4]uint32]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			n[rgba(img.At(x, y))]++
		}
	}
	return n
}

func TestTable(t *testing.T) {
	tab := Table{
		Header: []string{"model", "params", "note"},
		Rows:   [][]string{{"unet|a", "1200", "x"}, {"unet-b", "34.5", "y"}},
	}
	var md, txt, cs bytes.Buffer
	if err := tab.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	want := "| model | params | note |\n|---|---:|---|\n| unet\\|a | 1200 | x |\n| unet-b | 34.5 | y |\n"
	if md.String() != want {
		t.Errorf("markdown\n%s\nwant\n%s", md.String(), want)
	}
	if err := tab.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(txt.String()), "\n"); len(lines) != 3 || strings.Index(lines[0], "params") != strings.Index(lines[1], "1200") {
		t.Errorf("text columns not aligned:\n%s", txt.String())
	}
	if err := tab.WriteCSV(&cs); err != nil {
		t.Fatal(err)
	}
	if cs.String() != "model,params,note\nunet|a,1200,x\nunet-b,34.5,y\n" {
		t.Errorf("csv %q", cs.String())
	}
}
