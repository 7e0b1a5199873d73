// Package report writes results for people to read: accuracy assessments
// as CSV, Markdown and a confusion-matrix heatmap, and comparison tables
// such as an ablation's.
package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Table is a header and rows of cells, already formatted.
type Table struct {
	Header []string
	Rows   [][]string
}

// WriteCSV writes t as RFC 4180 CSV.
func (t Table) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.Header); err != nil {
		return err
	}
	if err := cw.WriteAll(t.Rows); err != nil {
		return err
	}
	return cw.Error()
}

// WriteMarkdown writes t as a GitHub-flavoured Markdown table, numbers
// right-aligned.
func (t Table) WriteMarkdown(w io.Writer) error {
	row := func(cells []string) string {
		esc := make([]string, len(cells))
		for i, c := range cells {
			// A pipe would end the cell.
			esc[i] = strings.ReplaceAll(c, "|", `\|`)
		}
		return "| " + strings.Join(esc, " | ") + " |\n"
	}
	align := make([]string, len(t.Header))
	for i := range align {
		align[i] = "---"
		if t.numeric(i) {
			align[i] = "---:"
		}
	}
	var b strings.Builder
	b.WriteString(row(t.Header))
	b.WriteString("|" + strings.Join(align, "|") + "|\n")
	for _, r := range t.Rows {
		b.WriteString(row(r))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteText writes t with aligned columns, for a terminal.
func (t Table) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range append([][]string{t.Header}, t.Rows...) {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// numeric tells whether column i holds numbers in every row.
func (t Table) numeric(i int) bool {
	for _, r := range t.Rows {
		if i >= len(r) {
			return false
		}
		if _, err := strconv.ParseFloat(r[i], 64); err != nil {
			return false
		}
	}
	return len(t.Rows) > 0
}
