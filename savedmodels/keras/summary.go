package keras

import (
	"fmt"
	"io"
	"strings"
)

// SummaryRow is one line of a Keras-style model summary.
type SummaryRow struct {
	Name      string `json:"name"`
	ClassName string `json:"class_name"`
	// OutputShape has -1 for the batch and other unknown dimensions; it
	// is nil when the shape rules here cannot derive it.
	OutputShape     []int `json:"output_shape"`
	Params          int   `json:"params"`
	TrainableParams int   `json:"trainable_params"`
}

// SummaryRows lists the top-level layers as model.summary() does: a
// Sequential model's input layer is left out, a nested model is one row.
func (m *Model) SummaryRows() []SummaryRow {
	shapes := m.OutputShapes()
	var rows []SummaryRow
	for _, l := range m.Layers {
		if l.ClassName == "InputLayer" && len(m.Inputs) == 0 {
			continue
		}
		total, trainable := l.Params()
		rows = append(rows, SummaryRow{
			Name:            l.Name,
			ClassName:       l.ClassName,
			OutputShape:     shapes[l.Name],
			Params:          total,
			TrainableParams: trainable,
		})
	}
	return rows
}

// Summary prints the model like Keras' model.summary().
func (m *Model) Summary(w io.Writer) error {
	rows := m.SummaryRows()
	nameW, shapeW := len("Layer (type)"), len("Output Shape")
	for _, r := range rows {
		nameW = max(nameW, len(r.Name)+len(r.ClassName)+3)
		shapeW = max(shapeW, len(FormatShape(r.OutputShape)))
	}
	rule := func(c string) string { return strings.Repeat(c, nameW+shapeW+14) + "\n" }
	var b strings.Builder
	fmt.Fprintf(&b, "Model: %q (%s", m.Name, m.ClassName)
	if m.KerasVersion != "" {
		fmt.Fprintf(&b, ", Keras %s", m.KerasVersion)
	}
	fmt.Fprintf(&b, ", %s)\n", m.Format)
	b.WriteString(rule("_"))
	fmt.Fprintf(&b, "%-*s  %-*s  %s\n", nameW, "Layer (type)", shapeW, "Output Shape", "Param #")
	b.WriteString(rule("="))
	for _, r := range rows {
		fmt.Fprintf(&b, "%-*s  %-*s  %s\n", nameW, r.Name+" ("+r.ClassName+")", shapeW, FormatShape(r.OutputShape), thousands(r.Params))
	}
	total, trainable := m.Params()
	b.WriteString(rule("="))
	fmt.Fprintf(&b, "Total params: %s\nTrainable params: %s\nNon-trainable params: %s\n", thousands(total), thousands(trainable), thousands(total-trainable))
	b.WriteString(rule("_"))
	_, err := io.WriteString(w, b.String())
	return err
}

// thousands writes n with commas, as Keras does.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
