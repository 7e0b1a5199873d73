// Package sheet writes the products of predicting one map sheet: the class
// map (a COG), class probabilities, polygons and a quicklook, each under a
// temporary name renamed when complete.
package sheet

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Outputs are the products asked for besides the class map.
type Outputs struct {
	// Probs is "" for none, "uint16" for probabilities ×10000 (the
	// course's coding), or "float32".
	Probs string
	// Polygons asks for a GeoPackage of the classes; Sieve first merges
	// regions under that many pixels into their neighbours.
	Polygons bool
	Sieve    int
	// Quicklook asks for a PNG of the classes, at most QuicklookSize
	// pixels on its longer side.
	Quicklook bool
}

// ProbTypes are the sample types probabilities can be written as.
var ProbTypes = []string{"uint16", "float32"}

func (o Outputs) validate() error {
	if o.Probs != "" && o.Probs != "uint16" && o.Probs != "float32" {
		return fmt.Errorf("probabilities as %q: want uint16 (×10000) or float32", o.Probs)
	}
	if o.Sieve < 0 {
		return fmt.Errorf("sieve %d: want a region size in pixels ≥ 0", o.Sieve)
	}
	return nil
}

// Files are the paths of a sheet's products; empty for those not asked.
type Files struct {
	Classes, Probs, Polygons, Quicklook string
}

// FilesOf names the products of sheet in dir after the sheet's file name:
// NAME.tif, NAME_probs.tif, NAME.gpkg and NAME.png.
func FilesOf(sheet, dir string, o Outputs) Files {
	base := filepath.Join(dir, strings.TrimSuffix(filepath.Base(sheet), filepath.Ext(sheet)))
	f := Files{Classes: base + ".tif"}
	if o.Probs != "" {
		f.Probs = base + "_probs.tif"
	}
	if o.Polygons {
		f.Polygons = base + ".gpkg"
	}
	if o.Quicklook {
		f.Quicklook = base + ".png"
	}
	return f
}

// All lists the paths asked for.
func (f Files) All() []string {
	var out []string
	for _, p := range []string{f.Classes, f.Probs, f.Polygons, f.Quicklook} {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// RemoveTemps deletes what a killed run left of these products.
func (f Files) RemoveTemps() error { return RemoveTemps(f.All()...) }

// tempSuffixes are what the raster writer, Polygonize and SQLite add to
// a product's name for its temporary files.
var tempSuffixes = []string{".tmp", ".cog.tmp", ".tmp.aux.xml", ".tmp-journal", ".tmp-wal", ".tmp-shm", ".cog.tmp.aux.xml", ".sieve.tmp", ".sieve.tmp.aux.xml"}

// RemoveTemps deletes the temporary files of the given products: those
// named after a product with one of tempSuffixes, or .NAME.tmpDIGITS
// (internal/atomicfile's). Products of other sheets, which another job
// may be writing right now, are left alone.
func RemoveTemps(products ...string) error {
	for _, p := range products {
		dir, name := filepath.Split(p)
		if dir == "" {
			dir = "."
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			n := e.Name()
			rest, own := strings.CutPrefix(n, name)
			digits, atomic := strings.CutPrefix(n, "."+name+".tmp")
			if own && slices.Contains(tempSuffixes, rest) || atomic && strings.Trim(digits, "0123456789") == "" {
				if err := os.Remove(filepath.Join(dir, n)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
