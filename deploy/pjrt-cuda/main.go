// Command pjrt-cuda installs the CUDA PJRT plugin that tfrun's xla engine
// drives, with the NVIDIA libraries it loads from ../nvidia beside itself,
// from the JAX team's wheels on PyPI: a pinned JAX version, each file's
// SHA-256 checked against PyPI's record and the publisher checked, by
// go-xla's own installer (the version tfrun links). Dockerfile.gpu runs it
// at image build time; tfrun itself never downloads plugins.
//
//	go run ./deploy/pjrt-cuda -jax 0.8.3 -dir /opt/go-xla
//	→ /opt/go-xla/nvidia/pjrt_c_api_cuda_plugin.so
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/gomlx/go-xla/pkg/installer"
)

func main() {
	jax := flag.String("jax", "", "JAX version whose jax-cuda12-pjrt wheel to install (required, e.g. 0.8.3)")
	dir := flag.String("dir", "/opt/go-xla", "install folder; the plugin goes into its nvidia/ subfolder")
	flag.Parse()
	if *jax == "" || *jax == "latest" {
		fmt.Fprintln(os.Stderr, "pjrt-cuda: give -jax with an exact version, so that images are reproducible")
		os.Exit(2)
	}
	if err := installer.CudaInstall("cuda12", *jax, *dir, false, installer.Quiet); err != nil {
		fmt.Fprintln(os.Stderr, "pjrt-cuda:", err)
		os.Exit(1)
	}
}
