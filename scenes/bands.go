package scenes

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// BandList is a list of 1-based band numbers. YAML and the command line
// give it as numbers and ranges, "1-10,12,20-30", or as a YAML list: a
// 198-band cube's bad bands are long runs, which ranges keep readable.
type BandList []int

// ParseBands reads "1-10,12,20-30".
func ParseBands(s string) (BandList, error) {
	var out BandList
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		b := a
		if err == nil && isRange {
			b, err = strconv.Atoi(strings.TrimSpace(hi))
		}
		if err != nil || a < 1 || b < a {
			return nil, fmt.Errorf("bands %q: %q is not a band number or a range lo-hi of 1-based bands", s, part)
		}
		for k := a; k <= b; k++ {
			out = append(out, k)
		}
	}
	return out, nil
}

func (l *BandList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		v, err := ParseBands(n.Value)
		if err != nil {
			return fmt.Errorf("line %d: %v", n.Line, err)
		}
		*l = v
		return nil
	}
	var list []int
	if err := n.Decode(&list); err != nil {
		return fmt.Errorf("line %d: bands: want a list of 1-based band numbers or a string like \"1-10,12\"", n.Line)
	}
	*l = list
	return nil
}

// selectBands resolves the chosen bands of a raster of n bands: the listed
// ones (all when none are listed) less the bad ones, in the listed order.
func selectBands(n int, bands, bad BandList) ([]int, error) {
	sel := slices.Clone(bands)
	if len(sel) == 0 {
		for b := 1; b <= n; b++ {
			sel = append(sel, b)
		}
	}
	seen := map[int]bool{}
	for _, b := range slices.Concat(sel, bad) {
		if b < 1 || b > n {
			return nil, fmt.Errorf("band %d does not exist: the raster has bands 1-%d", b, n)
		}
	}
	out := sel[:0]
	for _, b := range sel {
		if seen[b] {
			return nil, fmt.Errorf("band %d is listed twice", b)
		}
		seen[b] = true
		if !slices.Contains(bad, b) {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the bad-band list removes every selected band")
	}
	return out, nil
}
