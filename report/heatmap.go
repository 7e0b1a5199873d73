package report

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"

	"github.com/tfrun/tfrun/metrics"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/palette/brewer"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

const (
	heatmapDPI = 100
	cellSize   = 0.9 * vg.Inch
	// The margin holds the title, axis labels and class names.
	heatmapMargin = 2.2 * vg.Inch
	minPlotSide   = 4 * vg.Inch
)

// rowShares is the error matrix with each reference row divided by its
// total, so that the diagonal is producer's accuracy and a rare class is
// as readable as a common one. A row without reference pixels is NaN.
// Row 0 is drawn at the top, as the matrix is printed.
type rowShares struct{ share [][]float64 }

func newRowShares(a *metrics.Assessment) rowShares {
	s := make([][]float64, len(a.ConfusionMatrix))
	for r, row := range a.ConfusionMatrix {
		s[r] = make([]float64, len(row))
		for c, v := range row {
			s[r][c] = math.NaN()
			if tot := a.Classes[r].Support; tot > 0 {
				s[r][c] = float64(v) / float64(tot)
			}
		}
	}
	return rowShares{s}
}

func (g rowShares) Dims() (c, r int)   { return len(g.share), len(g.share) }
func (g rowShares) Z(c, r int) float64 { return g.share[len(g.share)-1-r][c] }
func (g rowShares) X(c int) float64    { return float64(c) }
func (g rowShares) Y(r int) float64    { return float64(r) }

// Fixed bounds: shares are compared across reports, so colour must not
// stretch to each matrix's own range.
func (g rowShares) Min() float64 { return 0 }
func (g rowShares) Max() float64 { return 1 }

// WriteHeatmap draws the error matrix as a PNG: rows = reference (first
// class at the top), columns = map, each cell coloured by its share of the
// reference row and labelled with its count and that share.
func WriteHeatmap(w io.Writer, title string, a *metrics.Assessment) error {
	n := len(a.Classes)
	if n == 0 {
		return fmt.Errorf("report: no classes to draw")
	}
	pal, err := brewer.GetPalette(brewer.TypeSequential, "Blues", 9)
	if err != nil {
		return err
	}
	grid := newRowShares(a)
	hm := plotter.NewHeatMap(grid, pal)
	hm.NaN = color.Gray{Y: 0xe0}

	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s\nOA %.4f  kappa %.4f  mIoU %.4f", title, a.OverallAccuracy, a.Kappa, a.MIoU)
	p.X.Label.Text = "map"
	p.Y.Label.Text = "reference"
	p.Add(hm)

	names := make([]string, n)
	for k, c := range a.Classes {
		names[k] = c.Name
	}
	p.NominalX(names...)
	rev := slices.Clone(names)
	slices.Reverse(rev)
	p.NominalY(rev...)
	// Long class names would run into each other under the columns.
	p.X.Tick.Label.Rotation = math.Pi / 4
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YCenter

	labels, err := cellLabels(a, grid)
	if err != nil {
		return err
	}
	p.Add(labels)
	// Half a cell of room around the outer cells' centres.
	p.X.Min, p.X.Max = -0.5, float64(n)-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(n)-0.5

	side := max(vg.Length(n)*cellSize, minPlotSide) + heatmapMargin
	img := vgimg.NewWith(vgimg.UseWH(side, side), vgimg.UseDPI(heatmapDPI))
	p.Draw(draw.New(img))
	_, err = vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}

// cellLabels writes "count\nshare%" in each cell, white on dark cells.
func cellLabels(a *metrics.Assessment, g rowShares) (*plotter.Labels, error) {
	n := len(a.Classes)
	var xyl plotter.XYLabels
	var dark []bool
	for r, row := range a.ConfusionMatrix {
		for c, v := range row {
			s := g.share[r][c]
			label := fmt.Sprint(v)
			if !math.IsNaN(s) {
				label += fmt.Sprintf("\n%.1f%%", 100*s)
			}
			xyl.XYs = append(xyl.XYs, plotter.XY{X: float64(c), Y: float64(n - 1 - r)})
			xyl.Labels = append(xyl.Labels, label)
			dark = append(dark, s > 0.5)
		}
	}
	labels, err := plotter.NewLabels(xyl)
	if err != nil {
		return nil, err
	}
	size := vg.Points(9)
	if n > 12 {
		size = vg.Points(7)
	}
	for i := range labels.TextStyle {
		st := text.Style{
			Color:   color.Black,
			Font:    font.From(plotter.DefaultFont, size),
			XAlign:  draw.XCenter,
			YAlign:  draw.YCenter,
			Handler: plot.DefaultTextHandler,
		}
		if dark[i] {
			st.Color = color.White
		}
		labels.TextStyle[i] = st
	}
	return labels, nil
}
