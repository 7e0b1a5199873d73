package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/tfrun/tfrun/config"
	"github.com/tfrun/tfrun/scenes"
	"github.com/urfave/cli/v2"
)

func tileCommand() *cli.Command {
	return &cli.Command{
		Name:      "tile",
		Usage:     "cut a scene and its labels into georeferenced GeoTIFF chips for training and validation",
		UsageText: "tfrun tile --image SCENE.tif --labels LABELS.tif|LABELS.gpkg [--attr FIELD] --size 256 --stride 128 --out DIR [--bands 1-4] [--scale 10000 | --clip 0.01,99.99] [--remap 3:1,7:0] [--val-fraction 0.2 --block 512]\n   tfrun tile --config RUN.yaml --out DIR   (the config's data.scene)",
		Description: "Writes DIR/train and DIR/val, each with images/ (Float32, the prepared bands) and labels/ (Byte class ids, 255 = ignored: " +
			"label 0, values that are not classes, and image nodata) under the same names, each chip a GeoTIFF with its own geotransform and CRS; " +
			"DIR/prep.yaml (the fitted preprocessing and classes) and DIR/index.csv (split, files, pixel offset, bounds, labelled pixels). " +
			"Vector labels are rasterized onto the scene's grid (reprojected when their CRS differs); raster labels on another grid are warped by nearest neighbour. " +
			"Chips that straddle training and validation blocks are dropped, so overlapping chips never leak across the split.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Aliases: []string{"o"}, Usage: "output folder (must not hold tiles already)", Required: true},
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "take the scene from this run config's data.scene instead of the flags below"},
			&cli.StringSliceFlag{Name: "set", Usage: "override a config key, e.g. --set data.scene.window=128 (with --config)"},
			&cli.StringFlag{Name: "image", Usage: "scene raster (GeoTIFF, ENVI .img with its .hdr, any GDAL raster)"},
			&cli.StringFlag{Name: "labels", Usage: "label raster, or vector file (GeoPackage, GeoJSON, Shapefile)"},
			&cli.StringFlag{Name: "layer", Usage: "vector layer (default: the only one)"},
			&cli.StringFlag{Name: "attr", Usage: "vector attribute burnt as the label value (default: 1 inside features)"},
			&cli.IntFlag{Name: "size", Value: 256, Usage: "chip side in pixels"},
			&cli.IntFlag{Name: "stride", Usage: "step between chips (default: --size)"},
			&cli.StringFlag{Name: "bands", Usage: "1-based bands to use, e.g. 1-4,8 (default: all)"},
			&cli.StringFlag{Name: "bad-bands", Usage: "1-based bands to drop, e.g. 1-4,104-113"},
			&cli.Float64Flag{Name: "gain", Usage: "multiply stored values by this first (physical = gain·v + offset)"},
			&cli.Float64Flag{Name: "offset", Usage: "add this after the gain"},
			&cli.IntFlag{Name: "pca", Usage: "keep this many principal components, fitted on the training region"},
			&cli.StringFlag{Name: "clip", Usage: "clip each band to these percentiles of valid pixels, e.g. 0.01,99.99"},
			&cli.Float64Flag{Name: "scale", Usage: "divide by this after clipping (the course's 10000)"},
			&cli.StringFlag{Name: "nodata", Usage: "image nodata value for every band (default: the file's)"},
			&cli.StringFlag{Name: "remap", Usage: "change label values first, the course's changelabel, e.g. 3:1,7:0"},
			&cli.StringFlag{Name: "classes", Usage: "label values that are classes, with names, e.g. 0:background,255:building (default: 1..max, 0 ignored)"},
			&cli.StringFlag{Name: "cols", Usage: "column range first,end of the region to tile, e.g. 0,450"},
			&cli.StringFlag{Name: "rows", Usage: "row range first,end of the region to tile"},
			&cli.Float64Flag{Name: "val-fraction", Usage: "fraction of blocks held out for validation"},
			&cli.IntFlag{Name: "block", Usage: "side of the split's blocks in pixels (default: --size)"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the block draw"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress bar"},
		},
		Action: runTile,
	}
}

func runTile(c *cli.Context) error {
	cfg, err := tileConfig(c)
	if err != nil {
		return err
	}
	s, err := scenes.Open(cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	var progress func(done, total int)
	if !c.Bool("quiet") {
		var bar *progressbar.ProgressBar
		progress = func(done, total int) {
			if bar == nil {
				bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetDescription("tiles"),
					progressbar.OptionShowCount(), progressbar.OptionOnCompletion(func() { fmt.Fprintln(os.Stderr) }))
			}
			bar.Set(done)
		}
	}
	out := c.String("out")
	tiles, err := s.WriteTiles(out, progress)
	if err != nil {
		return err
	}
	nVal := 0
	for _, t := range tiles {
		if t.Split == "val" {
			nVal++
		}
	}
	fmt.Printf("%d training and %d validation chips of %d×%d×%d (%d dropped across the split) in %s\n",
		len(tiles)-nVal, nVal, s.Tiling.Size, s.Tiling.Size, s.Prep.OutBands(), s.Dropped, out)
	fmt.Println(sceneClasses(s))
	return nil
}

// tileConfig is the scene from --config or from the flags.
func tileConfig(c *cli.Context) (scenes.Config, error) {
	if path := c.String("config"); path != "" {
		for _, f := range []string{"image", "labels", "layer", "attr", "bands", "bad-bands", "clip", "scale", "remap", "classes", "cols", "rows", "val-fraction", "block"} {
			if c.IsSet(f) {
				return scenes.Config{}, fmt.Errorf("config %s: give the scene in the config or as flags, not both (--%s; use --set data.scene.KEY=VALUE)", path, f)
			}
		}
		run, err := config.Load(path, c.StringSlice("set"))
		if err != nil {
			return scenes.Config{}, err
		}
		if run.Data.Scene == nil {
			return scenes.Config{}, fmt.Errorf("config %s: has no data.scene", path)
		}
		return *run.Data.Scene, nil
	}
	if c.String("image") == "" || c.String("labels") == "" {
		return scenes.Config{}, fmt.Errorf("tile: give --image and --labels (or --config)")
	}
	cfg := scenes.Config{Image: c.String("image"), Labels: c.String("labels"), Layer: c.String("layer"), Attr: c.String("attr"),
		Window: c.Int("size"), Stride: c.Int("stride"),
		Split: scenes.Split{Validation: c.Float64("val-fraction"), Block: c.Int("block")}}
	cfg.Gain, cfg.Offset, cfg.PCA, cfg.Scale = c.Float64("gain"), c.Float64("offset"), c.Int("pca"), c.Float64("scale")
	cfg.Seed = c.Uint64("seed")
	var err error
	for _, b := range []struct {
		flag string
		dst  *scenes.BandList
	}{{"bands", &cfg.Bands}, {"bad-bands", &cfg.BadBands}} {
		if *b.dst, err = scenes.ParseBands(c.String(b.flag)); err != nil {
			return cfg, fmt.Errorf("--%s: %v", b.flag, err)
		}
	}
	if cfg.Clip, err = numbers(c, "clip", 2, strconv.ParseFloat); err != nil {
		return cfg, err
	}
	if cfg.Region.Cols, err = numbers(c, "cols", 2, parseInt); err != nil {
		return cfg, err
	}
	if cfg.Region.Rows, err = numbers(c, "rows", 2, parseInt); err != nil {
		return cfg, err
	}
	if c.IsSet("nodata") {
		v, err := strconv.ParseFloat(c.String("nodata"), 64)
		if err != nil {
			return cfg, fmt.Errorf("--nodata %q: not a number", c.String("nodata"))
		}
		cfg.NoData = &v
	}
	if cfg.Remap, err = pairs(c, "remap", parseInt); err != nil {
		return cfg, err
	}
	cfg.Classes, err = pairs(c, "classes", func(s string, _ int) (string, error) { return s, nil })
	return cfg, err
}

func parseInt(s string, _ int) (int, error) { return strconv.Atoi(s) }

// numbers reads a flag of n comma-separated numbers ("" gives none).
func numbers[T any](c *cli.Context, flag string, n int, parse func(string, int) (T, error)) ([]T, error) {
	s := c.String(flag)
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) != n {
		return nil, fmt.Errorf("--%s %q: want %d comma-separated numbers", flag, s, n)
	}
	out := make([]T, n)
	for i, p := range parts {
		v, err := parse(strings.TrimSpace(p), 64)
		if err != nil {
			return nil, fmt.Errorf("--%s %q: %q is not a number", flag, s, p)
		}
		out[i] = v
	}
	return out, nil
}

// pairs reads a flag of key:value pairs with integer keys, "3:1,7:0".
func pairs[T any](c *cli.Context, flag string, parse func(string, int) (T, error)) (map[int]T, error) {
	s := c.String(flag)
	if s == "" {
		return nil, nil
	}
	out := map[int]T{}
	for p := range strings.SplitSeq(s, ",") {
		k, v, ok := strings.Cut(p, ":")
		key, err := strconv.Atoi(strings.TrimSpace(k))
		if !ok || err != nil {
			return nil, fmt.Errorf("--%s %q: %q is not value:target", flag, s, p)
		}
		if out[key], err = parse(strings.TrimSpace(v), 64); err != nil {
			return nil, fmt.Errorf("--%s %q: %q is not value:target", flag, s, p)
		}
	}
	return out, nil
}
