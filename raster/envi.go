package raster

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// OpenCube is Open for any image a user names, ENVI cubes included: when
// GDAL cannot open the file because its ENVI header is missing, the error
// says so.
func OpenCube(path string) (*File, error) {
	f, err := Open(path)
	if err != nil {
		if herr := MissingENVIHeader(path); herr != nil {
			return nil, herr
		}
		return nil, err
	}
	return f, nil
}

// enviExts are the extensions ENVI data files usually carry; the pixels
// are raw, and only the side-car header says their size and type.
var enviExts = []string{".img", ".bsq", ".bil", ".bip", ".dat", ".raw", ""}

// MissingENVIHeader explains why GDAL could not open path when it looks
// like an ENVI data file without its header (FILE.hdr or FILE.ext.hdr),
// and returns nil otherwise. Call it after Open fails: an ERDAS .img opens
// without any header.
func MissingENVIHeader(path string) error {
	ext := strings.ToLower(filepath.Ext(path))
	if !slices.Contains(enviExts, ext) {
		return nil
	}
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	base := strings.TrimSuffix(path, filepath.Ext(path))
	for _, h := range []string{base + ".hdr", path + ".hdr", base + ".HDR"} {
		if _, err := os.Stat(h); err == nil {
			return nil
		}
	}
	return fmt.Errorf("raster: %s: no ENVI header next to it (looked for %s and %s); an ENVI cube needs its .hdr to give its size, bands and sample type",
		path, filepath.Base(base+".hdr"), filepath.Base(path+".hdr"))
}
