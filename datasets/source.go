package datasets

import (
	"iter"
	"slices"
)

// Batch is a run of N examples ready for the engine: X is [N, InputShape...] and
// Y is [N, LabelShape...], both row-major.
type Batch struct {
	X []float32
	Y []int32
	N int
}

// Source is a labelled dataset that can be read in batches: in memory
// (Arrays) or streamed from files by the pipeline package.
type Source interface {
	Len() int
	// InputShape is the per-example input shape, e.g. [H, W, C].
	InputShape() []int
	// LabelShape is the per-example label shape: [] for one class per
	// example, [H, W] for a mask.
	LabelShape() []int
	// Batches yields the examples at order (all of them, in index order,
	// when order is nil) in batches of size; the last may be smaller. The
	// epoch number lets a source vary its augmentation reproducibly.
	Batches(epoch int, order []int, size int) iter.Seq2[*Batch, error]
}

func (a *Arrays) Len() int          { return a.N }
func (a *Arrays) InputShape() []int { return slices.Clone(a.Shape) }
func (a *Arrays) LabelShape() []int { return nil }

// Batches copies the examples at order into batches.
func (a *Arrays) Batches(_ int, order []int, size int) iter.Seq2[*Batch, error] {
	return func(yield func(*Batch, error) bool) {
		n := a.N
		if order != nil {
			n = len(order)
		}
		sz := a.ExampleSize()
		for from := 0; from < n; from += size {
			to := min(from+size, n)
			b := &Batch{X: make([]float32, 0, (to-from)*sz), Y: make([]int32, 0, to-from), N: to - from}
			for k := from; k < to; k++ {
				i := k
				if order != nil {
					i = order[k]
				}
				b.X = append(b.X, a.X[i*sz:(i+1)*sz]...)
				b.Y = append(b.Y, a.Y[i])
			}
			if !yield(b, nil) {
				return
			}
		}
	}
}
