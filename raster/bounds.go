package raster

import "math"

// Bounds is an extent [minX, minY, maxX, maxY] in map coordinates.
type Bounds [4]float64

// Bounds is the grid's extent in its own coordinates.
func (g Grid) Bounds() Bounds {
	gt := g.GeoTransform
	b := Bounds{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for _, c := range [4][2]float64{{0, 0}, {float64(g.Width), 0}, {0, float64(g.Height)}, {float64(g.Width), float64(g.Height)}} {
		b = b.extend(gt[0]+c[0]*gt[1]+c[1]*gt[2], gt[3]+c[0]*gt[4]+c[1]*gt[5])
	}
	return b
}

func (b Bounds) extend(x, y float64) Bounds {
	return Bounds{min(b[0], x), min(b[1], y), max(b[2], x), max(b[3], y)}
}

// Overlaps tells whether two extents share an area (touching edges do
// not count: no pixel would be shared).
func (b Bounds) Overlaps(o Bounds) bool {
	return b[0] < o[2] && o[0] < b[2] && b[1] < o[3] && o[1] < b[3]
}

// Georeferenced tells whether the grid has a real geotransform, not GDAL's
// placeholder (0, 1, 0, 0, 0, 1) for files that have none.
func (g Grid) Georeferenced() bool {
	return g.GeoTransform != [6]float64{0, 1, 0, 0, 0, 1} || g.Projection != ""
}

// SameGrid tells whether two grids have the same size and geotransform (to
// a thousandth of a pixel); their coordinate systems are compared apart.
func (g Grid) SameGrid(o Grid) bool {
	if g.Width != o.Width || g.Height != o.Height {
		return false
	}
	tol := 1e-3 * max(math.Abs(g.GeoTransform[1]), math.Abs(g.GeoTransform[5]))
	for k := range g.GeoTransform {
		d := math.Abs(g.GeoTransform[k] - o.GeoTransform[k])
		if k == 0 || k == 3 {
			if d > tol {
				return false
			}
		} else if d > 1e-6*max(math.Abs(g.GeoTransform[k]), 1e-12) && d > 1e-12 {
			return false
		}
	}
	return true
}
