#!/usr/bin/env bash
# Installs what is missing, builds mosaic and runs `mosaic serve` on embedded
# defaults (Redis child, embedded S3, in-process worker, data in ./data).
# Extra arguments go to `mosaic serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
exec ./bin/mosaic serve "$@"
