package mapping

import "github.com/tfrun/tfrun/raster"

// OutputGrid is the grid of Run's output for a sheet: the sheet's own for
// a map model; for a classifier, one cell per window stride, the cells'
// corner on the sheet's, and the pixel size the stride's.
func OutputGrid(in raster.Info, m ModelInfo, opt Options) (raster.Grid, error) {
	g := in.Grid()
	if err := m.validate(); err != nil {
		return g, err
	}
	if m.IsMap() {
		return g, nil
	}
	l, err := newLayout(in.Width, in.Height, m.Input[1], m.Input[0], opt.Overlap)
	if err != nil {
		return g, err
	}
	g.Width, g.Height = l.cols, l.rows
	sx, sy := float64(l.strideX), float64(l.strideY)
	gt := &g.GeoTransform
	gt[1], gt[2], gt[4], gt[5] = gt[1]*sx, gt[2]*sy, gt[4]*sx, gt[5]*sy
	return g, nil
}
