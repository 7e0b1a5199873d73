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
CGO_ENABLED=0 go build ./...   # the pure-Go build must never break
go test -count=1 -timeout 25m ./...
