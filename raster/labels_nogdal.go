//go:build !cgo

package raster

import "fmt"

// Layer describes one layer of a vector file.
type Layer struct {
	Name, Projection string
	Bounds           Bounds
	Features         int
	Fields           []string
}

// SameCRS compares only the text without GDAL.
func SameCRS(a, b string) (bool, error) { return a == b, nil }

// Reproject needs GDAL's coordinate transformations.
func Reproject(b Bounds, from, to string) (Bounds, error) {
	return Bounds{}, fmt.Errorf("raster: this tfrun was built without cgo, so GDAL cannot reproject; build with CGO_ENABLED=1")
}

// WarpNearest needs GDAL.
func WarpNearest(src string, g Grid, dst string, nodata float64) error {
	return fmt.Errorf("raster: %s: this tfrun was built without cgo, so GDAL cannot warp rasters; build with CGO_ENABLED=1", src)
}

// IsVector cannot tell without GDAL.
func IsVector(path string) bool { return false }

// VectorLayer needs GDAL's OGR.
func VectorLayer(path, name string) (Layer, error) {
	return Layer{}, fmt.Errorf("raster: %s: this tfrun was built without cgo, so GDAL cannot read vector files; build with CGO_ENABLED=1", path)
}

// Rasterize needs GDAL.
func Rasterize(path, layer, attr string, g Grid, dst string) error {
	return fmt.Errorf("raster: %s: this tfrun was built without cgo, so GDAL cannot rasterize vector files; build with CGO_ENABLED=1", path)
}
