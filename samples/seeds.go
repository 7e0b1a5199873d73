package samples

import (
	"fmt"
	"math"

	"github.com/tfrun/tfrun/raster"
)

// pixelMapper maps map coordinates to pixels of an image grid.
type pixelMapper struct {
	g    raster.Grid
	name string // the image, for messages
}

func newPixelMapper(g raster.Grid, name string) (pixelMapper, error) {
	gt := g.GeoTransform
	if gt[2] != 0 || gt[4] != 0 {
		return pixelMapper{}, fmt.Errorf("%s: a rotated grid (geotransform %v) is not supported for seeds", name, gt)
	}
	return pixelMapper{g: g, name: name}, nil
}

// pixel returns the image pixel holding map point (x, y), ok false when
// the point is outside the image.
func (m pixelMapper) pixel(x, y float64) (int, bool) {
	gt := m.g.GeoTransform
	col := math.Floor((x - gt[0]) / gt[1])
	row := math.Floor((y - gt[3]) / gt[5])
	if col < 0 || row < 0 || col >= float64(m.g.Width) || row >= float64(m.g.Height) {
		return 0, false
	}
	return int(row)*m.g.Width + int(col), true
}

// extent describes the image's extent for messages.
func (m pixelMapper) extent() string {
	b := m.g.Bounds()
	return fmt.Sprintf("the image %s covers x %.10g to %.10g, y %.10g to %.10g", m.name, b[0], b[2], b[1], b[3])
}

// FromClassRaster turns a seed raster into seeds: each 8-connected patch
// of one class value is a seed of that class; 0 and nodata mark no seed.
// values is the seed raster's band 1 on grid sg; its pixel centres are
// mapped onto the image grid ig, so the seed raster may be a crop or a
// larger canvas of the image, in the same coordinate system. A seed pixel
// outside the image is an error naming both.
func FromClassRaster(values []float32, sg raster.Grid, nodata *float64, name string, ig raster.Grid, image string) ([]Seed, error) {
	if len(values) != sg.Width*sg.Height {
		return nil, fmt.Errorf("%s: %d values for a %d×%d raster", name, len(values), sg.Width, sg.Height)
	}
	if sg.Georeferenced() != ig.Georeferenced() {
		return nil, fmt.Errorf("%s and %s: one is georeferenced and the other is not, so the seeds cannot be placed on the image", name, image)
	}
	if sg.Projection != "" && ig.Projection != "" {
		same, err := raster.SameCRS(sg.Projection, ig.Projection)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		if !same {
			return nil, fmt.Errorf("%s is in another coordinate system than %s; warp it onto the image's grid first", name, image)
		}
	}
	m, err := newPixelMapper(ig, image)
	if err != nil {
		return nil, err
	}
	isSeed := func(v float32) bool {
		return v != 0 && !math.IsNaN(float64(v)) && (nodata == nil || float64(v) != *nodata)
	}
	seen := make([]bool, len(values))
	var seeds []Seed
	for start, v := range values {
		if seen[start] || !isSeed(v) {
			continue
		}
		col, row := start%sg.Width, start/sg.Width
		if v != float32(math.Trunc(float64(v))) || v < 1 || v > math.MaxInt32 {
			return nil, fmt.Errorf("%s: seed pixel (%d, %d) has value %g; seed classes are whole numbers ≥ 1", name, col, row, v)
		}
		s := Seed{Name: fmt.Sprintf("%s: seed patch at pixel (%d, %d)", name, col, row), Class: int32(v)}
		stack := []int{start}
		seen[start] = true
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			c, r := p%sg.Width, p/sg.Width
			x, y := centre(sg, c, r)
			q, ok := m.pixel(x, y)
			if !ok {
				return nil, fmt.Errorf("%s: seed pixel (%d, %d) of class %d, at x %.10g, y %.10g, is outside the image: %s",
					name, c, r, s.Class, x, y, m.extent())
			}
			s.Pixels = append(s.Pixels, q)
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					nc, nr := c+dx, r+dy
					if nc < 0 || nr < 0 || nc >= sg.Width || nr >= sg.Height {
						continue
					}
					if k := nr*sg.Width + nc; !seen[k] && values[k] == v {
						seen[k] = true
						stack = append(stack, k)
					}
				}
			}
		}
		seeds = append(seeds, s)
	}
	if len(seeds) == 0 {
		return nil, fmt.Errorf("%s: no seed pixel (every pixel is 0 or nodata)", name)
	}
	return seeds, nil
}

// centre is the map position of the centre of pixel (col, row) of g.
func centre(g raster.Grid, col, row int) (float64, float64) {
	gt := g.GeoTransform
	x, y := float64(col)+0.5, float64(row)+0.5
	return gt[0] + x*gt[1] + y*gt[2], gt[3] + x*gt[4] + y*gt[5]
}
