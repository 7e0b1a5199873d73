package mapping

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/tfrun/tfrun/raster"
)

// Classify predicts the classes of the raster at path with sliding
// windows and hands emit each finished strip of rows, top to bottom:
// rows×width class ids, −1 where the input is nodata. Rows are sheet rows
// for a map model, rows of cells (window stride wide) for a classifier.
// Nothing is written to disk.
func Classify(path string, p Predictor, m ModelInfo, opt Options, emit func(y0, rows int, classes []int32) error) error {
	f, err := Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = Run(context.Background(), f, p, m, opt, func(s *Strip) error {
		return emit(s.Y0, s.Rows, s.Labels())
	})
	return Blame(path, err)
}

// Blame makes err name the raster at path, as tfrun's errors do, unless
// it does already (GDAL's errors through package raster do).
func Blame(path string, err error) error {
	if err == nil || strings.Contains(err.Error(), path) {
		return err
	}
	return fmt.Errorf("%s: %w", path, err)
}

// gdalCache is the GDAL block cache in MB unless GDAL_CACHEMAX says
// otherwise: GDAL's default, 5% of the machine's memory, would hold a
// large sheet's blocks and defeat the bounded memory of the pipeline,
// which reads each row once anyway.
const gdalCache = "128"

// Open opens a sheet for Run.
func Open(path string) (*raster.File, error) {
	if _, set := os.LookupEnv("GDAL_CACHEMAX"); !set {
		os.Setenv("GDAL_CACHEMAX", gdalCache)
	}
	return raster.Open(path)
}
