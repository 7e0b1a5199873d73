//go:build !cgo

package raster

import "fmt"

// PolygonLayer and PolygonField name what Polygonize writes.
const (
	PolygonLayer = "classes"
	PolygonField = "class"
)

// Polygonize fails: polygons are GDAL's work, and this binary was built
// without cgo.
func Polygonize(src, dst string, sieve int) error {
	return fmt.Errorf("raster: %s: this tfrun was built without cgo, so GDAL cannot polygonize; build with CGO_ENABLED=1", dst)
}
