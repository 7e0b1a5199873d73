package layers

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Pair is a per-axis (height, width) setting that YAML may write as one
// number for both axes, as Keras accepts `kernel_size=3`.
type Pair [2]int

// Sq is a Pair with the same value on both axes.
func Sq(n int) Pair { return Pair{n, n} }

func (p *Pair) UnmarshalYAML(n *yaml.Node) error {
	var one int
	if err := n.Decode(&one); err == nil {
		*p = Pair{one, one}
		return nil
	}
	var two []int
	if err := n.Decode(&two); err != nil || len(two) != 2 {
		return fmt.Errorf("line %d: want a number or [height, width]", n.Line)
	}
	*p = Pair{two[0], two[1]}
	return nil
}

func (p Pair) MarshalYAML() (any, error) {
	if p[0] == p[1] {
		return p[0], nil
	}
	return []int{p[0], p[1]}, nil
}

// or gives the pair, or def on both axes where the pair was left unset.
func (p Pair) or(def int) Pair {
	if p == (Pair{}) {
		return Sq(def)
	}
	return p
}

func (p Pair) positive(what string) error {
	if p[0] <= 0 || p[1] <= 0 {
		return fmt.Errorf("%s must be > 0, got %v", what, [2]int(p))
	}
	return nil
}
