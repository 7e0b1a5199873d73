//go:build cgo

package raster

import (
	"fmt"
	"os"

	"github.com/airbusgeo/godal"
)

// Writer fills a new raster window by window. Pixels go to a temporary
// file next to the destination, which Close renames into place: a crash or
// kill leaves either the previous file or no file at the destination, never
// a half-written one.
type Writer struct {
	path, tmp string
	ds        *godal.Dataset
	grid      Grid
	bands     int
	cfg       createConfig
}

// dataTypes are the sample types tfrun writes; the names are GDAL's.
var dataTypes = map[string]godal.DataType{
	"Byte": godal.Byte, "UInt16": godal.UInt16, "Int16": godal.Int16,
	"UInt32": godal.UInt32, "Int32": godal.Int32, "Float32": godal.Float32,
}

// Create starts a GeoTIFF of bands bands of dtype on grid g.
func Create(path string, g Grid, bands int, dtype string, opts ...CreateOption) (*Writer, error) {
	dt, ok := dataTypes[dtype]
	if !ok {
		return nil, fmt.Errorf("raster: %s: cannot write sample type %q (one of Byte, UInt16, Int16, UInt32, Int32, Float32)", path, dtype)
	}
	if g.Width <= 0 || g.Height <= 0 || bands <= 0 {
		return nil, fmt.Errorf("raster: %s: cannot create a %d×%d raster of %d bands", path, g.Width, g.Height, bands)
	}
	cfg := createConfig{compress: "DEFLATE"}
	for _, o := range opts {
		o(&cfg)
	}
	registerOnce.Do(godal.RegisterAll)
	w := &Writer{path: path, tmp: path + ".tmp", grid: g, bands: bands, cfg: cfg}
	w.removeTemps()
	co := []string{"BIGTIFF=IF_SAFER", "COMPRESS=" + cfg.compress}
	if g.Width >= 256 && g.Height >= 256 {
		// Smaller rasters (chips) stay in strips: 256² tiles would pad
		// and compress mostly nothing, several times the pixels written.
		co = append(co, "TILED=YES")
	}
	if cfg.compress == "DEFLATE" || cfg.compress == "LZW" || cfg.compress == "ZSTD" {
		// Horizontal differencing shrinks smooth imagery and costs little.
		pred := "2"
		if dt == godal.Float32 {
			pred = "3"
		}
		co = append(co, "PREDICTOR="+pred)
	}
	ds, err := godal.Create(godal.GTiff, w.tmp, bands, dt, g.Width, g.Height, godal.CreationOption(co...))
	if err != nil {
		return nil, fmt.Errorf("raster: %s: create: %s", path, oneLine(err))
	}
	w.ds = ds
	if err := w.georeference(); err != nil {
		w.Abort()
		return nil, err
	}
	return w, nil
}

func (w *Writer) georeference() error {
	if err := w.ds.SetGeoTransform(w.grid.GeoTransform); err != nil {
		return fmt.Errorf("raster: %s: geotransform: %s", w.path, oneLine(err))
	}
	if w.grid.Projection != "" {
		if err := w.ds.SetProjection(w.grid.Projection); err != nil {
			return fmt.Errorf("raster: %s: projection: %s", w.path, oneLine(err))
		}
	}
	if w.cfg.nodata != nil {
		for _, b := range w.ds.Bands() {
			if err := b.SetNoData(*w.cfg.nodata); err != nil {
				return fmt.Errorf("raster: %s: nodata: %s", w.path, oneLine(err))
			}
		}
	}
	return nil
}

// WriteWindow stores the w×h window whose top-left pixel is (x, y), all
// bands, from [h, w, bands] samples; GDAL converts them to the file's type,
// clamping to its range.
func (w *Writer) WriteWindow(x, y, width, height int, data []float32) error {
	if width <= 0 || height <= 0 || x < 0 || y < 0 || x+width > w.grid.Width || y+height > w.grid.Height {
		return fmt.Errorf("raster: %s: window %d×%d at (%d, %d) is outside the %d×%d raster",
			w.path, width, height, x, y, w.grid.Width, w.grid.Height)
	}
	if len(data) != width*height*w.bands {
		return fmt.Errorf("raster: %s: %d samples for a %d×%d window of %d bands", w.path, len(data), width, height, w.bands)
	}
	if err := w.ds.Write(x, y, data, width, height); err != nil {
		return fmt.Errorf("raster: %s: writing pixels: %s", w.path, oneLine(err))
	}
	return nil
}

// Close finishes the file (as a COG when asked) and renames it into place.
// On error nothing is left at the destination or in temporary files.
func (w *Writer) Close() error {
	err := w.ds.Close()
	w.ds = nil
	if err != nil {
		w.Abort()
		return fmt.Errorf("raster: %s: close: %s", w.path, oneLine(err))
	}
	final := w.tmp
	if w.cfg.cog != "" {
		if final, err = w.toCOG(); err != nil {
			w.Abort()
			return err
		}
	}
	if err := os.Rename(final, w.path); err != nil {
		w.Abort()
		return fmt.Errorf("raster: %s: %v", w.path, err)
	}
	w.removeTemps()
	return nil
}

// toCOG rewrites the tiled temporary file with GDAL's COG driver, which
// lays out overviews and tiles in the order HTTP range readers need; the
// driver, not tfrun, decides the layout so gdalinfo's LAYOUT=COG holds.
func (w *Writer) toCOG() (string, error) {
	src, err := godal.Open(w.tmp)
	if err != nil {
		return "", fmt.Errorf("raster: %s: reopen for COG: %s", w.path, oneLine(err))
	}
	defer src.Close()
	cog := w.path + ".cog.tmp"
	out, err := src.Translate(cog, []string{"-of", "COG",
		"-co", "COMPRESS=" + w.cfg.compress,
		"-co", "OVERVIEWS=AUTO",
		"-co", "RESAMPLING=" + w.cfg.cog,
		"-co", "BIGTIFF=IF_SAFER"})
	if err != nil {
		return "", fmt.Errorf("raster: %s: writing COG: %s", w.path, oneLine(err))
	}
	if err := out.Close(); err != nil {
		return "", fmt.Errorf("raster: %s: writing COG: %s", w.path, oneLine(err))
	}
	return cog, nil
}

// Abort drops the unfinished file.
func (w *Writer) Abort() {
	if w.ds != nil {
		w.ds.Close()
		w.ds = nil
	}
	w.removeTemps()
}

// removeTemps deletes this writer's temporary files, including those a
// killed earlier run left behind: their names are fixed per destination.
func (w *Writer) removeTemps() {
	for _, p := range []string{w.tmp, w.path + ".cog.tmp", w.tmp + ".aux.xml"} {
		os.Remove(p) // most of them do not exist
	}
}
