// Package assess compares a class map with a reference label raster pixel
// by pixel, as the map is produced strip by strip, into an error matrix.
// Reference values become class ids through the model's own label coding
// (remap, then class values), so a map is judged on the classes it was
// trained on; pixels without reference or without input data are left out
// and counted.
package assess

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/tfrun/tfrun/metrics"
	"github.com/tfrun/tfrun/raster"
	"github.com/tfrun/tfrun/scenes"
)

// Region is the part of the grid assessed: columns X0 ≤ x < X1, rows
// Y0 ≤ y < Y1.
type Region struct{ X0, Y0, X1, Y1 int }

// Options narrow the assessment.
type Options struct {
	// Region limits the assessed pixels (nil: the whole grid), e.g. the
	// east half of a scene whose west half trained the model.
	Region *Region
	// Ignore lists reference values (before remap) to leave out, such as
	// a class the model never learnt.
	Ignore []int
	// Classes is the model's class count when it has more outputs than
	// the labels have classes (a model built for classes its training
	// region lacked): the map may still choose them. 0 means the labels'.
	Classes int
}

// Counts say which pixels of the region were assessed and why others
// were not. Labelled = Assessed + NoInput.
type Counts struct {
	// Labelled pixels hold a reference class.
	Labelled int64 `json:"reference_pixels"`
	// NoInput are labelled pixels the map left out: nodata in the input.
	NoInput int64 `json:"input_nodata"`
	// Unlabelled pixels are reference nodata, unlabelled (0 when 0 is not
	// a class) or ignored values.
	Unlabelled int64 `json:"unlabelled"`
}

// Reference is a label raster on a map's grid, accumulating the error
// matrix of the strips it is given.
type Reference struct {
	path, mapPath string
	file          *raster.File
	width         int
	labels        *scenes.Labels
	nodata        *float64
	ignore        []int
	region        Region
	conf          *metrics.Confusion
	counts        Counts
	// strays counts remapped reference values that are no class of the
	// model, reported rather than silently left out.
	strays map[int]int64
}

// Open opens the reference at path for a map of the raster at mapPath,
// whose grid is g. labels codes reference values as class ids.
func Open(path, mapPath string, g raster.Grid, labels *scenes.Labels, opt Options) (*Reference, error) {
	f, err := raster.Open(path)
	if err != nil {
		return nil, err
	}
	r := &Reference{path: path, mapPath: mapPath, file: f, width: g.Width, labels: labels,
		ignore: opt.Ignore, strays: map[int]int64{}}
	if err := r.check(g, opt.Region); err != nil {
		f.Close()
		return nil, err
	}
	if opt.Classes != 0 && opt.Classes < labels.Classes() {
		f.Close()
		return nil, fmt.Errorf("%s: the labels have %d classes but the model only %d", path, labels.Classes(), opt.Classes)
	}
	r.conf = metrics.NewConfusion(max(opt.Classes, labels.Classes()))
	return r, nil
}

func (r *Reference) check(g raster.Grid, region *Region) error {
	info := r.file.Info()
	if info.Bands != 1 {
		return fmt.Errorf("%s: a reference holds one band of class values, this has %d", r.path, info.Bands)
	}
	r.nodata = info.NoData[0]
	if err := SameGrid(r.path, info.Grid(), r.mapPath, g); err != nil {
		return err
	}
	r.region = Region{0, 0, g.Width, g.Height}
	if region != nil {
		rg := *region
		if rg.X0 < 0 || rg.Y0 < 0 || rg.X1 > g.Width || rg.Y1 > g.Height || rg.X0 >= rg.X1 || rg.Y0 >= rg.Y1 {
			return fmt.Errorf("region columns %d:%d rows %d:%d is not inside %s (%d×%d)", rg.X0, rg.X1, rg.Y0, rg.Y1, r.mapPath, g.Width, g.Height)
		}
		r.region = rg
	}
	return nil
}

// SameGrid fails unless the reference at path (grid rg) lies on the map
// raster's grid g pixel for pixel, naming both files and what differs.
func SameGrid(path string, rg raster.Grid, mapPath string, g raster.Grid) error {
	same, err := raster.SameCRS(rg.Projection, g.Projection)
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	switch {
	case rg.Projection != "" && g.Projection != "" && !same:
		return fmt.Errorf("%s is in %s but %s is in %s: the reference must be on the raster's grid (warp it with gdalwarp -te/-tr, or tfrun tile)",
			path, crsName(rg.Projection), mapPath, crsName(g.Projection))
	case rg.Width != g.Width || rg.Height != g.Height:
		return fmt.Errorf("%s is %d×%d pixels but %s is %d×%d: the reference must be on the raster's grid",
			path, rg.Width, rg.Height, mapPath, g.Width, g.Height)
	case rg.Georeferenced() && g.Georeferenced() && !rg.SameGrid(g):
		b, mb := rg.Bounds(), g.Bounds()
		return fmt.Errorf("%s covers x %.6g..%.6g, y %.6g..%.6g but %s covers x %.6g..%.6g, y %.6g..%.6g (or their pixel sizes differ): the reference must be on the raster's grid",
			path, b[0], b[2], b[1], b[3], mapPath, mb[0], mb[2], mb[1], mb[3])
	}
	return nil
}

// crsName is the name a WKT gives its coordinate system, e.g.
// "WGS 84 / UTM zone 33N", for messages.
func crsName(wkt string) string {
	if _, rest, ok := strings.Cut(wkt, `"`); ok {
		if name, _, ok := strings.Cut(rest, `"`); ok {
			return strconv.Quote(name)
		}
	}
	return "another coordinate system"
}

// Add compares strip rows y0..y0+rows−1 of the map, rows×width class ids
// with −1 where the input is nodata, with the reference.
func (r *Reference) Add(y0, rows int, classes []int32) error {
	if len(classes) != rows*r.width {
		return fmt.Errorf("assess: a strip of %d rows has %d classes, want %d", rows, len(classes), rows*r.width)
	}
	rg := r.region
	lo, hi := max(y0, rg.Y0), min(y0+rows, rg.Y1)
	if lo >= hi {
		return nil
	}
	w := rg.X1 - rg.X0
	ref, err := r.file.ReadWindow(rg.X0, lo, w, hi-lo)
	if err != nil {
		return err
	}
	codes := make([]int32, len(ref))
	r.labels.Code(ref, r.nodata, codes)
	truth := make([]int32, 0, len(ref))
	pred := make([]int32, 0, len(ref))
	for i, t := range codes {
		if t < 0 || len(r.ignore) > 0 && slices.Contains(r.ignore, int(ref[i])) {
			r.counts.Unlabelled++
			r.noteStray(ref[i], t)
			continue
		}
		r.counts.Labelled++
		p := classes[(lo-y0+i/w)*r.width+rg.X0+i%w]
		if p < 0 {
			r.counts.NoInput++
			continue
		}
		truth, pred = append(truth, t), append(pred, p)
	}
	return r.conf.Add(truth, pred)
}

// noteStray counts a reference value that the labels leave out although
// it is labelled: not nodata, not ignored, and not 0 after the remap (0
// is "unlabelled" unless it is a class).
func (r *Reference) noteStray(v float32, code int32) {
	f := float64(v)
	if code >= 0 || math.IsNaN(f) || r.nodata != nil && f == *r.nodata || f != math.Trunc(f) || slices.Contains(r.ignore, int(f)) {
		return
	}
	iv := int(f)
	if m, ok := r.labels.Remap[iv]; ok {
		iv = m
	}
	if iv != 0 {
		r.strays[iv]++
	}
}

// Result is the error matrix over the region and what was left out. It
// fails when the reference holds labelled values that are none of the
// model's classes: leaving them out silently would score the map on an
// easier problem than the reference poses.
func (r *Reference) Result() (*metrics.Confusion, Counts, error) {
	if len(r.strays) > 0 {
		var parts []string
		for _, v := range slices.Sorted(maps.Keys(r.strays)) {
			parts = append(parts, fmt.Sprintf("%d (%d pixels)", v, r.strays[v]))
		}
		return nil, Counts{}, fmt.Errorf("%s: reference values %s are not among the model's class values %v; leave them out with --ignore, or set them to the reference's nodata",
			r.path, strings.Join(parts, ", "), r.labels.Values)
	}
	return r.conf, r.counts, nil
}

// Close releases the reference raster.
func (r *Reference) Close() error { return r.file.Close() }
