package scenes

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tfrun/tfrun/raster"
)

// outsideLabels marks pixels of a warped label raster that the labels do
// not cover; it cannot clash with a class value, as 0 could.
const outsideLabels = math.MinInt32

// labelSource says where the labels come from.
type labelSource struct {
	Path  string // a raster or vector file
	Layer string // vector layer ("" for the only one)
	Attr  string // vector attribute burnt as the label value ("" burns 1)
}

// align returns a label raster on the scene's grid g: the labels file
// itself when it already lies on g, else a rasterized or warped copy made
// in tmp (a folder created on first use).
func (ls labelSource) align(image string, g raster.Grid, tmp func() (string, error)) (string, error) {
	if raster.IsVector(ls.Path) {
		return VectorLabels(ls).Rasterize(image, g, tmp)
	}
	if ls.Attr != "" || ls.Layer != "" {
		return "", fmt.Errorf("%s: attr and layer apply to vector labels; this is a raster", ls.Path)
	}
	info, err := raster.Stat(ls.Path)
	if err != nil {
		return "", err
	}
	if info.Bands != 1 {
		return "", fmt.Errorf("%s: labels need one band, this has %d", ls.Path, info.Bands)
	}
	lg := info.Grid()
	same, err := raster.SameCRS(lg.Projection, g.Projection)
	if err != nil {
		return "", fmt.Errorf("%s: %v", ls.Path, err)
	}
	switch {
	case !lg.Georeferenced() || !g.Georeferenced():
		// Without georeferencing on one side, pixels can only pair by
		// position.
		if lg.Width != g.Width || lg.Height != g.Height {
			return "", fmt.Errorf("%s is %d×%d and %s is %d×%d; without georeferencing on both, labels must be the scene's size",
				ls.Path, lg.Width, lg.Height, image, g.Width, g.Height)
		}
		return ls.Path, nil
	case (same || lg.Projection == "" || g.Projection == "") && lg.SameGrid(g):
		return ls.Path, nil
	}
	if err := checkOverlap(ls.Path, lg.Bounds(), lg.Projection, image, g); err != nil {
		return "", err
	}
	dir, err := tmp()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "labels_warped.tif")
	return out, raster.WarpNearest(ls.Path, g, out, outsideLabels)
}

// VectorLabels are labels in a vector file, burnt onto a scene's grid:
// attr's value (1 without attr) inside the features of layer ("" for the
// only one), 0 elsewhere.
type VectorLabels struct {
	Path, Layer, Attr string
}

// Check fails, naming the files, when the labels cannot be burnt onto the
// grid g of image: a layer without features or without attr, an image
// without georeferencing, or no area shared with it. It reads only the
// layer's metadata.
func (v VectorLabels) Check(image string, g raster.Grid) error {
	layer, err := raster.VectorLayer(v.Path, v.Layer)
	if err != nil {
		return err
	}
	switch {
	case layer.Features == 0:
		return fmt.Errorf("%s: layer %s has no features", v.Path, layer.Name)
	case v.Attr != "" && !slices.Contains(layer.Fields, v.Attr):
		return fmt.Errorf("%s: layer %s has no attribute %q (attributes: %s)", v.Path, layer.Name, v.Attr, strings.Join(layer.Fields, ", "))
	case !g.Georeferenced():
		return fmt.Errorf("%s has no georeferencing, so the vector labels %s cannot be placed on it", image, v.Path)
	}
	return checkOverlap(v.Path, layer.Bounds, layer.Projection, image, g)
}

// Rasterize checks the labels and burns them into a file in the folder
// tmp returns.
func (v VectorLabels) Rasterize(image string, g raster.Grid, tmp func() (string, error)) (string, error) {
	if err := v.Check(image, g); err != nil {
		return "", err
	}
	dir, err := tmp()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "labels_rasterized.tif")
	return out, raster.Rasterize(v.Path, v.Layer, v.Attr, g, out)
}

// checkOverlap fails when labels with extent b (in crs) share no area
// with the scene.
func checkOverlap(labels string, b raster.Bounds, crs, image string, g raster.Grid) error {
	where := "in their common coordinate system"
	if same, err := raster.SameCRS(crs, g.Projection); err != nil {
		return fmt.Errorf("%s: %v", labels, err)
	} else if !same && crs != "" && g.Projection != "" {
		if b, err = raster.Reproject(b, crs, g.Projection); err != nil {
			return fmt.Errorf("%s: its extent cannot be placed in the coordinate system of %s: %v", labels, image, err)
		}
		where = "after reprojection into the scene's coordinate system (the two differ)"
	}
	if sb := g.Bounds(); !b.Overlaps(sb) {
		return fmt.Errorf("%s does not overlap %s %s: labels cover x %.6g..%.6g, y %.6g..%.6g; the scene x %.6g..%.6g, y %.6g..%.6g",
			labels, image, where, b[0], b[2], b[1], b[3], sb[0], sb[2], sb[1], sb[3])
	}
	return nil
}
