// Package history records per-epoch training metrics the way Keras' History
// and CSVLogger callbacks do, so logs from tfrun and from the course's Keras
// runs can be read, compared and plotted alike.
package history

import (
	"maps"
	"math"
)

// Record is one epoch's logs. Epoch counts from 0, as Keras logs it; Values
// is keyed by Keras' names ("loss", "accuracy", "val_loss", "lr", ...).
type Record struct {
	Epoch  int
	Values map[string]float64
}

// History is the sequence of epoch records of one training run.
type History struct {
	Records []Record
}

// Add appends r. Values is copied because training loops commonly reuse one
// logs map across epochs, which would otherwise rewrite earlier records.
func (h *History) Add(r Record) {
	r.Values = maps.Clone(r.Values)
	h.Records = append(h.Records, r)
}

// Best returns the record with the lowest (mode "min") or highest (mode
// "max") finite value of key. On ties the earliest record wins, matching
// Keras' ModelCheckpoint, which only saves on strict improvement. It reports
// false for an unknown mode or when no record has a finite value for key.
func (h *History) Best(key, mode string) (Record, bool) {
	var better func(a, b float64) bool
	switch mode {
	case "min":
		better = func(a, b float64) bool { return a < b }
	case "max":
		better = func(a, b float64) bool { return a > b }
	default:
		return Record{}, false
	}
	var best Record
	found := false
	for _, r := range h.Records {
		v, ok := r.Values[key]
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		if !found || better(v, best.Values[key]) {
			best, found = r, true
		}
	}
	return best, found
}
