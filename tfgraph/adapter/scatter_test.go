package adapter

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

type scatterCase struct {
	name                            string
	operand, indices, updates       []int
	indexVectorAxis                 int
	windowAxes, inserted, toOperand []int
	starts                          []float64 // flat indices values
}

// refScatter follows XLA: update element u goes to the window start given by
// its batch position in indices, offset by its window coordinates; a window
// that does not fit the operand is skipped entirely.
func refScatter(op backends.OpType, operand, indices, updates array, sc scatterCase) array {
	out := array{dims: operand.dims, data: append([]float64(nil), operand.data...)}
	rank := len(operand.dims)
	isWindow := make(map[int]bool)
	for _, a := range sc.windowAxes {
		isWindow[a] = true
	}
	isInserted := make(map[int]bool)
	for _, a := range sc.inserted {
		isInserted[a] = true
	}
	var nonInserted []int
	for a := range rank {
		if !isInserted[a] {
			nonInserted = append(nonInserted, a)
		}
	}
	windowSize := make([]int, rank)
	for a := range rank {
		windowSize[a] = 1
	}
	for i, a := range nonInserted {
		windowSize[a] = updates.dims[sc.windowAxes[i]]
	}
	idxRank := len(indices.dims)
	iterIndices(updates.dims, func(u []int) {
		var batchPos []int
		for a := range u {
			if !isWindow[a] {
				batchPos = append(batchPos, u[a])
			}
		}
		start := make([]int, rank)
		for k, a := range sc.toOperand {
			idx := make([]int, 0, idxRank)
			bi := 0
			for ia := range idxRank {
				if ia == sc.indexVectorAxis {
					idx = append(idx, k)
				} else {
					idx = append(idx, batchPos[bi])
					bi++
				}
			}
			start[a] = int(indices.at(idx...))
		}
		for a := range rank {
			if start[a] < 0 || start[a]+windowSize[a] > operand.dims[a] {
				return
			}
		}
		pos := append([]int(nil), start...)
		for i, a := range nonInserted {
			pos[a] += u[sc.windowAxes[i]]
		}
		v := updates.at(u...)
		cur := out.at(pos...)
		switch op {
		case backends.OpTypeScatterMax:
			out.set(math.Max(cur, v), pos...)
		case backends.OpTypeScatterMin:
			out.set(math.Min(cur, v), pos...)
		default:
			out.set(cur+v, pos...)
		}
	})
	return out
}

func TestScatterValues(t *testing.T) {
	be := testBackend(t)
	rng := rand.New(rand.NewPCG(41, 42))
	cases := []scatterCase{
		// graph.ScatterSum's form: leading indexed axis inserted, full trailing slices (simplego's own path).
		{"leading_inserted", []int{5, 3}, []int{4, 1}, []int{4, 3}, 1, []int{1}, []int{0}, []int{0}, []float64{1, 4, 1, 0}},
		// GatherSlices' gradient along one non-leading axis.
		{"slices_axis1", []int{3, 6, 2}, []int{4, 1}, []int{4, 3, 2, 2}, 1, []int{1, 2, 3}, nil, []int{1}, []float64{0, 3, 2, 4}},
		{"slices_axis2", []int{3, 4, 5}, []int{3, 1}, []int{3, 3, 4, 2}, 1, []int{1, 2, 3}, nil, []int{2}, []float64{3, 0, 1}},
		// Two partial indexed axes (2D bilinear gradient), batch of indices shaped [2, 3].
		{"slices_axes12", []int{2, 5, 6, 2}, []int{2, 3, 2}, []int{2, 3, 2, 3, 3, 2}, 2, []int{2, 3, 4, 5}, nil, []int{1, 2},
			[]float64{0, 0, 2, 3, 1, 1, 2, 2, 0, 3, 1, 0}},
		// Inserted non-leading axis, index vector in front, axes mapped out of order.
		{"inserted_axis2_reordered", []int{3, 4, 5}, []int{2, 3}, []int{3, 2, 4}, 0, []int{1, 2}, []int{2}, []int{2, 0},
			[]float64{4, 0, 2, 1, 0, 1}},
		// Implicit index vector axis (== rank of indices) and a partial non-indexed window.
		{"implicit_vector_partial_window", []int{4, 6}, []int{3}, []int{3, 2, 4}, 1, []int{1, 2}, nil, []int{1},
			[]float64{0, 2, 1}},
		// Windows that do not fit are skipped, whole.
		{"out_of_range", []int{3, 6, 2}, []int{4, 1}, []int{4, 3, 3, 2}, 1, []int{1, 2, 3}, nil, []int{1}, []float64{-1, 4, 2, 9}},
	}
	ops := []backends.OpType{backends.OpTypeScatterSum, backends.OpTypeScatterMax, backends.OpTypeScatterMin}
	for _, sc := range cases {
		for _, op := range ops {
			t.Run(fmt.Sprintf("%s_%s", sc.name, op), func(t *testing.T) {
				operand := randArray(rng, sc.operand...)
				updates := randArray(rng, sc.updates...)
				indices := array{dims: sc.indices, data: sc.starts}
				got := execOps(t, be, func(b backends.Builder, p []backends.Op) ([]backends.Op, error) {
					idx, err := b.ConvertDType(p[1], dtypes.Int32)
					if err != nil {
						return nil, err
					}
					fn := b.ScatterSum
					switch op {
					case backends.OpTypeScatterMax:
						fn = b.ScatterMax
					case backends.OpTypeScatterMin:
						fn = b.ScatterMin
					}
					out, err := fn(p[0], idx, p[2], sc.indexVectorAxis, sc.windowAxes, sc.inserted, sc.toOperand, false, false)
					return []backends.Op{out}, err
				}, operand, indices, updates)[0]
				assertClose(t, op.String(), got, refScatter(op, operand, indices, updates, sc), 1e-12)
			})
		}
	}
}
