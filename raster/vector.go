//go:build cgo

package raster

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/airbusgeo/godal"
)

// Layer describes one layer of a vector file.
type Layer struct {
	Name string
	// Projection is the layer's coordinate system as WKT, "" when it has none.
	Projection string
	Bounds     Bounds
	Features   int
	// Fields are the attribute names of the layer's first feature.
	Fields []string
}

// IsVector tells whether GDAL reads path as vector data (GeoPackage,
// GeoJSON, Shapefile, ...) with at least one layer.
func IsVector(path string) bool {
	registerOnce.Do(godal.RegisterAll)
	ds, err := godal.Open(path, godal.VectorOnly())
	if err != nil {
		return false
	}
	defer ds.Close()
	return len(ds.Layers()) > 0
}

// openLayer opens a vector file and finds the named layer, or the only
// one when name is "".
func openLayer(path, name string) (*godal.Dataset, godal.Layer, error) {
	registerOnce.Do(godal.RegisterAll)
	ds, err := godal.Open(path, godal.VectorOnly())
	if err != nil {
		return nil, godal.Layer{}, fmt.Errorf("raster: %s: not a readable vector file: %s", path, oneLine(err))
	}
	layers := ds.Layers()
	var names []string
	for _, l := range layers {
		names = append(names, l.Name())
		if l.Name() == name || name == "" && len(layers) == 1 {
			return ds, l, nil
		}
	}
	ds.Close()
	if name == "" {
		return nil, godal.Layer{}, fmt.Errorf("raster: %s has %d layers (%s); name one", path, len(layers), strings.Join(names, ", "))
	}
	return nil, godal.Layer{}, fmt.Errorf("raster: %s has no layer %q (layers: %s)", path, name, strings.Join(names, ", "))
}

// VectorLayer describes the named layer of a vector file ("" for its
// only layer).
func VectorLayer(path, name string) (Layer, error) {
	ds, l, err := openLayer(path, name)
	if err != nil {
		return Layer{}, err
	}
	defer ds.Close()
	info := Layer{Name: l.Name()}
	if sr := l.SpatialRef(); sr != nil {
		info.Projection, _ = sr.WKT()
		sr.Close()
	}
	if info.Features, err = l.FeatureCount(); err != nil {
		return Layer{}, fmt.Errorf("raster: %s: layer %s: %s", path, l.Name(), oneLine(err))
	}
	if info.Features == 0 {
		return info, nil
	}
	b, err := l.Bounds()
	if err != nil {
		return Layer{}, fmt.Errorf("raster: %s: layer %s: extent: %s", path, l.Name(), oneLine(err))
	}
	info.Bounds = Bounds(b)
	l.ResetReading()
	if f := l.NextFeature(); f != nil {
		info.Fields = slices.Sorted(maps.Keys(f.Fields()))
		f.Close()
	}
	return info, nil
}

// Rasterize burns a vector layer onto grid g into a new Int32 GeoTIFF
// dst: each pixel whose centre a feature covers gets the feature's attr
// value (1 when attr is ""), every other pixel 0. Features in another
// coordinate system are reprojected onto the grid's by GDAL.
func Rasterize(path, layer, attr string, g Grid, dst string) error {
	ds, l, err := openLayer(path, layer)
	if err != nil {
		return err
	}
	defer ds.Close()
	out, err := createGrid(dst, g, godal.Int32, nil)
	if err != nil {
		return err
	}
	sw := []string{"-l", l.Name(), "-burn", "1"}
	if attr != "" {
		sw = []string{"-l", l.Name(), "-a", attr}
	}
	err = out.RasterizeInto(ds, sw)
	if cerr := out.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("raster: %s: rasterizing layer %s: %s", path, l.Name(), oneLine(err))
	}
	return nil
}
