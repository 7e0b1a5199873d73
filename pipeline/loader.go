package pipeline

import (
	"errors"
	"fmt"

	"github.com/tfrun/tfrun/pipeline/augment"
)

// Loader is a source whose examples a caller's function produces, with the
// same workers, bounded prefetch and augmentation as Files; package scenes
// uses it to cut chips out of a scene on the fly.
type Loader struct {
	stream
}

// NewLoader returns a source of n examples, images [h, w, c] and masks
// [h, w], that load writes into x and y. Workers call load concurrently,
// so it must be safe for that.
func NewLoader(n int, shape []int, opt Options, load func(i int, x []float32, y []int32) error) (*Loader, error) {
	if err := opt.validate(); err != nil {
		return nil, err
	}
	if len(shape) != 3 || shape[0] < 1 || shape[1] < 1 || shape[2] < 1 {
		return nil, fmt.Errorf("pipeline: loader shape %v: want [H, W, C]", shape)
	}
	if n < 0 || load == nil {
		return nil, errors.New("pipeline: loader needs n ≥ 0 examples and a load function")
	}
	l := &Loader{stream{n: n, h: shape[0], w: shape[1], c: shape[2], opt: opt, load: load}}
	if opt.Augment.Active() {
		if _, err := augment.New(opt.Augment, l.h, l.w, l.c); err != nil {
			return nil, err
		}
	}
	return l, nil
}
