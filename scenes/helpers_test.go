package scenes

import (
	"testing"

	"github.com/tfrun/tfrun/internal/testkit"
)

// The eo-learn Sentinel-2 patch and its land cover, as a raster and as
// polygons.
const (
	s2Scene   = "eolearn_s2/s2_l1c_scene0.tif"
	lulcTif   = "eolearn_s2/lulc.tif"
	lulcGpkg  = "eolearn_s2/lulc.gpkg"
	lulcField = "LULC_ID"
)

var (
	shared  = testkit.Shared
	wantErr = testkit.WantErr
)

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
