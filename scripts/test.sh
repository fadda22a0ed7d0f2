#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, vets, builds, and runs
# every package's tests against real Redis, S3, GStreamer and WebRTC peers.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
bash scripts/install-deps.sh
go vet ./...
bash scripts/build.sh
mkdir -p test-artifacts
go test -count=1 -timeout 30m "$@" ./... 2>&1 | tee test-artifacts/go-test.log
exit "${PIPESTATUS[0]}"
