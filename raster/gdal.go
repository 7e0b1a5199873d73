//go:build cgo

package raster

import (
	"fmt"
	"sync"

	"github.com/airbusgeo/godal"
)

var registerOnce sync.Once

// File is an open raster. It is not safe for concurrent use: GDAL dataset
// handles are not, so give each goroutine its own File.
type File struct {
	path string
	ds   *godal.Dataset
	info Info
}

// Open opens path read-only and reads its metadata.
func Open(path string) (*File, error) {
	registerOnce.Do(godal.RegisterAll)
	// SiblingFiles() with no names lets GDAL probe for side-car files
	// (.aux.xml, ENVI .hdr, world files), which godal disables by default.
	ds, err := godal.Open(path, godal.SiblingFiles())
	if err != nil {
		return nil, fmt.Errorf("raster: %s: not a valid raster: %s", path, oneLine(err))
	}
	f := &File{path: path, ds: ds}
	if f.info, err = f.readInfo(); err != nil {
		ds.Close()
		return nil, err
	}
	return f, nil
}

func (f *File) readInfo() (Info, error) {
	st := f.ds.Structure()
	if st.NBands == 0 {
		return Info{}, fmt.Errorf("raster: %s: has no raster bands", f.path)
	}
	info := Info{
		Width:      st.SizeX,
		Height:     st.SizeY,
		Bands:      st.NBands,
		DataType:   st.DataType.String(),
		Projection: f.ds.Projection(),
	}
	switch st.DataType {
	case godal.CInt16, godal.CInt32, godal.CFloat32, godal.CFloat64:
		return Info{}, fmt.Errorf("raster: %s: complex sample type %s is not supported", f.path, info.DataType)
	}
	gt, err := f.ds.GeoTransform()
	if err != nil {
		// GDAL reports a missing geotransform as a failure; an image
		// without georeferencing is still a valid input.
		gt = [6]float64{0, 1, 0, 0, 0, 1}
	}
	info.GeoTransform = gt
	for _, b := range f.ds.Bands() {
		var nd *float64
		if v, ok := b.NoData(); ok {
			nd = &v
		}
		info.NoData = append(info.NoData, nd)
	}
	return info, nil
}

// Info returns the metadata read by Open.
func (f *File) Info() Info { return f.info }

// ReadWindow reads the w×h window whose top-left pixel is (x, y), all
// bands, as [h, w, bands] float32 samples. Values are the stored ones:
// no scale/offset is applied and nodata is left in place.
func (f *File) ReadWindow(x, y, w, h int) ([]float32, error) {
	in := f.info
	if w <= 0 || h <= 0 || x < 0 || y < 0 || x+w > in.Width || y+h > in.Height {
		return nil, fmt.Errorf("raster: %s: window %d×%d at (%d, %d) is outside the %d×%d raster",
			f.path, w, h, x, y, in.Width, in.Height)
	}
	if n := int64(w) * int64(h) * int64(in.Bands); n > maxSamples {
		return nil, fmt.Errorf("raster: %s: window of %d×%d×%d samples is too large to read at once (max %d)",
			f.path, w, h, in.Bands, int64(maxSamples))
	}
	buf := make([]float32, w*h*in.Bands)
	if err := f.ds.Read(x, y, buf, w, h); err != nil {
		return nil, fmt.Errorf("raster: %s: reading pixels: %s", f.path, oneLine(err))
	}
	return buf, nil
}

// Close releases the GDAL dataset.
func (f *File) Close() error {
	if err := f.ds.Close(); err != nil {
		return fmt.Errorf("raster: %s: close: %w", f.path, err)
	}
	return nil
}
