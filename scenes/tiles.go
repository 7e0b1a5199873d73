package scenes

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/tfrun/tfrun/internal/atomicfile"
	"github.com/tfrun/tfrun/raster"
	"gopkg.in/yaml.v3"
)

// TileIgnore is the value of ignored pixels (nodata, unlabelled) in label
// tiles, which store class ids as bytes: 255 is the usual ignore index of
// segmentation tools, and the tiles' nodata value.
const TileIgnore = 255

// Tile is one written chip.
type Tile struct {
	Split        string // "train" or "val"
	Image, Label string // paths relative to the tiles folder
	Col, Row     int    // the chip's top-left pixel in the scene
	Bounds       raster.Bounds
	Labelled     int // pixels with a class (not ignored)
}

// ChipGrid is the grid of the chip whose top-left scene pixel is (x, y):
// the scene's geotransform moved to that pixel, so the chip is
// georeferenced on its own.
func ChipGrid(g raster.Grid, x, y, size int) raster.Grid {
	gt := g.GeoTransform
	gt[0], gt[3] = gt[0]+float64(x)*gt[1]+float64(y)*gt[2], gt[3]+float64(x)*gt[4]+float64(y)*gt[5]
	return raster.Grid{Width: size, Height: size, GeoTransform: gt, Projection: g.Projection}
}

// WriteTiles writes each chip (without copies) as a prepared Float32
// image GeoTIFF and a Byte class-id GeoTIFF (TileIgnore where ignored)
// into dir/train and dir/val, each in images/ and labels/ under the same
// name, then prep.yaml (the fitted preprocessing and classes) and
// index.csv. Every file goes through a temporary file and a rename, and
// the index comes last, so a folder with an index is complete. A folder
// that already holds tiles is refused rather than mixed with new ones.
func (s *Scene) WriteTiles(dir string, progress func(done, total int)) ([]Tile, error) {
	if s.Prep.Labels.Classes() > TileIgnore {
		return nil, fmt.Errorf("%s: %d classes do not fit byte label tiles (at most %d)", s.Image, s.Prep.Labels.Classes(), TileIgnore)
	}
	for _, p := range []string{"index.csv", "train", "val"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			return nil, fmt.Errorf("%s already holds tiles (%s); remove it or choose another folder", dir, p)
		}
	}
	var jobs []Tile
	for k, chips := range [][]Chip{s.Train, s.Validation} {
		split := [2]string{"train", "val"}[k]
		for _, c := range chips {
			if c.Copy != Original {
				continue
			}
			name := fmt.Sprintf("r%05d_c%05d.tif", c.Y, c.X)
			jobs = append(jobs, Tile{Split: split, Col: c.X, Row: c.Y,
				Image: filepath.Join(split, "images", name), Label: filepath.Join(split, "labels", name)})
		}
	}
	n, nb := s.Tiling.Size, s.Prep.OutBands()
	x, y := make([]float32, n*n*nb), make([]int32, n*n)
	lab := make([]float32, n*n)
	for i := range jobs {
		tl := &jobs[i]
		for _, sub := range []string{filepath.Dir(tl.Image), filepath.Dir(tl.Label)} {
			if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
				return nil, err
			}
		}
		if err := s.chip(Chip{X: tl.Col, Y: tl.Row}, x, y); err != nil {
			return nil, err
		}
		for k, v := range y {
			lab[k] = TileIgnore
			if v >= 0 {
				lab[k] = float32(v)
				tl.Labelled++
			}
		}
		g := ChipGrid(s.Info.Grid(), tl.Col, tl.Row, n)
		tl.Bounds = g.Bounds()
		if err := writeTile(filepath.Join(dir, tl.Image), g, nb, "Float32", x); err != nil {
			return nil, err
		}
		if err := writeTile(filepath.Join(dir, tl.Label), g, 1, "Byte", lab, raster.NoData(TileIgnore)); err != nil {
			return nil, err
		}
		if progress != nil {
			progress(i+1, len(jobs))
		}
	}
	err := atomicfile.Write(filepath.Join(dir, "prep.yaml"), func(w io.Writer) error {
		return yaml.NewEncoder(w).Encode(s.Prep)
	})
	if err != nil {
		return nil, err
	}
	return jobs, atomicfile.Write(filepath.Join(dir, "index.csv"), func(w io.Writer) error { return writeIndex(w, jobs) })
}

func writeTile(path string, g raster.Grid, bands int, dtype string, data []float32, opts ...raster.CreateOption) error {
	w, err := raster.Create(path, g, bands, dtype, opts...)
	if err != nil {
		return err
	}
	if err := w.WriteWindow(0, 0, g.Width, g.Height, data); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

func writeIndex(w io.Writer, tiles []Tile) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"split", "image", "label", "col", "row", "min_x", "min_y", "max_x", "max_y", "labelled_pixels"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, t := range tiles {
		cw.Write([]string{t.Split, filepath.ToSlash(t.Image), filepath.ToSlash(t.Label), strconv.Itoa(t.Col), strconv.Itoa(t.Row),
			f(t.Bounds[0]), f(t.Bounds[1]), f(t.Bounds[2]), f(t.Bounds[3]), strconv.Itoa(t.Labelled)})
	}
	cw.Flush()
	return cw.Error()
}
