package augment

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// coords is an image whose two channels are each pixel's row and column
// and a mask whose label is row·w + col, so after a transform every pixel
// says where it came from, on both sides.
func coords(h, w int) ([]float32, []int32) {
	x := make([]float32, h*w*2)
	y := make([]int32, h*w)
	for r := range h {
		for c := range w {
			x[(r*w+c)*2], x[(r*w+c)*2+1] = float32(r), float32(c)
			y[r*w+c] = int32(r*w + c)
		}
	}
	return x, y
}

func newT(t *testing.T, cfg Config, h, w, c int) *Transformer {
	t.Helper()
	tr, err := New(cfg, h, w, c)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestZeroConfigChangesNothing(t *testing.T) {
	var cfg Config
	if cfg.Active() {
		t.Fatal("zero config is active")
	}
	x, y := coords(5, 7)
	x0, y0 := slices.Clone(x), slices.Clone(y)
	newT(t, cfg, 5, 7, 2).Apply(RNG(1, 0, 0), x, y)
	if !slices.Equal(x, x0) || !slices.Equal(y, y0) {
		t.Error("zero config changed the example")
	}
}

// Flips and quarter turns are exact pixel permutations, the same on image
// and mask, and over many draws all eight of them occur.
func TestFlipsAndRot90ArePermutations(t *testing.T) {
	const n = 6
	tr := newT(t, Config{HFlip: true, VFlip: true, Rot90: true}, n, n, 2)
	seen := map[[4]float32]bool{}
	for i := range 200 {
		x, y := coords(n, n)
		tr.Apply(RNG(7, 0, i), x, y)
		hit := make([]bool, n*n)
		for o := range y {
			r, c := x[2*o], x[2*o+1]
			if r != float32(int(r)) || c != float32(int(c)) {
				t.Fatalf("draw %d: pixel %d interpolated to (%g, %g)", i, o, r, c)
			}
			if y[o] != int32(r)*n+int32(c) {
				t.Fatalf("draw %d: pixel %d: image came from (%g, %g), mask from label %d", i, o, r, c, y[o])
			}
			hit[y[o]] = true
		}
		if slices.Contains(hit, false) {
			t.Fatalf("draw %d: not a permutation", i)
		}
		seen[[4]float32(x[:4])] = true
	}
	// Where the two top-left pixels come from identifies the element of
	// the square's symmetry group.
	if len(seen) != 8 {
		t.Errorf("saw %d of the 8 flips and turns", len(seen))
	}

	x, y := coords(3, 4)
	newT(t, Config{HFlip: true}, 3, 4, 2).warp(geometry{zr: 1, zc: 1, hflip: true}, x, y)
	if x[0] != 0 || x[1] != 3 || y[4] != 7 {
		t.Errorf("hflip: pixel (0,0) from (%g,%g), label at (1,0) %d; want (0,3) and 7", x[0], x[1], y[4])
	}
}

// A rotation by −90° through the interpolating path is a quarter turn, and
// half a turn maps each pixel onto its mirror through the true centre
// ((n−1)/2, not Keras' n/2 + 0.5, which would shift the grid by a pixel).
func TestRotationByRightAngles(t *testing.T) {
	const n = 9
	rng := rand.New(rand.NewPCG(1, 2))
	img := make([]float32, n*n*3)
	for i := range img {
		img[i] = rng.Float32()
	}
	_, mask := coords(n, n)
	tr := newT(t, Config{Rotation: 90, Rot90: true}, n, n, 3)
	x1, y1 := slices.Clone(img), slices.Clone(mask)
	tr.warp(geometry{zr: 1, zc: 1, theta: -math.Pi / 2}, x1, y1)
	x2, y2 := slices.Clone(img), slices.Clone(mask)
	tr.warp(geometry{zr: 1, zc: 1, quarter: 1}, x2, y2)
	if !slices.Equal(y1, y2) {
		t.Fatalf("mask: rotation %v, quarter turn %v", y1, y2)
	}
	for i := range x1 {
		if math.Abs(float64(x1[i]-x2[i])) > 1e-5 {
			t.Fatalf("value %d: rotation %g, quarter turn %g", i, x1[i], x2[i])
		}
	}
	if slices.Equal(y1, mask) {
		t.Fatal("the turn left the mask as it was")
	}

	const m = 8
	x, y := coords(m, m)
	newT(t, Config{Rotation: 180}, m, m, 2).warp(geometry{zr: 1, zc: 1, theta: math.Pi}, x, y)
	for o := range y {
		r, c := o/m, o%m
		if math.Abs(float64(x[2*o])-float64(m-1-r)) > 1e-5 || math.Abs(float64(x[2*o+1])-float64(m-1-c)) > 1e-5 || y[o] != int32((m-1-r)*m+m-1-c) {
			t.Fatalf("half turn: (%d,%d) from (%g,%g), label %d", r, c, x[2*o], x[2*o+1], y[o])
		}
	}
}

// On linear ramps bilinear sampling is exact, so each output pixel must
// hold the input position Keras' matrices give: centre + R·(Z·u + t),
// with u the output position about the centre.
func TestAffineMatchesKerasMatrices(t *testing.T) {
	const h, w = 21, 17
	g := geometry{theta: 0.3, zr: 0.8, zc: 1.15, tr: 1.5, tc: -2.25, hflip: true}
	x, y := coords(h, w)
	newT(t, Config{Rotation: 30, HFlip: true}, h, w, 2).warp(g, x, y)
	cr, cc := float64(h-1)/2, float64(w-1)/2
	sin, cos := math.Sincos(g.theta)
	inside := 0
	for r := range h {
		for c := range w {
			ur, uc := float64(r)-cr, -(float64(c) - cc) // hflip acts on the output
			vr, vc := g.zr*ur+g.tr, g.zc*uc+g.tc
			wantR, wantC := cr+cos*vr-sin*vc, cc+sin*vr+cos*vc
			if wantR < 0 || wantR > h-1 || wantC < 0 || wantC > w-1 {
				continue // the nearest fill repeats the edge: no longer linear
			}
			inside++
			o := r*w + c
			gotR, gotC := float64(x[2*o]), float64(x[2*o+1])
			if math.Abs(gotR-wantR) > 1e-3 || math.Abs(gotC-wantC) > 1e-3 {
				t.Fatalf("pixel (%d,%d) came from (%.4f,%.4f), want (%.4f,%.4f)", r, c, gotR, gotC, wantR, wantC)
			}
			// The mask's nearest neighbour is the rounded position.
			mr, mc := float64(y[o]/w), float64(y[o]%w)
			if math.Abs(mr-wantR) > 0.5+1e-6 || math.Abs(mc-wantC) > 0.5+1e-6 {
				t.Fatalf("pixel (%d,%d): mask from (%g,%g), image from (%.3f,%.3f)", r, c, mr, mc, wantR, wantC)
			}
		}
	}
	if inside < h*w/2 {
		t.Fatalf("only %d of %d pixels inside", inside, h*w)
	}
}

// A shift by three columns uncovers three columns, filled per mode.
func TestFillModes(t *testing.T) {
	const h, w = 2, 6
	for _, tc := range []struct {
		fill      string
		img, mask []float32
	}{
		{"nearest", []float32{3, 4, 5, 5, 5, 5}, []float32{3, 4, 5, 5, 5, 5}},
		{"reflect", []float32{3, 4, 5, 5, 4, 3}, []float32{3, 4, 5, 5, 4, 3}},
		{"wrap", []float32{3, 4, 5, 0, 1, 2}, []float32{3, 4, 5, 0, 1, 2}},
		{"constant", []float32{3, 4, 5, -1, -1, -1}, []float32{3, 4, 5, 0, 0, 0}},
	} {
		cfg := Config{Shift: 0.5, Fill: tc.fill}
		if tc.fill == "constant" {
			cfg.FillValue = -1
		}
		x := make([]float32, h*w)
		y := make([]int32, h*w)
		for i := range x {
			x[i], y[i] = float32(i%w), int32(i%w)
		}
		newT(t, cfg, h, w, 1).warp(geometry{zr: 1, zc: 1, tc: 3}, x, y)
		for c := range w {
			if x[w+c] != tc.img[c] || float32(y[w+c]) != tc.mask[c] {
				t.Errorf("%s: column %d: image %g mask %d, want %g and %g", tc.fill, c, x[w+c], y[w+c], tc.img[c], tc.mask[c])
			}
		}
	}
}

// Keras zooms out for factors above 1: at zoom 2 the corners come from
// outside the image and the centre stays.
func TestZoomOut(t *testing.T) {
	const n = 9
	x, y := coords(n, n)
	for i := range y {
		y[i] = 1
	}
	newT(t, Config{Zoom: Range{2, 2}, Fill: "constant", FillValue: -5}, n, n, 2).Apply(RNG(0, 0, 0), x, y)
	if x[0] != -5 || y[0] != 0 {
		t.Errorf("corner: image %g mask %d, want the fill -5 and 0", x[0], y[0])
	}
	mid := (n/2)*n + n/2
	if x[2*mid] != n/2 || x[2*mid+1] != n/2 || y[mid] != 1 {
		t.Errorf("centre moved: (%g,%g) label %d", x[2*mid], x[2*mid+1], y[mid])
	}
	if x[2*(n+1)] != -5 || x[2*(2*n+2)] != 0 {
		t.Errorf("pixel (1,1) %g and (2,2) %g: want fill, then input (0,0)", x[2*(n+1)], x[2*(2*n+2)])
	}
}

func TestPhotometricTouchesImageOnly(t *testing.T) {
	const h, w, c = 32, 32, 3
	rng := rand.New(rand.NewPCG(3, 4))
	img := make([]float32, h*w*c)
	for i := range img {
		img[i] = 0.2 + 0.6*rng.Float32()
	}
	_, mask := coords(h, w)
	mean := func(x []float32, ch int) float64 {
		var s float64
		for i := ch; i < len(x); i += c {
			s += float64(x[i])
		}
		return s / (h * w)
	}

	x, y := slices.Clone(img), slices.Clone(mask)
	newT(t, Config{Contrast: Range{0.5, 0.5}}, h, w, c).Apply(RNG(1, 0, 0), x, y)
	for ch := range c {
		if d := mean(x, ch) - mean(img, ch); math.Abs(d) > 1e-5 {
			t.Errorf("contrast moved channel %d's mean by %g", ch, d)
		}
	}
	if got, want := x[0]-float32(mean(img, 0)), 0.5*(img[0]-float32(mean(img, 0))); math.Abs(float64(got-want)) > 1e-5 {
		t.Errorf("contrast 0.5: deviation %g, want %g", got, want)
	}

	x = slices.Clone(img)
	newT(t, Config{Brightness: Range{0.5, 1.5}}, h, w, c).Apply(RNG(1, 0, 0), x, y)
	f := x[0] / img[0]
	if f < 0.5 || f > 1.5 || f == 1 {
		t.Fatalf("brightness factor %g", f)
	}
	for i := range x {
		if math.Abs(float64(x[i]-f*img[i])) > 1e-5 {
			t.Fatalf("brightness: value %d scaled by %g, not %g", i, x[i]/img[i], f)
		}
	}

	x = slices.Clone(img)
	newT(t, Config{Noise: 0.05}, h, w, c).Apply(RNG(1, 0, 0), x, y)
	var ss float64
	for i := range x {
		d := float64(x[i] - img[i])
		ss += d * d
	}
	if sd := math.Sqrt(ss / float64(len(x))); sd < 0.045 || sd > 0.055 {
		t.Errorf("noise standard deviation %g, want 0.05", sd)
	}
	if !slices.Equal(y, mask) {
		t.Error("photometric transforms changed the mask")
	}
}

func TestDrawsStayInRangeAndRepeat(t *testing.T) {
	cfg := Config{Rotation: 20, Zoom: Range{0.9, 1.1}, Shift: 0.1, HFlip: true}
	tr := newT(t, cfg, 50, 40, 1)
	var maxTheta float64
	independent := false
	for i := range 500 {
		g := tr.draw(RNG(5, 2, i))
		maxTheta = max(maxTheta, math.Abs(g.theta))
		if math.Abs(g.theta) > 20*math.Pi/180 || g.zr < 0.9 || g.zr > 1.1 || g.zc < 0.9 || g.zc > 1.1 ||
			math.Abs(g.tr) > 5 || math.Abs(g.tc) > 4 {
			t.Fatalf("draw %d out of range: %+v", i, g)
		}
		independent = independent || g.zr != g.zc
	}
	if maxTheta < 19*math.Pi/180 {
		t.Errorf("largest angle %g rad over 500 draws: range not used", maxTheta)
	}
	if !independent {
		t.Error("zoom factors equal on both axes every time; Keras draws them independently")
	}

	run := func(seed uint64, epoch, index int) []float32 {
		x, y := coords(50, 40)
		tr2 := newT(t, Config{Rotation: 20, Zoom: Range{0.9, 1.1}, Shift: 0.1, HFlip: true}, 50, 40, 2)
		tr2.Apply(RNG(seed, epoch, index), x, y)
		return x
	}
	a := run(1, 0, 3)
	if !slices.Equal(a, run(1, 0, 3)) {
		t.Error("same seed, epoch and index gave different results")
	}
	for _, other := range [][]float32{run(2, 0, 3), run(1, 1, 3), run(1, 0, 4)} {
		if slices.Equal(a, other) {
			t.Error("a different seed, epoch or index gave the same result")
		}
	}
}

func TestConfigYAMLAndValidation(t *testing.T) {
	var doc struct {
		Augment Config `yaml:"augment"`
	}
	dec := yaml.NewDecoder(strings.NewReader("augment: {hflip: true, rotation: 20, zoom: 0.1, brightness: [0.8, 1.2], fill: reflect}"))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	c := doc.Augment
	if !c.HFlip || c.Rotation != 20 || c.Zoom != (Range{0.9, 1.1}) || c.Brightness != (Range{0.8, 1.2}) || c.Fill != "reflect" || c.Contrast.on() {
		t.Errorf("decoded %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	out, err := yaml.Marshal(doc)
	if err != nil || !strings.Contains(string(out), "zoom:") || strings.Contains(string(out), "contrast") {
		t.Errorf("marshalled %q, %v", out, err)
	}

	dec = yaml.NewDecoder(strings.NewReader("augment: {flip: true}"))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err == nil {
		t.Error("unknown key accepted")
	}
	if err := yaml.Unmarshal([]byte("augment: {zoom: [1, 2, 3]}"), &doc); err == nil {
		t.Error("three-number zoom accepted")
	}

	for _, bad := range []struct {
		cfg  Config
		want string
	}{
		{Config{Rotation: -1}, "rotation"},
		{Config{Shift: 1.5}, "shift"},
		{Config{Noise: -0.1}, "noise"},
		{Config{Zoom: Range{1.2, 0.8}}, "zoom"},
		{Config{Zoom: Range{0, 1.1}}, "zoom"},
		{Config{Fill: "mirror"}, "mirror"},
		{Config{FillValue: 1}, "fill_value"},
	} {
		if err := bad.cfg.Validate(); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%+v: error %v, want one about %s", bad.cfg, err, bad.want)
		}
	}
	if _, err := New(Config{Rot90: true}, 4, 5, 3); err == nil || !strings.Contains(err.Error(), "square") {
		t.Errorf("rot90 on 4×5: %v", err)
	}
}
