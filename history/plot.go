package history

import (
	"errors"
	"image/color"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/tfrun/tfrun/internal/atomicfile"
)

// Figure geometry. At 100 dpi a panel is 600×450 px, so the usual loss plus
// accuracy figure is 1200×500 px, close to the course's matplotlib output.
const (
	plotDPI      = 100
	panelW       = 6 * vg.Inch
	panelH       = 4.5 * vg.Inch
	titleH       = 0.5 * vg.Inch
	maxPanelCols = 3
)

// Matplotlib's first two default colours (tab:blue, tab:orange), so the
// figures read like the course's.
var (
	trainColor = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	valColor   = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
)

// PlotCurves writes a PNG with one panel per training metric: "loss" first,
// then the others alphabetically, each showing k and, where logged, "val_"+k
// against epoch. Learning-rate keys are schedules, not metrics, and get no
// panel. Panels sit side by side, at most three to a row, under title.
func PlotCurves(path string, h *History, title string) error {
	metrics := panelKeys(h)
	if len(metrics) == 0 {
		return errors.New("history: nothing to plot, no metric values in history")
	}
	cols := min(len(metrics), maxPanelCols)
	rows := (len(metrics) + cols - 1) / cols

	grid := make([][]*plot.Plot, rows)
	for i := range grid {
		grid[i] = make([]*plot.Plot, cols)
	}
	for i, k := range metrics {
		p, err := panel(h, k)
		if err != nil {
			return err
		}
		grid[i/cols][i%cols] = p
	}

	w, ht := vg.Length(cols)*panelW, vg.Length(rows)*panelH+titleH
	img := vgimg.NewWith(vgimg.UseWH(w, ht), vgimg.UseDPI(plotDPI))
	dc := draw.New(img)
	dc.FillText(draw.TextStyle{
		Color:   color.Black,
		Font:    font.From(plot.DefaultFont, 16),
		XAlign:  draw.XCenter,
		YAlign:  draw.YCenter,
		Handler: plot.DefaultTextHandler,
	}, vg.Point{X: w / 2, Y: ht - titleH/2}, title)

	tiles := draw.Tiles{
		Rows: rows, Cols: cols,
		PadX: vg.Inch / 4, PadY: vg.Inch / 4,
		PadLeft: vg.Inch / 8, PadRight: vg.Inch / 4, PadBottom: vg.Inch / 8,
	}
	canvases := plot.Align(grid, tiles, draw.Crop(dc, 0, 0, 0, -titleH))
	for r, row := range grid {
		for c, p := range row {
			if p != nil {
				p.Draw(canvases[r][c])
			}
		}
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
		return err
	})
}

func panelKeys(h *History) []string {
	set := map[string]bool{}
	for _, r := range h.Records {
		for k := range r.Values {
			if !strings.HasPrefix(k, "val_") && k != "lr" && k != "learning_rate" {
				set[k] = true
			}
		}
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		switch {
		case a == b:
			return 0
		case a == "loss":
			return -1
		case b == "loss":
			return 1
		}
		return strings.Compare(a, b)
	})
	return keys
}

// series returns key's finite values against epoch; NaN or Inf (a diverged
// epoch) would otherwise make plotter reject the whole line.
func series(h *History, key string) plotter.XYs {
	var xys plotter.XYs
	for _, r := range h.Records {
		v, ok := r.Values[key]
		if ok && !math.IsNaN(v) && !math.IsInf(v, 0) {
			xys = append(xys, plotter.XY{X: float64(r.Epoch), Y: v})
		}
	}
	return xys
}

func panel(h *History, key string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = key
	p.X.Label.Text = "epoch"
	p.Y.Label.Text = key
	p.X.Tick.Marker = epochTicks{}
	p.Add(plotter.NewGrid())

	train := series(h, key)
	for _, s := range []struct {
		name string
		xys  plotter.XYs
		clr  color.Color
	}{
		{key, train, trainColor},
		{"val_" + key, series(h, "val_"+key), valColor},
	} {
		if len(s.xys) == 0 {
			continue
		}
		line, pts, err := plotter.NewLinePoints(s.xys)
		if err != nil {
			return nil, err
		}
		line.Color = s.clr
		line.Width = vg.Points(1.5)
		// Markers keep a one-epoch run visible, where a line has no length.
		pts.Color = s.clr
		pts.Shape = draw.CircleGlyph{}
		pts.Radius = vg.Points(2)
		p.Add(line, pts)
		p.Legend.Add(s.name, line, pts)
	}
	// A falling curve (loss) leaves the top right free, a rising one
	// (accuracy) the bottom right.
	p.Legend.Top = len(train) > 1 && train[len(train)-1].Y < train[0].Y
	// Inset the legend so it stays inside the axes frame, as matplotlib's does.
	p.Legend.XOffs = -vg.Points(6)
	p.Legend.YOffs = vg.Points(6)
	if p.Legend.Top {
		p.Legend.YOffs = -p.Legend.YOffs
	}
	return p, nil
}

// epochTicks labels whole epochs only; plot.DefaultTicks would put ticks at
// fractional epochs such as 0.5 on short runs.
type epochTicks struct{}

func (epochTicks) Ticks(lo, hi float64) []plot.Tick {
	step := niceStep(hi - lo)
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', 0, 64)})
	}
	return ticks
}

// niceStep is the smallest of 1, 2, 5, 10, 20, 50, ... that puts at most ten
// ticks on span.
func niceStep(span float64) float64 {
	for mag := 1.0; ; mag *= 10 {
		for _, s := range []float64{1, 2, 5} {
			if span/(s*mag) <= 10 {
				return s * mag
			}
		}
	}
}
