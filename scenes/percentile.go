package scenes

import (
	"math"
	"slices"
)

// percentile of values (sorted in place) by linear interpolation between
// the closest ranks, numpy's default: rank q/100·(n−1).
func percentile(values []float32, q float64) float32 {
	slices.Sort(values)
	return sortedPercentile(values, q)
}

func sortedPercentile(sorted []float32, q float64) float32 {
	pos := q / 100 * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	if lo >= len(sorted)-1 {
		return sorted[len(sorted)-1]
	}
	f := pos - float64(lo)
	return float32(float64(sorted[lo]) + f*(float64(sorted[lo+1])-float64(sorted[lo])))
}
