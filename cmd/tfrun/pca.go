package main

import (
	"fmt"
	"io"
	"math"
	"os"

	"github.com/tfrun/tfrun/internal/atomicfile"
	"github.com/tfrun/tfrun/raster"
	"github.com/tfrun/tfrun/scenes"
	"github.com/urfave/cli/v2"
	"gopkg.in/yaml.v3"
)

func pcaCommand() *cli.Command {
	return &cli.Command{
		Name:  "pca",
		Usage: "reduce a multi-band cube (ENVI, GeoTIFF, any GDAL raster) to its principal components",
		UsageText: "tfrun pca --input CUBE --components 6 --out OUT.tif [--bands 1-100,120-198] [--bad-bands 104-113] [--sample N] " +
			"[--save-transform PCA.yaml | --transform PCA.yaml]",
		Description: "Fits PCA on a regular-grid sample of the valid pixels (not nodata in any used band), prints each component's " +
			"explained variance, and writes the components as a Float32 GeoTIFF on the input's grid and coordinate system " +
			"(nodata NaN where the input is nodata). The cube is read in strips of rows, so memory stays bounded whatever its size. " +
			"--save-transform keeps the fitted transform (bands, nodata, PCA) as YAML; --transform applies a saved one instead of fitting.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "input", Aliases: []string{"i"}, Usage: "cube to reduce", Required: true},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "output GeoTIFF of the components", Required: true},
			&cli.IntFlag{Name: "components", Aliases: []string{"k"}, Value: 6, Usage: "number of components to keep"},
			&cli.StringFlag{Name: "save-transform", Usage: "write the fitted transform to this YAML file"},
			&cli.StringFlag{Name: "transform", Usage: "apply this saved transform instead of fitting one"},
		}, cubeFlags()...),
		Action: runPCA,
	}
}

func runPCA(c *cli.Context) error {
	in := c.String("input")
	f, err := raster.OpenCube(in)
	if err != nil {
		return err
	}
	defer f.Close()
	prep, err := pcaPrep(c, f, in)
	if err != nil {
		return err
	}
	printVariance(os.Stdout, prep)
	if path := c.String("save-transform"); path != "" {
		if err := atomicfile.Write(path, func(w io.Writer) error { return yaml.NewEncoder(w).Encode(prep) }); err != nil {
			return err
		}
	}
	return writePrepared(f, prep, c.String("out"))
}

// pcaPrep fits the transform the flags ask for on the whole cube, or
// reads a saved one and checks that it suits the cube.
func pcaPrep(c *cli.Context, f *raster.File, in string) (*scenes.Prep, error) {
	info := f.Info()
	if path := c.String("transform"); path != "" {
		for _, fl := range []string{"components", "bands", "bad-bands", "sample", "save-transform"} {
			if c.IsSet(fl) {
				return nil, fmt.Errorf("--%s fits a new transform; --transform %s applies a saved one: give one or the other", fl, path)
			}
		}
		prep, err := loadPrep(path)
		if err != nil {
			return nil, err
		}
		if info.Bands != prep.InBands() {
			return nil, fmt.Errorf("%s has %d bands, but the transform %s was fitted on a %d-band raster (%s)",
				in, info.Bands, path, prep.InBands(), prep.FittedOn)
		}
		return prep, nil
	}
	cfg, err := cubePrepConfig(c)
	if err != nil {
		return nil, err
	}
	if cfg.PCA = c.Int("components"); cfg.PCA < 1 {
		return nil, fmt.Errorf("--components %d: want at least 1", cfg.PCA)
	}
	return scenes.FitPrep(f, in, scenes.Rect{W: info.Width, H: info.Height}, cfg)
}

// cubeFlags choose a cube's bands and the sample statistics are fitted on.
func cubeFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "bands", Usage: "1-based bands to use, e.g. 1-100,120-198 (default all)"},
		&cli.StringFlag{Name: "bad-bands", Usage: "1-based bands to drop, e.g. the water-absorption bands 104-113,148-166"},
		&cli.IntFlag{Name: "sample", Usage: "pixels to fit the PCA on, at most (default 1,000,000, fewer for very many bands)"},
	}
}

// cubePrepConfig reads cubeFlags.
func cubePrepConfig(c *cli.Context) (scenes.PrepConfig, error) {
	cfg := scenes.PrepConfig{Sample: c.Int("sample")}
	var err error
	if cfg.Bands, err = scenes.ParseBands(c.String("bands")); err != nil {
		return cfg, fmt.Errorf("--bands: %v", err)
	}
	if cfg.BadBands, err = scenes.ParseBands(c.String("bad-bands")); err != nil {
		return cfg, fmt.Errorf("--bad-bands: %v", err)
	}
	return cfg, nil
}

func loadPrep(path string) (*scenes.Prep, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p scenes.Prep
	if err := yaml.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: not a saved transform: %v", path, err)
	}
	if p.PCA == nil {
		return nil, fmt.Errorf("%s: the saved transform has no PCA", path)
	}
	return &p, nil
}

func printVariance(w io.Writer, p *scenes.Prep) {
	t := p.PCA
	fmt.Fprintf(w, "PCA of %d bands fitted on %d pixels\n", t.InBands(), t.Samples)
	fmt.Fprintln(w, "component  explained variance  ratio     cumulative")
	var cum float64
	for j, r := range t.ExplainedVarianceRatio {
		cum += r
		fmt.Fprintf(w, "%9d  %18.6g  %.6f  %.6f\n", j+1, t.ExplainedVariance[j], r, cum)
	}
}

// stripValues bounds one strip read (16 MiB of float32), whatever the
// cube's width and band count.
const stripValues = 4 << 20

// eachPrepared runs the cube through prep strip by strip, top to bottom,
// handing each strip's [h, width, OutBands] values and validity to fn.
func eachPrepared(f *raster.File, prep *scenes.Prep, fn func(y, h int, vals []float32, valid []bool) error) error {
	info := f.Info()
	rows := max(1, stripValues/(info.Width*info.Bands))
	for y := 0; y < info.Height; y += rows {
		h := min(rows, info.Height-y)
		raw, err := f.ReadWindow(0, y, info.Width, h)
		if err != nil {
			return err
		}
		vals, valid, err := prep.Apply(raw, info.Width*h, info.Bands)
		if err != nil {
			return err
		}
		if err := fn(y, h, vals, valid); err != nil {
			return err
		}
	}
	return nil
}

// writePrepared streams the cube through prep into a Float32 GeoTIFF on
// the cube's grid, NaN where the input is nodata.
func writePrepared(f *raster.File, prep *scenes.Prep, out string) error {
	info := f.Info()
	nb := prep.OutBands()
	w, err := raster.Create(out, info.Grid(), nb, "Float32", raster.NoData(math.NaN()))
	if err != nil {
		return err
	}
	nan := float32(math.NaN())
	err = eachPrepared(f, prep, func(y, h int, vals []float32, valid []bool) error {
		for i, ok := range valid {
			if !ok {
				for k := range nb {
					vals[i*nb+k] = nan
				}
			}
		}
		return w.WriteWindow(0, y, info.Width, h, vals)
	})
	if err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}
