package batch

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/tfrun/tfrun/internal/atomicfile"
	"github.com/tfrun/tfrun/mapping"
	"github.com/tfrun/tfrun/mapping/sheet"
)

// Job is a batch of sheets for one model.
type Job struct {
	// Sheets is the whole list, in the order every shard sees it.
	Sheets []string
	Shard  Shard
	// Dir receives the products and the summary.
	Dir       string
	Predictor mapping.Predictor
	Model     mapping.ModelInfo
	Options   mapping.Options
	Outputs   sheet.Outputs
	// Log receives one line per sheet; nil is quiet.
	Log io.Writer
	// Progress receives a progress bar per sheet; nil shows none.
	Progress io.Writer
}

// Sheet statuses in the summary.
const (
	Done    = "done"
	Skipped = "skipped" // complete from an earlier run
	Failed  = "failed"
)

// SheetResult is one sheet's line of the summary.
type SheetResult struct {
	Sheet         string  `json:"sheet"`
	Output        string  `json:"output"`
	Status        string  `json:"status"`
	Seconds       float64 `json:"seconds"`
	Pixels        int64   `json:"pixels"`
	ValidPixels   int64   `json:"valid_pixels"`
	Windows       int     `json:"windows"`
	Inferred      int     `json:"windows_inferred"`
	EngineSeconds float64 `json:"engine_seconds"`
	Error         string  `json:"error,omitempty"`
}

// Summary is the job's record, rewritten after every sheet.
type Summary struct {
	Shard   string        `json:"shard,omitempty"`
	Sheets  []SheetResult `json:"sheets"`
	Done    int           `json:"done"`
	Skipped int           `json:"skipped"`
	Failed  int           `json:"failed"`
	Seconds float64       `json:"seconds"`
}

// SummaryPath is where a shard keeps its summary: summary.json, or
// summary-I-of-N.json so that the pods of an Indexed Job sharing one
// folder do not overwrite each other's.
func SummaryPath(dir string, s Shard) string {
	if s.Count > 1 {
		return filepath.Join(dir, fmt.Sprintf("summary-%d-of-%d.json", s.Index, s.Count))
	}
	return filepath.Join(dir, "summary.json")
}

// Check refuses lists whose products would collide: two sheets of one
// name, or a sheet that would be overwritten by its own class map.
func (j *Job) Check() error {
	seen := map[string]string{}
	for _, s := range j.Sheets {
		out := sheet.FilesOf(s, j.Dir, j.Outputs).Classes
		if prev, ok := seen[out]; ok {
			return fmt.Errorf("%s and %s would both be written to %s: rename one, or predict them into different folders", prev, s, out)
		}
		seen[out] = s
		if a, b := absPath(s), absPath(out); a == b {
			return fmt.Errorf("%s: the class map would overwrite the sheet itself: give another --out folder", s)
		}
	}
	return nil
}

func absPath(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// Run predicts this shard's sheets. A sheet that fails is recorded and
// the job goes on; the returned error is for the job itself (the output
// folder cannot be written, or ctx ended).
func (j *Job) Run(ctx context.Context) (*Summary, error) {
	if err := j.Check(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(j.Dir, 0o755); err != nil {
		return nil, err
	}
	// A killed run of this shard may have left a temporary summary.
	if err := sheet.RemoveTemps(SummaryPath(j.Dir, j.Shard)); err != nil {
		return nil, err
	}
	start := time.Now()
	sum := &Summary{Shard: j.Shard.String(), Sheets: []SheetResult{}}
	for _, path := range j.Shard.Pick(j.Sheets) {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		res := j.one(ctx, path)
		switch res.Status {
		case Done:
			sum.Done++
		case Skipped:
			sum.Skipped++
		default:
			sum.Failed++
		}
		sum.Sheets = append(sum.Sheets, res)
		sum.Seconds = time.Since(start).Seconds()
		if j.Log != nil {
			fmt.Fprintf(j.Log, "%s\t%s\t%.1fs%s\n", path, res.Status, res.Seconds, suffix(res.Error))
		}
		if err := j.writeSummary(sum); err != nil {
			return sum, err
		}
	}
	return sum, j.writeSummary(sum)
}

func suffix(msg string) string {
	if msg == "" {
		return ""
	}
	return "\t" + msg
}

func (j *Job) one(ctx context.Context, path string) SheetResult {
	files := sheet.FilesOf(path, j.Dir, j.Outputs)
	res := SheetResult{Sheet: path, Output: files.Classes}
	start := time.Now()
	fail := func(err error) SheetResult {
		res.Status, res.Error = Failed, err.Error()
		res.Seconds = time.Since(start).Seconds()
		return res
	}
	// A killed run's leftovers go first, even when the products are
	// complete: the kill may have come between a rename and the cleanup.
	if err := files.RemoveTemps(); err != nil {
		return fail(err)
	}
	if sheet.Complete(path, files, j.Model, j.Options) {
		res.Status = Skipped
		res.Seconds = time.Since(start).Seconds()
		return res
	}
	opt := j.Options
	if j.Progress != nil {
		bar := progressbar.NewOptions(-1, progressbar.OptionSetWriter(j.Progress),
			progressbar.OptionSetDescription(filepath.Base(path)), progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(time.Second))
		opt.Progress = func(done, total int) {
			bar.ChangeMax(total)
			bar.Set(done)
		}
		defer bar.Exit()
	}
	st, err := sheet.Predict(ctx, path, files, j.Predictor, j.Model, opt, j.Outputs)
	res.Pixels, res.ValidPixels = st.Pixels, st.Valid
	res.Windows, res.Inferred, res.EngineSeconds = st.Windows, st.Inferred, st.Predict.Seconds()
	if err != nil {
		return fail(err)
	}
	res.Status = Done
	res.Seconds = time.Since(start).Seconds()
	return res
}

func (j *Job) writeSummary(s *Summary) error {
	return atomicfile.Write(SummaryPath(j.Dir, j.Shard), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	})
}
