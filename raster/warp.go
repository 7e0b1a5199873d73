//go:build cgo

package raster

import (
	"fmt"
	"math"

	"github.com/airbusgeo/godal"
)

// SameCRS tells whether two WKT coordinate systems are the same system.
func SameCRS(a, b string) (bool, error) {
	if a == b {
		return true, nil
	}
	if a == "" || b == "" {
		return false, nil
	}
	sa, err := godal.NewSpatialRefFromWKT(a)
	if err != nil {
		return false, fmt.Errorf("raster: coordinate system: %s", oneLine(err))
	}
	defer sa.Close()
	sb, err := godal.NewSpatialRefFromWKT(b)
	if err != nil {
		return false, fmt.Errorf("raster: coordinate system: %s", oneLine(err))
	}
	defer sb.Close()
	return sa.IsSame(sb), nil
}

// edgePoints is how many points per edge Reproject transforms: a curved
// edge's extreme can lie between corners.
const edgePoints = 21

// Reproject returns the extent, in coordinate system to, of the extent b
// given in from (both WKT).
func Reproject(b Bounds, from, to string) (Bounds, error) {
	src, err := godal.NewSpatialRefFromWKT(from)
	if err != nil {
		return Bounds{}, fmt.Errorf("raster: coordinate system: %s", oneLine(err))
	}
	defer src.Close()
	dst, err := godal.NewSpatialRefFromWKT(to)
	if err != nil {
		return Bounds{}, fmt.Errorf("raster: coordinate system: %s", oneLine(err))
	}
	defer dst.Close()
	tr, err := godal.NewTransform(src, dst)
	if err != nil {
		return Bounds{}, fmt.Errorf("raster: coordinate transformation: %s", oneLine(err))
	}
	defer tr.Close()
	var xs, ys []float64
	for k := range edgePoints {
		f := float64(k) / (edgePoints - 1)
		x, y := b[0]+f*(b[2]-b[0]), b[1]+f*(b[3]-b[1])
		xs = append(xs, x, x, b[0], b[2])
		ys = append(ys, b[1], b[3], y, y)
	}
	ok := make([]bool, len(xs))
	// TransformEx fails when any point fails; the points that succeeded
	// still bound the part of the extent that exists in the target system.
	_ = tr.TransformEx(xs, ys, nil, ok)
	out := Bounds{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	for i := range xs {
		if ok[i] && !math.IsInf(xs[i], 0) && !math.IsInf(ys[i], 0) {
			out = out.extend(xs[i], ys[i])
		}
	}
	if out[0] > out[2] {
		return Bounds{}, fmt.Errorf("raster: extent %v cannot be transformed into the target coordinate system", b)
	}
	return out, nil
}

// WarpNearest resamples the one-band raster src onto grid g by nearest
// neighbour, as class labels need, into a new Int32 GeoTIFF dst; pixels
// that src does not cover get nodata. It reprojects when the coordinate
// systems differ.
func WarpNearest(src string, g Grid, dst string, nodata float64) error {
	registerOnce.Do(godal.RegisterAll)
	in, err := godal.Open(src, godal.SiblingFiles())
	if err != nil {
		return fmt.Errorf("raster: %s: not a valid raster: %s", src, oneLine(err))
	}
	defer in.Close()
	out, err := createGrid(dst, g, godal.Int32, &nodata)
	if err != nil {
		return err
	}
	err = out.WarpInto([]*godal.Dataset{in}, []string{"-r", "near", "-dstnodata", fmt.Sprint(nodata)})
	if cerr := out.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("raster: %s: warping onto the scene grid: %s", src, oneLine(err))
	}
	return nil
}

// createGrid makes a one-band tiled, compressed GeoTIFF on g, filled with
// nodata when given, else with zeros.
func createGrid(path string, g Grid, dt godal.DataType, nodata *float64) (*godal.Dataset, error) {
	ds, err := godal.Create(godal.GTiff, path, 1, dt, g.Width, g.Height,
		godal.CreationOption("TILED=YES", "COMPRESS=DEFLATE", "BIGTIFF=IF_SAFER"))
	if err != nil {
		return nil, fmt.Errorf("raster: %s: create: %s", path, oneLine(err))
	}
	err = ds.SetGeoTransform(g.GeoTransform)
	if err == nil && g.Projection != "" {
		err = ds.SetProjection(g.Projection)
	}
	if err == nil && nodata != nil {
		err = ds.Bands()[0].SetNoData(*nodata)
	}
	if err == nil && nodata != nil && *nodata != 0 {
		err = ds.Bands()[0].Fill(*nodata, 0)
	}
	if err != nil {
		ds.Close()
		return nil, fmt.Errorf("raster: %s: %s", path, oneLine(err))
	}
	return ds, nil
}
