package scenes

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/tfrun/tfrun/raster"
	"gopkg.in/yaml.v3"
)

const jasper = "jasper_ridge/jasper_ridge.img"

// jasperRaw reads band b (1-based) of the Jasper Ridge cube straight from
// the ENVI file (BSQ, little-endian uint16, 100×100), bypassing GDAL.
func jasperRaw(t *testing.T, path string, b int) []float64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const n = 100 * 100
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(binary.LittleEndian.Uint16(data[2*((b-1)*n+i):]))
	}
	return out
}

// sortPercentile is the reference: numpy.percentile's default ("linear")
// on the full column, sorted.
func sortPercentile(col []float64, q float64) float64 {
	s := slices.Clone(col)
	sort.Float64s(s)
	h := (float64(len(s)) - 1) * q / 100
	lo := math.Floor(h)
	if int(lo)+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[int(lo)] + (h-lo)*(s[int(lo)+1]-s[int(lo)])
}

func fitJasper(t *testing.T, cfg PrepConfig) (*Prep, string) {
	t.Helper()
	path := shared(t, jasper)
	f, err := raster.OpenCube(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := FitPrep(f, path, Rect{0, 0, 100, 100}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p, path
}

// applyAll prepares every pixel of the 100×100 cube.
func applyAll(t *testing.T, p *Prep, path string) ([]float32, []bool) {
	t.Helper()
	in, all, err := raster.ReadAll(path)
	if err != nil {
		t.Fatal(err)
	}
	out, valid, err := p.Apply(all, 100*100, in.Bands)
	if err != nil {
		t.Fatal(err)
	}
	return out, valid
}

// The fitted clip bounds are the percentiles of every valid pixel (the
// 100×100 cube is under the sample cap), and Apply reads ENVI bands by
// their 1-based numbers.
func TestClipMatchesSortedPercentiles(t *testing.T) {
	bands, err := ParseBands("1-4, 100, 198")
	if err != nil {
		t.Fatal(err)
	}
	p, path := fitJasper(t, PrepConfig{Bands: bands, BadBands: BandList{3}, Clip: []float64{0.01, 99.99}, Scale: 10000})
	if want := []int{1, 2, 4, 100, 198}; !slices.Equal(p.Bands, want) {
		t.Fatalf("bands %v, want %v", p.Bands, want)
	}
	if p.InBands() != 198 || p.OutBands() != 5 {
		t.Fatalf("in %d, out %d bands; want 198, 5", p.InBands(), p.OutBands())
	}
	for k, b := range p.Bands {
		col := jasperRaw(t, path, b)
		lo, hi := sortPercentile(col, 0.01), sortPercentile(col, 99.99)
		if math.Abs(float64(p.Clip.Low[k])-lo) > 1e-3 || math.Abs(float64(p.Clip.High[k])-hi) > 1e-3 {
			t.Errorf("band %d: clip [%g, %g], sorted percentiles [%g, %g]", b, p.Clip.Low[k], p.Clip.High[k], lo, hi)
		}
		if lo == hi {
			t.Errorf("band %d: degenerate percentiles %g", b, lo)
		}
	}

	out, valid := applyAll(t, p, path)
	clipped := 0
	for k, b := range p.Bands {
		col := jasperRaw(t, path, b)
		for i, v := range col {
			want := math.Min(math.Max(v, float64(p.Clip.Low[k])), float64(p.Clip.High[k])) / 10000
			if got := float64(out[i*5+k]); math.Abs(got-want) > 1e-6 || !valid[i] {
				t.Fatalf("band %d pixel %d: got %g (valid %v), want %g", b, i, got, valid[i], want)
			}
			if v < float64(p.Clip.Low[k]) || v > float64(p.Clip.High[k]) {
				clipped++
			}
		}
	}
	// Rank 0.9999 of 10,000 sorted values lies between the two smallest,
	// so at most the smallest (and likewise the largest) value is clipped:
	// none when the two are equal.
	if clipped < 1 || clipped > 10 {
		t.Errorf("%d values clipped over 5 bands, want 1 to 10", clipped)
	}
}

func TestNoDataIsInvalid(t *testing.T) {
	path := shared(t, jasper)
	col := jasperRaw(t, path, 7)
	nd := col[4242]
	p, _ := fitJasper(t, PrepConfig{Bands: BandList{7, 8}, NoData: &nd})
	out, valid := applyAll(t, p, path)
	col8 := jasperRaw(t, path, 8)
	invalid := 0
	for i := range col {
		isND := col[i] == nd || col8[i] == nd
		if valid[i] == isND {
			t.Fatalf("pixel %d: bands 7, 8 = %g, %g with nodata %g: valid %v", i, col[i], col8[i], nd, valid[i])
		}
		if !valid[i] {
			invalid++
			if out[2*i] != 0 || out[2*i+1] != 0 {
				t.Fatalf("invalid pixel %d gives %v, want zeros", i, out[2*i:2*i+2])
			}
		}
	}
	if invalid == 0 {
		t.Fatal("no pixel equals the nodata value taken from the cube")
	}
}

func TestWrongBandCount(t *testing.T) {
	p, _ := fitJasper(t, PrepConfig{Bands: BandList{1, 2}})
	wantErr(t, p.CheckBands("scene0.tif", 13), "scene0.tif", "13 bands", "198-band", "jasper_ridge.img")
	_, _, err := p.Apply(make([]float32, 13*4), 4, 13)
	wantErr(t, err, "13 input bands", "198")
	if err := p.CheckBands("cube.tif", 198); err != nil {
		t.Errorf("198 bands: %v", err)
	}
}

func TestBadBandLists(t *testing.T) {
	for _, c := range []struct {
		bands, bad BandList
		want       string
	}{
		{BandList{1, 199}, nil, "band 199 does not exist"},
		{BandList{2, 2}, nil, "listed twice"},
		{BandList{1, 2}, BandList{1, 2}, "removes every"},
	} {
		path := shared(t, jasper)
		f, err := raster.OpenCube(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = FitPrep(f, path, Rect{0, 0, 100, 100}, PrepConfig{Bands: c.bands, BadBands: c.bad})
		f.Close()
		wantErr(t, err, c.want, path)
	}
	if _, err := ParseBands("1-3,x"); err == nil {
		t.Error("ParseBands accepted x")
	}
}

func TestMissingENVIHeader(t *testing.T) {
	src := shared(t, jasper)
	dir := t.TempDir()
	body := filepath.Join(dir, "cube.img")
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(body, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Open(Config{Image: body, Labels: shared(t, "jasper_ridge/labels.tif"), Window: 16})
	wantErr(t, err, body, "no ENVI header", "cube.hdr")

	// With its header beside it, the same body opens.
	hdr, err := os.ReadFile(filepath.Join(filepath.Dir(src), "jasper_ridge.hdr"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cube.hdr"), hdr, 0o644); err != nil {
		t.Fatal(err)
	}
	openScene(t, Config{Image: body, Labels: shared(t, "jasper_ridge/labels.tif"), Window: 16})
}

func TestPrepYAMLRoundTrip(t *testing.T) {
	p, _ := fitJasper(t, PrepConfig{Bands: BandList{5, 9}, PCA: 2, Clip: []float64{1, 99}, Scale: 10})
	b, err := yaml.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Prep
	if err := yaml.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	px := make([]float32, 198*3)
	for i := range px {
		px[i] = float32(i % 1000)
	}
	want, _, _ := p.Apply(px, 3, 198)
	got, _, err := back.Apply(px, 3, 198)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("reloaded Apply %v (%v), want %v", got, err, want)
	}
	p.Clip.High = p.Clip.High[:1]
	b, _ = yaml.Marshal(p)
	wantErr(t, yaml.Unmarshal(b, &back), "clip has 2 low and 1 high")
}
