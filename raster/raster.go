// Package raster is tfrun's thin layer over GDAL (through godal): every
// georeferenced image the project reads goes through here, so GDAL's
// registration, error wording and pixel layout are decided in one place.
//
// Pixels always come back as float32 in band-interleaved-by-pixel order
// ([rows, cols, bands]), the layout the models consume.
package raster

import (
	"strings"
)

// Info describes a raster without reading its pixels.
type Info struct {
	Width, Height, Bands int
	// DataType is GDAL's name for the stored sample type (Byte, UInt16,
	// Float32, ...); all bands of a GDAL dataset are read as this type.
	DataType string
	// GeoTransform maps pixel (col, row) to map coordinates:
	// x = GT[0] + col·GT[1] + row·GT[2], y = GT[3] + col·GT[4] + row·GT[5].
	// It is GDAL's placeholder (0, 1, 0, 0, 0, 1) when the file has none.
	GeoTransform [6]float64
	// Projection is the coordinate system as WKT, "" when the file has none.
	Projection string
	// NoData holds each band's nodata value, nil for bands without one.
	NoData []*float64
}

// maxSamples bounds a single read so that a huge raster gives an error
// rather than an out-of-memory crash; read such files by windows.
const maxSamples = 1 << 31

// Stat returns a raster's metadata without reading its pixels. A file whose
// header is sound but whose pixel data is damaged passes Stat and fails in
// ReadAll.
func Stat(path string) (Info, error) {
	f, err := Open(path)
	if err != nil {
		return Info{}, err
	}
	defer f.Close()
	return f.Info(), nil
}

// ReadAll reads every band of the whole raster as [height, width, bands].
func ReadAll(path string) (Info, []float32, error) {
	f, err := Open(path)
	if err != nil {
		return Info{}, nil, err
	}
	defer f.Close()
	data, err := f.ReadWindow(0, 0, f.info.Width, f.info.Height)
	if err != nil {
		return Info{}, nil, err
	}
	return f.info, data, nil
}

// oneLine joins GDAL's accumulated messages, one per line, so that an
// error stays a single line in logs and CLI output.
func oneLine(err error) string {
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", "; ")
}
