package scenes

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tfrun/tfrun/raster"
)

// Every chip is a GeoTIFF valid on its own: the scene's geotransform
// moved to the chip's offset, the scene's CRS, the prepared pixels of that
// window, and class ids of the labels burnt from the GeoPackage.
func TestWriteTiles(t *testing.T) {
	img := shared(t, s2Scene)
	s := openScene(t, Config{Image: img, Labels: shared(t, lulcGpkg), Attr: lulcField, Window: 50, Stride: 50,
		PrepConfig: PrepConfig{Bands: BandList{2, 3, 4, 8}, Clip: []float64{1, 99}}, Split: Split{Validation: 0.25, Block: 50}})
	dir := t.TempDir()
	tiles, err := s.WriteTiles(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	in, scene, err := raster.ReadAll(img)
	if err != nil {
		t.Fatal(err)
	}
	_, lulc, err := raster.ReadAll(shared(t, lulcTif))
	if err != nil {
		t.Fatal(err)
	}
	gt := in.GeoTransform
	splits := map[string]int{}
	for _, tl := range tiles {
		splits[tl.Split]++
		ti, x, err := raster.ReadAll(filepath.Join(dir, tl.Image))
		if err != nil {
			t.Fatal(err)
		}
		want := [6]float64{gt[0] + float64(tl.Col)*gt[1], gt[1], 0, gt[3] + float64(tl.Row)*gt[5], 0, gt[5]}
		for k := range want {
			if math.Abs(ti.GeoTransform[k]-want[k]) > 1e-6 {
				t.Fatalf("%s: geotransform %v, want the scene's moved to column %d, row %d: %v", tl.Image, ti.GeoTransform, tl.Col, tl.Row, want)
			}
		}
		if same, err := raster.SameCRS(ti.Projection, in.Projection); err != nil || !same {
			t.Fatalf("%s: CRS differs from the scene's (%v)", tl.Image, err)
		}
		if ti.Width != 50 || ti.Height != 50 || ti.Bands != 4 || ti.DataType != "Float32" {
			t.Fatalf("%s: %d×%d×%d %s, want 50×50×4 Float32", tl.Image, ti.Width, ti.Height, ti.Bands, ti.DataType)
		}
		li, y, err := raster.ReadAll(filepath.Join(dir, tl.Label))
		if err != nil {
			t.Fatal(err)
		}
		if li.GeoTransform != ti.GeoTransform || li.NoData[0] == nil || *li.NoData[0] != TileIgnore {
			t.Fatalf("%s: geotransform %v and nodata %v, want the image tile's and %d", tl.Label, li.GeoTransform, li.NoData[0], TileIgnore)
		}
		labelled := 0
		for r := range 50 {
			for c := range 50 {
				i := (tl.Row+r)*in.Width + tl.Col + c
				px, _, err := s.Prep.Apply(scene[i*13:(i+1)*13], 1, 13)
				if err != nil {
					t.Fatal(err)
				}
				for b := range 4 {
					if x[(r*50+c)*4+b] != px[b] {
						t.Fatalf("%s: pixel (%d, %d) band %d = %g, want %g", tl.Image, c, r, b, x[(r*50+c)*4+b], px[b])
					}
				}
				wantY := float32(TileIgnore)
				if lulc[i] > 0 {
					wantY = lulc[i] - 1
					labelled++
				}
				if y[r*50+c] != wantY {
					t.Fatalf("%s: pixel (%d, %d) = %g, want %g (lulc.tif %g)", tl.Label, c, r, y[r*50+c], wantY, lulc[i])
				}
			}
		}
		if labelled != tl.Labelled {
			t.Errorf("%s: %d labelled pixels, the index says %d", tl.Label, labelled, tl.Labelled)
		}
	}
	if splits["train"] == 0 || splits["val"] == 0 || len(tiles) != len(s.Train)+len(s.Validation) {
		t.Errorf("tiles per split %v of %d chips", splits, len(s.Train)+len(s.Validation))
	}

	f, err := os.Open(filepath.Join(dir, "index.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(tiles)+1 || rows[0][0] != "split" || rows[1][1] != filepath.ToSlash(tiles[0].Image) || rows[1][9] != strconv.Itoa(tiles[0].Labelled) {
		t.Errorf("index.csv: %d rows, first %v", len(rows), rows[:2])
	}
	if _, err := os.Stat(filepath.Join(dir, "prep.yaml")); err != nil {
		t.Error(err)
	}
	_, err = s.WriteTiles(dir, nil)
	wantErr(t, err, dir, "already holds tiles")
}
