//go:build !cgo

package raster

import "fmt"

// File is an open raster; without cgo there is no GDAL and no raster opens.
type File struct {
	info Info
}

// Open fails: GDAL is a C library, and this binary was built without cgo.
func Open(path string) (*File, error) {
	return nil, fmt.Errorf("raster: %s: this tfrun was built without cgo, so GDAL cannot read rasters; build with CGO_ENABLED=1", path)
}

// Info returns the metadata read by Open.
func (f *File) Info() Info { return f.info }

// ReadWindow is unreachable without cgo: Open never returns a File.
func (f *File) ReadWindow(x, y, w, h int) ([]float32, error) {
	return nil, fmt.Errorf("raster: built without cgo")
}

// Close releases nothing without cgo.
func (f *File) Close() error { return nil }

// Writer is never created without cgo.
type Writer struct{}

// Create fails: writing rasters needs GDAL.
func Create(path string, g Grid, bands int, dtype string, opts ...CreateOption) (*Writer, error) {
	return nil, fmt.Errorf("raster: %s: this tfrun was built without cgo, so GDAL cannot write rasters; build with CGO_ENABLED=1", path)
}

// WriteWindow is unreachable without cgo.
func (w *Writer) WriteWindow(x, y, width, height int, data []float32) error {
	return fmt.Errorf("raster: built without cgo")
}

// Close is unreachable without cgo.
func (w *Writer) Close() error { return fmt.Errorf("raster: built without cgo") }

// Abort has nothing to drop without cgo.
func (w *Writer) Abort() {}
