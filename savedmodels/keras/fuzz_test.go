package keras

import (
	"os"
	"testing"
)

// FuzzKerasMetadata decodes mutated keras_metadata.pb files and builds the
// model from the root JSON, inferring shapes and the summary, so that odd
// configs (wrong JSON types, cyclic or missing layers) give errors or
// unknown shapes, never a panic.
func FuzzKerasMetadata(f *testing.F) {
	for _, p := range []string{smileMeta, potatoDir + "/keras_metadata.pb"} {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		nodes, err := ParseMetadata(data)
		if err != nil {
			return
		}
		m, err := ModelFromMetadata(nodes)
		if err != nil {
			return
		}
		m.OutputShapes()
		m.SummaryRows()
		m.Params()
	})
}
