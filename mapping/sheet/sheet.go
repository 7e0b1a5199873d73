package sheet

import (
	"context"
	"fmt"
	"image/png"
	"io"
	"math"
	"os"

	"github.com/tfrun/tfrun/internal/atomicfile"
	"github.com/tfrun/tfrun/mapping"
	"github.com/tfrun/tfrun/raster"
)

// Nodata values of the products: 255 is no class (class maps hold at most
// 255 classes), 65535 no probability; float32 probabilities use NaN.
const (
	ClassNoData = 255
	ProbNoData  = 65535
	// ProbScale codes uint16 probabilities, as the course does.
	ProbScale = 10000
)

// Predict predicts the sheet at path and writes the products named by
// files. The class map is a Cloud-Optimised GeoTIFF on the sheet's grid
// (or, for a classifier, the grid of its cells) with the sheet's CRS. On
// error no product is left half-written.
func Predict(ctx context.Context, path string, files Files, p mapping.Predictor, m mapping.ModelInfo, opt mapping.Options, o Outputs) (mapping.Stats, error) {
	if err := o.validate(); err != nil {
		return mapping.Stats{}, err
	}
	src, err := mapping.Open(path)
	if err != nil {
		return mapping.Stats{}, err
	}
	defer src.Close()
	g, err := mapping.OutputGrid(src.Info(), m, opt)
	if err != nil {
		return mapping.Stats{}, mapping.Blame(path, err)
	}
	if k := m.Classes(); k > ClassNoData {
		return mapping.Stats{}, fmt.Errorf("%s: the model has %d classes; a class map holds at most %d (%d is nodata)", path, k, ClassNoData, ClassNoData)
	}
	w := &writers{k: m.Classes(), o: o}
	defer w.abort()
	if w.classes, err = raster.Create(files.Classes, g, 1, "Byte", raster.NoData(ClassNoData), raster.COG("NEAREST")); err != nil {
		return mapping.Stats{}, err
	}
	switch o.Probs {
	case "uint16":
		w.probs, err = raster.Create(files.Probs, g, w.k, "UInt16", raster.NoData(ProbNoData), raster.COG("AVERAGE"))
	case "float32":
		w.probs, err = raster.Create(files.Probs, g, w.k, "Float32", raster.NoData(math.NaN()), raster.COG("AVERAGE"))
	}
	if err != nil {
		return mapping.Stats{}, err
	}
	if o.Quicklook {
		w.ql = newQuicklook(g.Width, g.Height)
	}
	st, err := mapping.Run(ctx, src, p, m, opt, w.write)
	if err != nil {
		return st, mapping.Blame(path, err)
	}
	return st, w.finish(files)
}

// writers are a sheet's products being written.
type writers struct {
	k              int
	o              Outputs
	classes, probs *raster.Writer
	ql             *quicklook
}

func (w *writers) write(s *mapping.Strip) error {
	labels := s.Labels()
	buf := make([]float32, len(labels))
	for i, c := range labels {
		buf[i] = ClassNoData
		if c >= 0 {
			buf[i] = float32(c)
		}
	}
	if err := w.classes.WriteWindow(0, s.Y0, s.Width, s.Rows, buf); err != nil {
		return err
	}
	if w.ql != nil {
		w.ql.add(s.Y0, s.Rows, s.Width, labels)
	}
	if w.probs == nil {
		return nil
	}
	probs := s.Probs
	for i, ok := range s.Valid {
		p := probs[i*w.k : (i+1)*w.k]
		for c := range p {
			switch {
			case !ok && w.o.Probs == "uint16":
				p[c] = ProbNoData
			case !ok:
				p[c] = float32(math.NaN())
			case w.o.Probs == "uint16":
				p[c] = float32(math.Round(float64(p[c]) * ProbScale))
			}
		}
	}
	return w.probs.WriteWindow(0, s.Y0, s.Width, s.Rows, probs)
}

// finish closes the products in an order that makes the class map's
// presence mean the others are done, except the polygons that are made
// from it.
func (w *writers) finish(f Files) error {
	if w.probs != nil {
		err := w.probs.Close()
		w.probs = nil
		if err != nil {
			return err
		}
	}
	if w.ql != nil {
		if err := atomicfile.Write(f.Quicklook, func(out io.Writer) error { return png.Encode(out, w.ql.img) }); err != nil {
			return err
		}
	}
	err := w.classes.Close()
	w.classes = nil
	if err != nil {
		return err
	}
	if w.o.Polygons {
		return raster.Polygonize(f.Classes, f.Polygons, w.o.Sieve)
	}
	return nil
}

func (w *writers) abort() {
	for _, wr := range []*raster.Writer{w.classes, w.probs} {
		if wr != nil {
			wr.Abort()
		}
	}
}

// Complete tells whether a sheet's products are all there and sound: the
// class map opens as a one-band Byte raster on the grid this model and
// these options give, and every other product asked for exists. Products
// only appear, renamed, once complete, so a rerun can skip such a sheet.
func Complete(path string, files Files, m mapping.ModelInfo, opt mapping.Options) bool {
	in, err := raster.Stat(path)
	if err != nil {
		return false
	}
	want, err := mapping.OutputGrid(in, m, opt)
	if err != nil {
		return false
	}
	got, err := raster.Stat(files.Classes)
	if err != nil || got.Grid() != want || got.Bands != 1 || got.DataType != "Byte" {
		return false
	}
	for _, p := range files.All() {
		if _, err := os.Stat(p); err != nil {
			return false
		}
	}
	return true
}
