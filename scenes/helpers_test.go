package scenes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The eo-learn Sentinel-2 patch and its land cover, as a raster and as
// polygons.
const (
	s2Scene   = "eolearn_s2/s2_l1c_scene0.tif"
	lulcTif   = "eolearn_s2/lulc.tif"
	lulcGpkg  = "eolearn_s2/lulc.gpkg"
	lulcField = "LULC_ID"
)

// shared returns a file of the project's shared data set (../shared/data
// from the repository root), skipping the test where it is absent.
func shared(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "shared", "data", filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared data %s not available (needs ../shared next to the repository): %v", rel, err)
	}
	return p
}

func wantErr(t *testing.T, err error, substrs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one mentioning %q", substrs)
	}
	for _, s := range substrs {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
}

func openScene(t *testing.T, cfg Config) *Scene {
	t.Helper()
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}
