#!/usr/bin/env bash
# The test command: setup, static checks, then every package's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
go vet ./...
# The TensorFlow runtime build (-tags tensorflow) is type-checked against the
# C headers of the tensorflow module; linking it needs libtensorflow, which
# CI lacks (scripts/install-libtensorflow.sh, Dockerfile.gpu).
CGO_CFLAGS="-I$(go env GOMODCACHE)/github.com/tensorflow/tensorflow@v2.9.1+incompatible" go vet -tags tensorflow ./...
CGO_ENABLED=0 go build ./...   # the pure-Go build must never break
go test -count=1 -timeout 25m ./...
