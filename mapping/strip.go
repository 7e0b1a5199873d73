package mapping

// Strip is a run of finished output rows: every window that touches them
// has been blended in.
type Strip struct {
	// Y0 is the first row's index in the output grid (sheet rows for a
	// map model, cell rows for a classifier); Rows and Width its size.
	Y0, Rows, Width int
	// Classes is the number of probabilities per pixel.
	Classes int
	// Probs holds each pixel's class probabilities, [Rows, Width, Classes].
	Probs []float32
	// Valid is false where the input is nodata: Probs are zero there.
	Valid []bool
}

// Labels gives each pixel's most probable class, −1 where it is nodata.
// Ties go to the lower class, so a single sigmoid output means class 1
// only above 0.5.
func (s *Strip) Labels() []int32 {
	out := make([]int32, len(s.Valid))
	k := s.Classes
	for i, ok := range s.Valid {
		if !ok {
			out[i] = -1
			continue
		}
		p := s.Probs[i*k : (i+1)*k]
		best := 0
		for c := 1; c < k; c++ {
			if p[c] > p[best] {
				best = c
			}
		}
		out[i] = int32(best)
	}
	return out
}
