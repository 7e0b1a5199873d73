//go:build !cgo

package samples

import (
	"fmt"

	"github.com/tfrun/tfrun/raster"
)

// FromVector needs GDAL's OGR, which a build without cgo lacks.
func FromVector(path, layer, field string, ig raster.Grid, image string) ([]Seed, error) {
	return nil, fmt.Errorf("%s: this tfrun was built without cgo, so GDAL cannot read vector seeds; use a seed raster or build with CGO_ENABLED=1", path)
}
