//go:build cgo

package raster

import (
	"fmt"
	"os"

	"github.com/airbusgeo/godal"
)

// PolygonLayer and PolygonField name what Polygonize writes: one layer of
// polygons, each with its class in an integer field.
const (
	PolygonLayer = "classes"
	PolygonField = "class"
)

// Polygonize writes the regions of equal value of a one-band class raster
// as polygons into a GeoPackage at dst, after merging regions smaller than
// sieve pixels into their largest neighbour (GDAL's sieve filter, 4-
// connected; 0 skips it). Nodata pixels give no polygons. The GeoPackage
// is built under a temporary name and renamed when complete.
func Polygonize(src, dst string, sieve int) error {
	registerOnce.Do(godal.RegisterAll)
	ds, err := godal.Open(src)
	if err != nil {
		return fmt.Errorf("raster: %s: not a valid raster: %s", src, oneLine(err))
	}
	defer ds.Close()
	if n := len(ds.Bands()); n != 1 {
		return fmt.Errorf("raster: %s: has %d bands, polygons need a one-band class map", src, n)
	}
	band := ds.Bands()[0]
	sievedTmp := dst + ".sieve.tmp"
	defer os.Remove(sievedTmp)
	if sieve > 0 {
		sieved, err := sieveInto(ds, sievedTmp, sieve)
		if err != nil {
			return fmt.Errorf("raster: %s: sieve filter: %s", src, oneLine(err))
		}
		defer sieved.Close()
		band = sieved.Bands()[0]
	}
	tmp := dst + ".tmp"
	if err := writePolygons(band, ds.Projection(), tmp); err != nil {
		removeGeoPackage(tmp)
		return fmt.Errorf("raster: %s: polygons: %s", dst, oneLine(err))
	}
	if err := os.Rename(tmp, dst); err != nil {
		removeGeoPackage(tmp)
		return fmt.Errorf("raster: %s: %v", dst, err)
	}
	return nil
}

// sieveInto writes the sieved band of ds into a new GeoTIFF at path, on
// disk rather than in memory so that a large sheet's class map never has
// to fit in RAM.
func sieveInto(ds *godal.Dataset, path string, threshold int) (*godal.Dataset, error) {
	st := ds.Structure()
	out, err := godal.Create(godal.GTiff, path, 1, godal.Byte, st.SizeX, st.SizeY,
		godal.CreationOption("TILED=YES", "COMPRESS=DEFLATE", "ZLEVEL=1", "BIGTIFF=IF_SAFER"))
	if err != nil {
		return nil, err
	}
	src := ds.Bands()[0]
	fail := func(err error) (*godal.Dataset, error) {
		out.Close()
		return nil, err
	}
	if gt, err := ds.GeoTransform(); err == nil {
		if err := out.SetGeoTransform(gt); err != nil {
			return fail(err)
		}
	}
	if wkt := ds.Projection(); wkt != "" {
		if err := out.SetProjection(wkt); err != nil {
			return fail(err)
		}
	}
	dst := out.Bands()[0]
	if nd, ok := src.NoData(); ok {
		if err := dst.SetNoData(nd); err != nil {
			return fail(err)
		}
	}
	if err := src.SieveFilter(threshold, godal.Destination(dst)); err != nil {
		return fail(err)
	}
	return out, nil
}

func writePolygons(band godal.Band, wkt, path string) error {
	var sr *godal.SpatialRef
	if wkt != "" {
		var err error
		if sr, err = godal.NewSpatialRefFromWKT(wkt); err != nil {
			return err
		}
		defer sr.Close()
	}
	// GDAL warns that a GeoPackage should be named .gpkg; the temporary
	// name is deliberate, so warnings are let through and only failures
	// count.
	vds, err := godal.CreateVector(godal.GeoPackage, path, godal.ErrLogger(failuresOnly))
	if err != nil {
		return err
	}
	layer, err := vds.CreateLayer(PolygonLayer, sr, godal.GTPolygon, godal.NewFieldDefinition(PolygonField, godal.FTInt))
	if err != nil {
		vds.Close()
		return err
	}
	if err := band.Polygonize(layer, godal.PixelValueFieldIndex(0)); err != nil {
		vds.Close()
		return err
	}
	return vds.Close()
}

func failuresOnly(ec godal.ErrorCategory, _ int, msg string) error {
	if ec > godal.CE_Warning {
		return fmt.Errorf("%s", msg)
	}
	return nil
}

// removeGeoPackage deletes an unfinished GeoPackage and SQLite's side
// files.
func removeGeoPackage(path string) {
	for _, suffix := range []string{"", "-journal", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
}
