package models

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/tfrun/tfrun/internal/dims"
)

// Summary prints a Keras-style table of layers, output shapes and parameter
// counts.
func (m *Model) Summary(w io.Writer) {
	fmt.Fprintf(w, "Model: %q\n", m.Name)
	tw := tabwriter.NewWriter(w, 0, 4, 3, ' ', 0)
	fmt.Fprintln(tw, "Layer (type)\tOutput Shape\tParam #\tConnected to")
	for _, n := range m.Nodes {
		kind, params, from := "InputLayer", int64(0), ""
		if n.Layer != nil {
			kind = n.Layer.Kind()
			for _, w := range n.Layer.Weights(inputShapes(n)) {
				params += int64(dims.Product(w.Shape))
			}
			names := make([]string, len(n.Inputs))
			for i, in := range n.Inputs {
				names[i] = in.Name
			}
			from = strings.Join(names, ", ")
		}
		fmt.Fprintf(tw, "%s (%s)\t%s\t%d\t%s\n", n.Name, kind, shapeString(n.Shape), params, from)
	}
	tw.Flush()
	fmt.Fprintf(w, "Total params: %d\n", m.ParamCount())
}

func shapeString(s []int) string {
	parts := []string{"None"}
	for _, d := range s {
		parts = append(parts, fmt.Sprint(d))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
