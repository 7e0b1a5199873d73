#!/usr/bin/env bash
# Installs libtensorflow, the TensorFlow C library that a tfrun built with
# -tags tensorflow links (the --engine tensorflow runtime), from Google's
# release tarball: version pinned, SHA-256 checked before anything is
# unpacked. The GPU build wants CUDA 12.2 and cuDNN 8.9 (Dockerfile.gpu's base).
#
#   scripts/install-libtensorflow.sh [gpu|cpu]      (PREFIX=/usr/local by default)
#
# Run as root, or with sudo. It is not part of scripts/setup.sh: CI only
# compile-checks the tensorflow build, with the headers of the Go module
# github.com/tensorflow/tensorflow.
set -euo pipefail

version=2.15.0
variant=${1:-gpu}
prefix=${PREFIX:-/usr/local}
# The checksums of Google's tarballs, as pinned by the TensorFlow Go
# bindings project github.com/wamuir/graft for the same files.
case "$variant" in
  gpu) sha256=adefd913b88c042b8561d5c888bf7a1ea87c64bf5b8f40dbd07469f30ce763ff ;;
  cpu) sha256=f0fd1eb5db9e4e0603f10aec289574d1decb54f73b675f0ce476fea1f05838c8 ;;
  *) echo "install-libtensorflow: want gpu or cpu, got $variant" >&2; exit 2 ;;
esac
file=libtensorflow-$variant-linux-x86_64-$version.tar.gz
url=https://storage.googleapis.com/tensorflow/libtensorflow/$file

stamp=$prefix/lib/.libtensorflow-version
if [ -e "$prefix/lib/libtensorflow.so.${version%%.*}" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$variant $version" ]; then
  echo "install-libtensorflow: $variant $version is already in $prefix" >&2
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "install-libtensorflow: downloading $url" >&2
curl -fsSL --retry 3 -o "$tmp/$file" "$url"
echo "$sha256  $tmp/$file" | sha256sum -c --quiet -
mkdir -p "$prefix"
tar -C "$prefix" -xzf "$tmp/$file"
echo "$variant $version" > "$stamp"
if [ "$prefix" = /usr/local ] || [ "$prefix" = /usr ]; then
  ldconfig
fi
echo "install-libtensorflow: installed libtensorflow $variant $version into $prefix" >&2
