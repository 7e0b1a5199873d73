package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tfrun/tfrun/raster"
	"github.com/tfrun/tfrun/samples"
	"github.com/tfrun/tfrun/scenes"
	"github.com/urfave/cli/v2"
)

func samplesCommand() *cli.Command {
	return &cli.Command{
		Name:            "samples",
		Usage:           "build training labels",
		HideHelpCommand: true,
		Subcommands:     []*cli.Command{growCommand()},
	}
}

// defaultThresholds are per metric: 0.1 rad is the usual spectral-angle
// default; 0.25 standard deviations of the cube suits distances in PCA
// space (Jasper Ridge's water: IoU 0.98 anywhere from 0.2 to 0.5).
var defaultThresholds = map[string]float64{"angle": 0.1, "distance": 0.25}

func growCommand() *cli.Command {
	return &cli.Command{
		Name:  "grow",
		Usage: "grow seed regions over spectrally similar neighbours into a label raster",
		UsageText: "tfrun samples grow --input CUBE --seeds SEEDS.gpkg|SEEDS.tif --out LABELS.tif [--metric distance|angle] " +
			"[--threshold T] [--max-size N] [--components K] [--connectivity 8] [--overlay REVIEW.png]",
		Description: "Each seed (a feature of a vector layer, class from --class-field; or an 8-connected patch of one value " +
			"of a seed raster, 0 = no seed) grows to neighbouring pixels whose spectrum is close to its region's running mean, " +
			"most similar first, all regions at once, until no neighbour is within --threshold or the region holds --max-size pixels. " +
			"--metric distance measures Euclidean distance between the first --components principal components (fitted on the cube), " +
			"in units of the cube's standard deviation (the square root of the variance those components explain), so one threshold " +
			"suits any radiometric scale; --metric angle measures the spectral angle in radians, blind to brightness. " +
			"Writes LABELS.tif (the class per pixel, 0 = unlabelled and nodata, on the cube's grid and coordinate system) and " +
			"a PNG overlay for review (grown pixels tinted, seeds solid).",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "input", Aliases: []string{"i"}, Usage: "cube (ENVI, GeoTIFF, any GDAL raster)", Required: true},
			&cli.StringFlag{Name: "seeds", Aliases: []string{"s"}, Usage: "seeds: a vector file (GeoPackage, GeoJSON, Shapefile) or a seed raster", Required: true},
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "label GeoTIFF to write", Required: true},
			&cli.StringFlag{Name: "metric", Value: "distance", Usage: "distance (in PCA space) or angle (spectral angle)"},
			&cli.Float64Flag{Name: "threshold", Usage: "largest distance (standard deviations) or angle (radians) to join a region (default 0.25 for distance, 0.1 for angle)"},
			&cli.IntFlag{Name: "max-size", Usage: "most pixels per region, seeds included (0: no cap)"},
			&cli.IntFlag{Name: "components", Aliases: []string{"k"}, Value: 6, Usage: "principal components for --metric distance"},
			&cli.IntFlag{Name: "connectivity", Value: 8, Usage: "4 (edge neighbours) or 8 (edges and corners)"},
			&cli.StringFlag{Name: "class-field", Value: "class", Usage: "attribute holding a vector seed's class (whole number ≥ 1)"},
			&cli.StringFlag{Name: "layer", Usage: "layer of the vector file (default its only layer)"},
			&cli.StringFlag{Name: "overlay", Usage: "review PNG to write (default OUT with _overlay.png)"},
		}, cubeFlags()...),
		Action: runGrow,
	}
}

func runGrow(c *cli.Context) error {
	in, out := c.String("input"), c.String("out")
	o := samples.Options{Metric: c.String("metric"), Threshold: c.Float64("threshold"), MaxSize: c.Int("max-size"), Connectivity: c.Int("connectivity")}
	if !slices.Contains(samples.Metrics, o.Metric) {
		return fmt.Errorf("--metric %q: want %s", o.Metric, strings.Join(samples.Metrics, " or "))
	}
	if !c.IsSet("threshold") {
		o.Threshold = defaultThresholds[o.Metric]
	}
	f, err := raster.OpenCube(in)
	if err != nil {
		return err
	}
	defer f.Close()
	info := f.Info()
	cfg, err := cubePrepConfig(c)
	if err != nil {
		return err
	}
	if o.Metric == "distance" {
		if cfg.PCA = c.Int("components"); cfg.PCA < 1 {
			return fmt.Errorf("--components %d: want at least 1", cfg.PCA)
		}
	}
	prep, err := scenes.FitPrep(f, in, scenes.Rect{W: info.Width, H: info.Height}, cfg)
	if err != nil {
		return err
	}
	img, background, err := growFeatures(f, in, prep)
	if err != nil {
		return err
	}
	seeds, err := readSeeds(c, info.Grid(), in)
	if err != nil {
		return err
	}
	labels, regions, err := samples.Grow(img, seeds, o)
	if err != nil {
		return fmt.Errorf("samples grow: %v", err)
	}
	if err := writeLabels(out, info.Grid(), labels); err != nil {
		return err
	}
	overlay := c.String("overlay")
	if overlay == "" {
		overlay = strings.TrimSuffix(out, filepath.Ext(out)) + "_overlay.png"
	}
	if err := samples.Overlay(overlay, info.Width, info.Height, background, labels, seeds); err != nil {
		return err
	}
	reportGrowth(os.Stdout, o, regions, labels)
	fmt.Printf("wrote %s and %s\n", out, overlay)
	return nil
}

// maxGrowValues bounds the features held in memory (4 GiB of float32):
// growth visits pixels in any order, so the cube's features stay loaded.
const maxGrowValues = 1 << 30

// growFeatures loads the prepared cube as growth features, with a grey
// background for the review image: the first principal component, or the
// mean of the bands for the angle. Principal components are divided by
// the cube's standard deviation in them, the unit of the distance
// threshold.
func growFeatures(f *raster.File, path string, prep *scenes.Prep) (samples.Image, []float32, error) {
	info := f.Info()
	n, nb := info.Width*info.Height, prep.OutBands()
	if int64(n)*int64(nb) > maxGrowValues {
		return samples.Image{}, nil, fmt.Errorf("%s: %d×%d pixels of %d features are too many to grow in memory (max %d values); "+
			"crop the cube, or use --metric distance or fewer --bands", path, info.Width, info.Height, nb, maxGrowValues)
	}
	img := samples.Image{Width: info.Width, Height: info.Height, Dim: nb, Values: make([]float32, 0, n*nb), Valid: make([]bool, 0, n)}
	err := eachPrepared(f, prep, func(_, _ int, vals []float32, valid []bool) error {
		img.Values = append(img.Values, vals...)
		img.Valid = append(img.Valid, valid...)
		return nil
	})
	if err != nil {
		return samples.Image{}, nil, err
	}
	background := make([]float32, n)
	for p := range n {
		px := img.Values[p*nb : (p+1)*nb]
		if prep.PCA != nil {
			background[p] = px[0]
			continue
		}
		var s float64
		for _, v := range px {
			s += float64(v)
		}
		background[p] = float32(s / float64(nb))
	}
	if prep.PCA != nil {
		var total float64
		for _, v := range prep.PCA.ExplainedVariance {
			total += v
		}
		scale := float32(1 / math.Sqrt(total))
		for i := range img.Values {
			img.Values[i] *= scale
		}
	}
	return img, background, nil
}

func readSeeds(c *cli.Context, g raster.Grid, image string) ([]samples.Seed, error) {
	path := c.String("seeds")
	if raster.IsVector(path) {
		return samples.FromVector(path, c.String("layer"), c.String("class-field"), g, image)
	}
	info, data, err := raster.ReadAll(path)
	if err != nil {
		return nil, err
	}
	band := make([]float32, info.Width*info.Height)
	for p := range band {
		band[p] = data[p*info.Bands]
	}
	return samples.FromClassRaster(band, info.Grid(), info.NoData[0], path, g, image)
}

// writeLabels writes the grown classes in the smallest type that holds
// them, 0 (unlabelled) as nodata, as label rasters are read for training.
func writeLabels(path string, g raster.Grid, labels []int32) error {
	top := slices.Max(labels)
	dtype := "Byte"
	switch {
	case top > math.MaxUint16:
		dtype = "Int32"
	case top > math.MaxUint8:
		dtype = "UInt16"
	}
	w, err := raster.Create(path, g, 1, dtype, raster.NoData(0))
	if err != nil {
		return err
	}
	vals := make([]float32, len(labels))
	for i, v := range labels {
		vals[i] = float32(v)
	}
	if err := w.WriteWindow(0, 0, g.Width, g.Height, vals); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

// maxSeedLines bounds the per-seed report; classes are always summed.
const maxSeedLines = 20

func reportGrowth(w io.Writer, o samples.Options, regions []samples.Region, labels []int32) {
	fmt.Fprintf(w, "grew %d seeds by %s ≤ %g, %d-connected", len(regions), o.Metric, o.Threshold, o.Connectivity)
	if o.MaxSize > 0 {
		fmt.Fprintf(w, ", at most %d pixels each", o.MaxSize)
	}
	fmt.Fprintln(w)
	for i, r := range regions {
		if i == maxSeedLines {
			fmt.Fprintf(w, "  ... %d more seeds\n", len(regions)-i)
			break
		}
		full := ""
		if r.Full {
			full = " (reached --max-size)"
		}
		fmt.Fprintf(w, "  %s: class %d, grew from %d to %d pixels%s\n", r.Seed.Name, r.Seed.Class, len(r.Seed.Pixels), r.Size, full)
	}
	counts := map[int32]int{}
	for _, v := range labels {
		if v > 0 {
			counts[v]++
		}
	}
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		fmt.Fprintf(w, "class %d: %d pixels (%.1f%% of the image)\n", k, counts[k], 100*float64(counts[k])/float64(len(labels)))
	}
}
