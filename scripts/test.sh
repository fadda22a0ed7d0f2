#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, vets, builds, and runs
# every package's tests against real Redis, S3, GStreamer and WebRTC peers.
# With arguments, they go to one `go test` run instead (e.g. -run X ./mixer).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
bash scripts/install-deps.sh
go vet ./...
bash scripts/build.sh
mkdir -p test-artifacts
log=test-artifacts/go-test.log
if [ $# -gt 0 ]; then
	go test -count=1 -timeout 30m "$@" 2>&1 | tee "$log"
	exit "${PIPESTATUS[0]}"
fi
# The live timing measurements (lip-sync within ±20 ms, no frame frozen over
# 200 ms) run last and alone: beside the other packages, which run two at a
# time with browsers and encoders, they would measure the CPU contention of
# the test machine rather than the mixer.
timing='^(TestLipSync|TestLipSyncUnderJitter|TestPublishersStartedTogetherStayTogether|TestJoinAndLeaveKeepOthersFlowing)$'
rc=0 # pipefail: a pipeline fails when go test does
go test -count=1 -timeout 30m -skip "$timing" ./... 2>&1 | tee "$log" || rc=1
go test -count=1 -timeout 10m -run "$timing" -v ./mixer 2>&1 | tee -a "$log" || rc=1
exit "$rc"
