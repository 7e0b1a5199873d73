package history

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/tfrun/tfrun/internal/atomicfile"
)

// missing is what Keras' CSVLogger writes for a key absent from an epoch's
// logs (e.g. validation metrics with validation_freq > 1).
const missing = "NA"

// CSVLogger writes a History in the format of Keras' CSVLogger callback:
// a header "epoch,<keys in sorted order>", one row per record, floats as
// Python's repr prints them and "NA" for missing values, '\n' line endings.
type CSVLogger struct {
	path string
}

// NewCSVLogger returns a logger that writes to path.
func NewCSVLogger(path string) *CSVLogger {
	return &CSVLogger{path: path}
}

// Write rewrites the whole file from h. Called once per epoch, it replaces
// Keras' append-a-row approach with temp file and rename, so an interrupted
// run leaves the log of the last finished epoch and never a truncated row.
// The columns are the union of all records' keys, sorted.
func (l *CSVLogger) Write(h *History) error {
	keys, err := sortedKeys(h)
	if err != nil {
		return err
	}
	return atomicfile.Write(l.path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		row := append([]string{"epoch"}, keys...)
		if err := cw.Write(row); err != nil {
			return err
		}
		for _, r := range h.Records {
			row = append(row[:0], strconv.Itoa(r.Epoch))
			for _, k := range keys {
				if v, ok := r.Values[k]; ok {
					row = append(row, pyRepr(v))
				} else {
					row = append(row, missing)
				}
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	})
}

// sortedKeys sorts by byte order, which for UTF-8 is Python's code-point
// order used by Keras' sorted(logs.keys()).
func sortedKeys(h *History) ([]string, error) {
	set := map[string]bool{}
	for _, r := range h.Records {
		for k := range r.Values {
			if k == "epoch" {
				return nil, errors.New(`history: metric key "epoch" collides with the epoch column`)
			}
			set[k] = true
		}
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, nil
}

// pyRepr formats v as Python 3's repr(float) does: the shortest digits
// that round-trip, positional notation for decimal exponents in [-4, 16)
// with at least one fractional digit, scientific notation otherwise.
// Matching it keeps files byte-identical to Keras' for the same values.
func pyRepr(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	sci := strconv.FormatFloat(v, 'e', -1, 64)
	// strconv always writes a well-formed exponent after the 'e'.
	exp, _ := strconv.Atoi(sci[strings.IndexByte(sci, 'e')+1:])
	if exp < -4 || exp >= 16 {
		// Go and Python agree here: sign and at least two exponent digits.
		return sci
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.ContainsRune(s, '.') {
		s += ".0"
	}
	return s
}

// ReadCSV reads a file written by Keras' CSVLogger (or by CSVLogger). The
// first column must be "epoch"; "NA" and empty cells are left out of the
// record's Values.
func ReadCSV(path string) (*History, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("history: %s: empty file, no header", path)
	}
	if err != nil {
		return nil, fmt.Errorf("history: %s: %w", path, err)
	}
	if header[0] != "epoch" {
		return nil, fmt.Errorf("history: %s: first column is %q, want \"epoch\"", path, header[0])
	}
	for i, k := range header {
		if slices.Contains(header[:i], k) {
			return nil, fmt.Errorf("history: %s: column %q appears twice", path, k)
		}
	}
	h := &History{}
	for {
		row, err := cr.Read()
		if err == io.EOF {
			return h, nil
		}
		if err != nil {
			return nil, fmt.Errorf("history: %s: %w", path, err)
		}
		line, _ := cr.FieldPos(0)
		epoch, err := strconv.Atoi(row[0])
		if err != nil {
			return nil, fmt.Errorf("history: %s:%d: bad epoch %q", path, line, row[0])
		}
		r := Record{Epoch: epoch, Values: make(map[string]float64, len(row)-1)}
		for i, cell := range row[1:] {
			if cell == missing || cell == "" {
				continue
			}
			v, err := strconv.ParseFloat(cell, 64)
			if err != nil {
				return nil, fmt.Errorf("history: %s:%d: column %s: bad number %q", path, line, header[i+1], cell)
			}
			r.Values[header[i+1]] = v
		}
		h.Records = append(h.Records, r)
	}
}
