#!/usr/bin/env bash
# Installs what Mosaic needs on Debian 12, only what is missing. Idempotent.
set -euo pipefail

pkgs=(
  # build
  pkg-config gcc git ca-certificates
  libglib2.0-dev libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  libvpx-dev libopus-dev libx264-dev
  # runtime: GStreamer and the plugin sets the mixer, recorder and live outputs use
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-nice
  gstreamer1.0-x fonts-dejavu-core
  # services and checks
  redis-server ffmpeg chromium
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# The watch page's pinned hls.js comes from the npm registry
# (scripts/vendor-web.sh): Debian's npm only where no npm is on the PATH
# (a Node.js install of its own brings one).
command -v npm >/dev/null || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

command -v go >/dev/null || { echo "Go is missing: install Go 1.26+ (https://go.dev/dl) and put it on PATH" >&2; exit 1; }

"$(dirname "$0")/vendor-web.sh"
