package savedmodels

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzSavedModel decodes mutated saved_model.pb files.
func FuzzSavedModel(f *testing.F) {
	seeds, _ := filepath.Glob(testdata + "*/*/saved_model.pb")
	more, _ := filepath.Glob(testdata + "*/saved_model.pb")
	for _, p := range append(seeds, more...) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sm, err := Parse(data)
		if err != nil {
			return
		}
		for _, mg := range sm.MetaGraphs {
			for _, s := range mg.Signatures {
				for _, ti := range append(s.Inputs, s.Outputs...) {
					ti.ShapeString()
				}
			}
		}
		sm.MetaGraph("serve")
	})
}
