package mapping

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/tfrun/tfrun/scenes"
)

// bandShares is a "model" whose output at each pixel depends on that pixel
// alone: each band's share of the pixel's sum (+1). Any misplaced window,
// reflection or blend weight shows as a pixel whose output differs from
// the pixel-wise answer.
type bandShares struct{ h, w, ch int }

func (b bandShares) Predict(x []float32, n int) ([]float32, error) {
	out := make([]float32, len(x))
	for i := 0; i < len(x); i += b.ch {
		var sum float32 = float32(b.ch)
		for c := range b.ch {
			sum += x[i+c]
		}
		for c := range b.ch {
			out[i+c] = (x[i+c] + 1) / sum
		}
	}
	return out, nil
}

func collect(t *testing.T, src Source, p Predictor, m ModelInfo, opt Options) (Stats, []*Strip) {
	t.Helper()
	var strips []*Strip
	st, err := Run(context.Background(), src, p, m, opt, func(s *Strip) error {
		strips = append(strips, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st, strips
}

// TestPixelwiseBlends runs a pixel-wise model over RGB.byte.tif (nodata
// collar, odd sizes) with every blend and several overlaps: the map must
// equal the pixel-wise answer everywhere, strips must tile the sheet top to
// bottom, and nodata must stay nodata.
func TestPixelwiseBlends(t *testing.T) {
	src := readShared(t, "rasterio/RGB.byte.tif")
	in := src.info
	for _, tc := range []struct {
		win, overlap int
		blend        Blend
	}{{64, 16, Gaussian}, {64, 16, Center}, {48, 0, Average}, {40, 31, Center}, {32, 24, Average}} {
		m := ModelInfo{Input: []int{tc.win, tc.win, 3}, Output: []int{tc.win, tc.win, 3}, Activation: "softmax"}
		st, strips := collect(t, src, bandShares{ch: 3}, m, Options{Overlap: tc.overlap, Blend: tc.blend, Batch: 5})
		y, valid := 0, int64(0)
		for _, s := range strips {
			if s.Y0 != y || s.Width != in.Width || s.Classes != 3 {
				t.Fatalf("%+v: strip at row %d of width %d, %d classes; want row %d, width %d, 3 classes", tc, s.Y0, s.Width, s.Classes, y, in.Width)
			}
			want, _ := bandShares{ch: 3}.Predict(src.data[y*in.Width*3:(y+s.Rows)*in.Width*3], s.Rows*in.Width)
			for i, ok := range s.Valid {
				px := src.data[(y*in.Width+i)*3:][:3]
				if nodata := px[0] == 0 && px[1] == 0 && px[2] == 0; ok == nodata {
					t.Fatalf("%+v: pixel (%d, %d) = %v has valid %v", tc, i%in.Width, y+i/in.Width, px, ok)
				}
				if !ok {
					continue
				}
				valid++
				for c := range 3 {
					if d := math.Abs(float64(s.Probs[i*3+c] - want[i*3+c])); d > 1e-5 {
						t.Fatalf("%+v: pixel (%d, %d) class %d: %g, want %g", tc, i%in.Width, y+i/in.Width, c, s.Probs[i*3+c], want[i*3+c])
					}
				}
			}
			y += s.Rows
		}
		if y != in.Height {
			t.Errorf("%+v: strips end at row %d, want %d", tc, y, in.Height)
		}
		if st.Valid != valid || st.Pixels != int64(in.Width*in.Height) {
			t.Errorf("%+v: stats %+v, counted %d valid pixels", tc, st, valid)
		}
		// The collar is wide: windows wholly inside it never reach the engine.
		if st.Inferred >= st.Windows {
			t.Errorf("%+v: %d of %d windows inferred, want the all-nodata ones skipped", tc, st.Inferred, st.Windows)
		}
	}
}

// windowMeans is a classifier "model" scoring each band by its mean over
// the window.
type windowMeans struct{ pixels, ch int }

func (w windowMeans) Predict(x []float32, n int) ([]float32, error) {
	out := make([]float32, n*w.ch)
	for i := range n {
		for p := range w.pixels {
			for c := range w.ch {
				out[i*w.ch+c] += x[(i*w.pixels+p)*w.ch+c] / float32(w.pixels)
			}
		}
	}
	return out, nil
}

// TestClassifierCells: a classifier gives one cell per window, windows tile
// the sheet, the last row and column of windows are filled by reflection,
// and cells wholly in the nodata collar are nodata.
func TestClassifierCells(t *testing.T) {
	src := readShared(t, "rasterio/RGB.byte.tif")
	in := src.info
	const win = 50
	m := ModelInfo{Input: []int{win, win, 3}, Output: []int{3}, Activation: "softmax"}
	_, strips := collect(t, src, windowMeans{win * win, 3}, m, Options{Batch: 7})
	cols, rows := (in.Width+win-1)/win, (in.Height+win-1)/win
	if len(strips) != rows {
		t.Fatalf("%d strips, want %d rows of cells", len(strips), rows)
	}
	for r, s := range strips {
		if s.Y0 != r || s.Rows != 1 || s.Width != cols {
			t.Fatalf("strip %d: row %d, %d rows, width %d; want one row of %d cells", r, s.Y0, s.Rows, s.Width, cols)
		}
		for c := range cols {
			var sum [3]float64
			anyData := false
			for y := r * win; y < (r+1)*win; y++ {
				for x := c * win; x < (c+1)*win; x++ {
					px := src.data[(reflect(y, in.Height)*in.Width+reflect(x, in.Width))*3:][:3]
					anyData = anyData || px[0] != 0 || px[1] != 0 || px[2] != 0
					for b := range 3 {
						sum[b] += float64(px[b])
					}
				}
			}
			if s.Valid[c] != anyData {
				t.Fatalf("cell (%d, %d): valid %v, want %v", c, r, s.Valid[c], anyData)
			}
			if !anyData {
				continue
			}
			for b := range 3 {
				if want := sum[b] / (win * win); math.Abs(float64(s.Probs[c*3+b])-want) > 1e-4*want {
					t.Fatalf("cell (%d, %d) band %d: %g, want %g", c, r, b, s.Probs[c*3+b], sum[b]/(win*win))
				}
			}
		}
	}
}

func TestReflect(t *testing.T) {
	for _, tc := range []struct{ i, n, want int }{
		{-1, 5, 1}, {-4, 5, 4}, {-5, 5, 3}, {5, 5, 3}, {8, 5, 0}, {9, 5, 1}, {-9, 5, 1}, {3, 1, 0}, {2, 5, 2},
	} {
		if got := reflect(tc.i, tc.n); got != tc.want {
			t.Errorf("reflect(%d, %d) = %d, want %d", tc.i, tc.n, got, tc.want)
		}
	}
}

// TestRasterPrep runs a model trained on rasters: its fitted preprocessing
// picks and reorders bands, scales them and decides nodata (any selected
// band at 0), replacing the sheet's own nodata test.
func TestRasterPrep(t *testing.T) {
	src := readShared(t, "rasterio/RGB.byte.tif")
	in := src.info
	prep := &scenes.Prep{InputBands: 3, Bands: []int{3, 1}, NoData: map[int]float64{1: 0, 3: 0}, Scale: 255}
	m := ModelInfo{Input: []int{48, 48, 2}, Output: []int{48, 48, 2}, Activation: "softmax", Raster: prep}
	_, strips := collect(t, src, bandShares{ch: 2}, m, Options{Overlap: 12, Blend: Gaussian, Batch: 3})
	want, valid, err := prep.Apply(src.data, in.Width*in.Height, 3)
	if err != nil {
		t.Fatal(err)
	}
	want, _ = bandShares{ch: 2}.Predict(want, len(valid))
	for _, s := range strips {
		for i, ok := range s.Valid {
			j := s.Y0*in.Width + i
			if ok != valid[j] {
				t.Fatalf("pixel %d: valid %v, the preprocessing says %v", j, ok, valid[j])
			}
			if ok && math.Abs(float64(s.Probs[2*i]-want[2*j])) > 1e-5 {
				t.Fatalf("pixel %d: %g, want %g", j, s.Probs[2*i], want[2*j])
			}
		}
	}
	m.Raster = &scenes.Prep{InputBands: 4, Bands: []int{1, 2}}
	if _, err := Run(t.Context(), src, bandShares{ch: 2}, m, Options{Batch: 1}, nil); err == nil || !strings.Contains(err.Error(), "has 3 bands, the model takes 4") {
		t.Errorf("a 4-band preprocessing on a 3-band sheet: %v", err)
	}
}

// identity is a "model" whose output is its input: with a sigmoid output
// of one channel, the class-1 probability is the prepared pixel itself.
type identity struct{}

func (identity) Predict(x []float32, n int) ([]float32, error) { return x, nil }

// TestGrey: a one-channel model trained on images takes an RGB sheet in
// grey (BT.601 luma, as predict does with colour images), scaled by its
// preprocessing.
func TestGrey(t *testing.T) {
	src := readShared(t, "rasterio/RGB.byte.tif")
	in := src.info
	m := ModelInfo{Input: []int{40, 40, 1}, Output: []int{40, 40, 1}, Activation: "sigmoid", Scale: 255}
	_, strips := collect(t, src, identity{}, m, Options{Overlap: 10, Blend: Average, Batch: 4})
	checked := 0
	for _, s := range strips {
		for i, ok := range s.Valid {
			if !ok {
				continue
			}
			px := src.data[(s.Y0*in.Width+i)*3:][:3]
			want := (0.299*px[0] + 0.587*px[1] + 0.114*px[2]) / 255
			if math.Abs(float64(s.Probs[2*i+1]-want)) > 1e-5 {
				t.Fatalf("pixel %d %v: %g, want luma/255 = %g", s.Y0*in.Width+i, px, s.Probs[2*i+1], want)
			}
			checked++
		}
	}
	if checked < in.Width*in.Height/2 {
		t.Errorf("only %d pixels had data", checked)
	}
}
