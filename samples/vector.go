//go:build cgo

package samples

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/airbusgeo/godal"
	"github.com/tfrun/tfrun/raster"
)

var registerOnce sync.Once

// FromVector reads seeds from a vector layer (GeoPackage, GeoJSON,
// Shapefile, ...; layer "" for a file's only layer): each feature is a seed
// of the class in its field attribute. A polygon's pixels are those whose
// centre it covers; a point, line or sliver that covers no centre takes
// the pixels it touches. Features in another coordinate system than the
// image are reprojected. A feature wholly outside the image is an error
// naming it and the image's extent.
func FromVector(path, layer, field string, ig raster.Grid, image string) ([]Seed, error) {
	info, err := raster.VectorLayer(path, layer)
	if err != nil {
		return nil, err
	}
	if info.Features == 0 {
		return nil, fmt.Errorf("%s: layer %s has no features", path, info.Name)
	}
	if !slices.Contains(info.Fields, field) {
		return nil, fmt.Errorf("%s: layer %s has no field %q for the seed class (fields: %s)", path, info.Name, field, strings.Join(info.Fields, ", "))
	}
	m, err := newPixelMapper(ig, image)
	if err != nil {
		return nil, err
	}
	registerOnce.Do(godal.RegisterAll)
	ds, err := godal.Open(path, godal.VectorOnly())
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	defer ds.Close()
	l := ds.LayerByName(info.Name)
	if l == nil {
		return nil, fmt.Errorf("%s: layer %s vanished while reading", path, info.Name)
	}
	trn, err := transformTo(l, info.Projection, ig.Projection)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if trn != nil {
		defer trn.Close()
	}
	r := featureReader{path: path, layer: info.Name, field: field, m: m, trn: trn}
	var seeds []Seed
	l.ResetReading()
	for i := 1; ; i++ {
		f := l.NextFeature()
		if f == nil {
			break
		}
		s, err := r.seed(f, i)
		f.Close()
		if err != nil {
			return nil, err
		}
		seeds = append(seeds, s)
	}
	return seeds, nil
}

// transformTo is the transformation from the layer's coordinate system to
// the image's, nil when they are the same or either is unknown.
func transformTo(l *godal.Layer, from, to string) (*godal.Transform, error) {
	if from == "" || to == "" {
		return nil, nil
	}
	same, err := raster.SameCRS(from, to)
	if err != nil || same {
		return nil, err
	}
	src := l.SpatialRef()
	defer src.Close()
	dst, err := godal.NewSpatialRefFromWKT(to)
	if err != nil {
		return nil, err
	}
	defer dst.Close()
	return godal.NewTransform(src, dst)
}

type featureReader struct {
	path, layer, field string
	m                  pixelMapper
	trn                *godal.Transform
}

func (r featureReader) seed(f *godal.Feature, i int) (Seed, error) {
	name := fmt.Sprintf("%s: feature %d of layer %s", r.path, i, r.layer)
	fld, ok := f.Fields()[r.field]
	v := fld.Float()
	if !ok || !fld.IsSet() || v != math.Trunc(v) || v < 1 || v > math.MaxInt32 {
		return Seed{}, fmt.Errorf("%s: field %s is %q; seed classes are whole numbers ≥ 1", name, r.field, fld.String())
	}
	s := Seed{Name: name, Class: int32(v)}
	g := f.Geometry()
	if g == nil || g.Empty() {
		return Seed{}, fmt.Errorf("%s: has no geometry", name)
	}
	defer g.Close()
	if r.trn != nil {
		if err := g.Transform(r.trn); err != nil {
			return Seed{}, fmt.Errorf("%s: reprojecting onto the image: %v", name, err)
		}
	}
	b, err := g.Bounds()
	if err != nil {
		return Seed{}, fmt.Errorf("%s: %v", name, err)
	}
	win, ok := r.m.window(b)
	if !ok {
		return Seed{}, fmt.Errorf("%s (class %d), spanning x %.10g to %.10g, y %.10g to %.10g, is outside the image: %s",
			name, s.Class, b[0], b[2], b[1], b[3], r.m.extent())
	}
	s.Pixels, err = r.m.burn(g, win, false)
	if err == nil && len(s.Pixels) == 0 {
		s.Pixels, err = r.m.burn(g, win, true)
	}
	if err != nil {
		return Seed{}, fmt.Errorf("%s: rasterizing: %v", name, err)
	}
	if len(s.Pixels) == 0 {
		return Seed{}, fmt.Errorf("%s (class %d) touches no pixel of the image: %s", name, s.Class, r.m.extent())
	}
	return s, nil
}

// window is the pixel rectangle [x0, x1)×[y0, y1) of the image that
// bounds b covers, false when it covers none.
func (m pixelMapper) window(b [4]float64) ([4]int, bool) {
	gt := m.g.GeoTransform
	cx0, cx1 := (b[0]-gt[0])/gt[1], (b[2]-gt[0])/gt[1]
	cy0, cy1 := (b[1]-gt[3])/gt[5], (b[3]-gt[3])/gt[5]
	x0, x1 := int(math.Floor(min(cx0, cx1))), int(math.Floor(max(cx0, cx1)))+1
	y0, y1 := int(math.Floor(min(cy0, cy1))), int(math.Floor(max(cy0, cy1)))+1
	x0, y0 = max(x0, 0), max(y0, 0)
	x1, y1 = min(x1, m.g.Width), min(y1, m.g.Height)
	return [4]int{x0, y0, x1, y1}, x0 < x1 && y0 < y1
}

// burn rasterizes g onto the image pixels of win and returns their
// indices.
func (m pixelMapper) burn(g *godal.Geometry, win [4]int, touched bool) ([]int, error) {
	w, h := win[2]-win[0], win[3]-win[1]
	ds, err := godal.Create(godal.Memory, "", 1, godal.Byte, w, h)
	if err != nil {
		return nil, err
	}
	defer ds.Close()
	gt := m.g.GeoTransform
	if err := ds.SetGeoTransform([6]float64{gt[0] + float64(win[0])*gt[1], gt[1], 0, gt[3] + float64(win[1])*gt[5], 0, gt[5]}); err != nil {
		return nil, err
	}
	opts := []godal.RasterizeGeometryOption{godal.Values(1)}
	if touched {
		opts = append(opts, godal.AllTouched())
	}
	if err := ds.RasterizeGeometry(g, opts...); err != nil {
		return nil, err
	}
	buf := make([]uint8, w*h)
	if err := ds.Read(0, 0, buf, w, h); err != nil {
		return nil, err
	}
	var px []int
	for i, v := range buf {
		if v != 0 {
			px = append(px, (win[1]+i/w)*m.g.Width+win[0]+i%w)
		}
	}
	return px, nil
}
