package bundle

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzIndex feeds mutated index tables to the parser, and reads every entry
// it accepts from a real shard, so that offsets, sizes and shapes from a
// corrupt index are checked before they are trusted.
func FuzzIndex(f *testing.F) {
	seeds, _ := filepath.Glob("../../testdata/tf_saved_models/*/*/variables/variables.index")
	more, _ := filepath.Glob("../../testdata/tf_saved_models/*/variables/variables.index")
	shared, _ := filepath.Glob("../../../shared/data/keras_savedmodels/*/variables/variables.index")
	for _, p := range append(append(seeds, more...), shared...) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseIndex(data)
		if err != nil {
			return
		}
		b.Prefix = halfPlusTwo
		defer b.Close()
		for i, e := range b.Entries {
			if i == 64 {
				break
			}
			b.Read(e.Name)
		}
	})
}
