#!/usr/bin/env bash
# Builds the one binary into bin/mosaic.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
mkdir -p bin
bash scripts/vendor-web.sh # hls.js for the watch page, embedded below
version=$(git describe --always --dirty 2>/dev/null || echo dev)
go build -ldflags "-X main.version=$version" -o bin/mosaic ./cmd/mosaic
