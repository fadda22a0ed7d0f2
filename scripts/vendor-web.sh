#!/usr/bin/env bash
# Puts the pinned hls.js build into assets/web/vendor/ (gitignored, embedded
# into the binary by go:embed), from the npm registry with its checksum
# verified. Idempotent: does nothing when the pinned version is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

HLSJS_VERSION=1.5.20
HLSJS_SHA1=7eb23bb5e2595311d4e2761038ca6882673de7e2 # shasum of hls.js-1.5.20.tgz in the registry

dest=assets/web/vendor
if [ -f "$dest/hls.min.js" ] && [ "$(cat "$dest/hls.version" 2>/dev/null)" = "$HLSJS_VERSION" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "npm is missing: needed once to fetch hls.js $HLSJS_VERSION" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "hls.js@$HLSJS_VERSION" >/dev/null)
tgz="$tmp/hls.js-$HLSJS_VERSION.tgz"
echo "$HLSJS_SHA1  $tgz" | sha1sum -c --quiet -
tar -xzf "$tgz" -C "$tmp" package/dist/hls.min.js package/LICENSE
mkdir -p "$dest"
cp "$tmp/package/dist/hls.min.js" "$dest/hls.min.js"
cp "$tmp/package/LICENSE" "$dest/hls.LICENSE"
echo "$HLSJS_VERSION" > "$dest/hls.version"
echo "hls.js $HLSJS_VERSION → $dest/hls.min.js"
