package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tfrun/tfrun/internal/atomicfile"
	"github.com/tfrun/tfrun/metrics"
)

// The files Write puts in its folder.
const (
	CSVFile      = "report.csv"
	MarkdownFile = "report.md"
	JSONFile     = "report.json"
	HeatmapFile  = "confusion.png"
)

// Document is an accuracy report: a title, facts about what was assessed
// (model, rasters, region, pixels left out) shown under it, and the
// assessment.
type Document struct {
	Title      string
	About      [][2]string
	Assessment *metrics.Assessment
	// JSON is what report.json holds, e.g. the assessment with the facts
	// as fields; nil writes Assessment.
	JSON any
}

// Write writes d into dir (created if missing): report.csv (one row per
// reference class: its scores and its error-matrix row), report.md
// (summary, per-class scores and the error matrix), report.json and
// confusion.png. Each file is written to a temporary name and renamed.
func Write(dir string, d Document) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	doc := d.JSON
	if doc == nil {
		doc = d.Assessment
	}
	for _, f := range []struct {
		name  string
		write func(io.Writer) error
	}{
		{CSVFile, ClassTable(d.Assessment).WriteCSV},
		{MarkdownFile, d.WriteMarkdown},
		{JSONFile, func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(doc)
		}},
		{HeatmapFile, func(w io.Writer) error { return WriteHeatmap(w, d.Title, d.Assessment) }},
	} {
		if err := atomicfile.Write(filepath.Join(dir, f.name), f.write); err != nil {
			return err
		}
	}
	return nil
}

// score formats a rate for tables: four decimals, as sklearn's
// classification_report prints with digits=4.
func score(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }

func count(v int64) string { return strconv.FormatInt(v, 10) }

// ScoreTable has one row per class: support, mapped pixels and scores.
func ScoreTable(a *metrics.Assessment) Table {
	t := Table{Header: []string{"class", "support", "mapped", "producer's accuracy", "user's accuracy", "F1", "IoU"}}
	for _, c := range a.Classes {
		t.Rows = append(t.Rows, []string{c.Name, count(c.Support), count(c.Mapped),
			score(c.ProducersAccuracy), score(c.UsersAccuracy), score(c.F1), score(c.IoU)})
	}
	return t
}

// ClassTable is report.csv: ScoreTable's rows, each followed by the
// class's error-matrix row (one column per mapped class), so one sheet
// holds both the scores and the counts behind them. The header uses the
// JSON names.
func ClassTable(a *metrics.Assessment) Table {
	t := ScoreTable(a)
	t.Header = []string{"class", "support", "mapped", "producers_accuracy", "users_accuracy", "f1", "iou"}
	for _, c := range a.Classes {
		t.Header = append(t.Header, "mapped_as_"+c.Name)
	}
	for k := range t.Rows {
		for _, v := range a.ConfusionMatrix[k] {
			t.Rows[k] = append(t.Rows[k], count(v))
		}
	}
	return t
}

// errorMatrix lays the counts out as remote sensing prints them, with
// totals, except that rows are the reference (tfrun's convention).
func errorMatrix(a *metrics.Assessment) Table {
	t := Table{Header: []string{"reference \\ map"}}
	for _, c := range a.Classes {
		t.Header = append(t.Header, c.Name)
	}
	t.Header = append(t.Header, "total")
	totals := []string{"total"}
	for k, c := range a.Classes {
		row := []string{c.Name}
		for _, v := range a.ConfusionMatrix[k] {
			row = append(row, count(v))
		}
		t.Rows = append(t.Rows, append(row, count(c.Support)))
		totals = append(totals, count(c.Mapped))
	}
	t.Rows = append(t.Rows, append(totals, count(a.N)))
	return t
}

// WriteMarkdown writes the report as Markdown: the title and facts, a
// summary, per-class scores and the error matrix.
func (d Document) WriteMarkdown(w io.Writer) error {
	a := d.Assessment
	summary := Table{
		Header: []string{"overall accuracy", "kappa", "mIoU", "FWIoU", "pixels"},
		Rows:   [][]string{{score(a.OverallAccuracy), score(a.Kappa), score(a.MIoU), score(a.FWIoU), count(a.N)}},
	}
	sections := []struct {
		heading string
		table   Table
	}{
		{"", summary},
		{"## Classes\n\nProducer's accuracy = 1 − omission error (recall); user's accuracy = 1 − commission error (precision). A class with no reference pixels scores 0.\n\n", ScoreTable(a)},
		{"## Error matrix\n\nRows are the reference, columns the map.\n\n", errorMatrix(a)},
	}
	var head strings.Builder
	fmt.Fprintf(&head, "# %s\n\n", d.Title)
	for _, kv := range d.About {
		fmt.Fprintf(&head, "- %s: %s\n", kv[0], kv[1])
	}
	if len(d.About) > 0 {
		head.WriteString("\n")
	}
	if _, err := io.WriteString(w, head.String()); err != nil {
		return err
	}
	for i, s := range sections {
		if i > 0 {
			if _, err := io.WriteString(w, "\n"+s.heading); err != nil {
				return err
			}
		}
		if err := s.table.WriteMarkdown(w); err != nil {
			return err
		}
	}
	return nil
}
