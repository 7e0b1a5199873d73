package mapping

import (
	"testing"

	"github.com/tfrun/tfrun/internal/testkit"
	"github.com/tfrun/tfrun/raster"
)

var shared = testkit.Shared

// memSource is a raster held in memory, for tests that crop or alter real
// rasters.
type memSource struct {
	info raster.Info
	data []float32
}

func (s *memSource) Info() raster.Info { return s.info }

func (s *memSource) ReadWindow(x, y, w, h int) ([]float32, error) {
	nb := s.info.Bands
	out := make([]float32, 0, w*h*nb)
	for r := y; r < y+h; r++ {
		i := (r*s.info.Width + x) * nb
		out = append(out, s.data[i:i+w*nb]...)
	}
	return out, nil
}

// readShared loads a shared raster whole.
func readShared(t *testing.T, rel string) *memSource {
	t.Helper()
	in, data, err := raster.ReadAll(shared(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return &memSource{info: in, data: data}
}

// crop cuts a w×h part out of a source at (x, y).
func crop(t *testing.T, s *memSource, x, y, w, h int) *memSource {
	t.Helper()
	data, err := s.ReadWindow(x, y, w, h)
	if err != nil {
		t.Fatal(err)
	}
	in := s.info
	in.Width, in.Height = w, h
	return &memSource{info: in, data: data}
}
