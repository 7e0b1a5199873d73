package raster

import "strings"

// Grid is the pixel grid of a raster: its size and where it lies.
type Grid struct {
	Width, Height int
	GeoTransform  [6]float64
	Projection    string
}

// Grid returns the raster's grid, for outputs that must line up with it.
func (i Info) Grid() Grid {
	return Grid{Width: i.Width, Height: i.Height, GeoTransform: i.GeoTransform, Projection: i.Projection}
}

// CreateOption configures Create.
type CreateOption func(*createConfig)

type createConfig struct {
	nodata   *float64
	compress string
	cog      string // overview resampling when writing a COG, "" for a plain GeoTIFF
}

// NoData marks v as every band's nodata value.
func NoData(v float64) CreateOption {
	return func(c *createConfig) { c.nodata = &v }
}

// Compress sets the GeoTIFF compression (DEFLATE by default; NONE, LZW,
// ZSTD, ...).
func Compress(name string) CreateOption {
	return func(c *createConfig) { c.compress = name }
}

// COG makes Close write a Cloud-Optimised GeoTIFF with overviews built by
// resampling: NEAREST or MODE for class maps (averaging class ids invents
// classes), AVERAGE for continuous values.
func COG(resampling string) CreateOption {
	return func(c *createConfig) { c.cog = resampling }
}

// IsTemp tells whether name is one of the temporary files a Writer makes,
// so that batch jobs can recognise leftovers of a killed run.
func IsTemp(name string) bool {
	return strings.HasSuffix(name, ".tmp") || strings.HasSuffix(name, ".tmp.aux.xml")
}
