#!/usr/bin/env bash
# CPU that one recorded room with one publisher costs `mosaic serve`, per
# media second, next to the bare GStreamer pipeline (../shared/bench) on the
# same clip. Whole-process CPU (user+sys) from /proc, measured while the
# publisher sends.
# Usage: scripts/bench/room-cpu.sh [CLIP_DIR]   (default: .cache/inputs, made by the tests)
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${1:-.cache/inputs}
bench=${MOSAIC_BENCH_DIR:-../shared/bench}
[ -s "$dir/p1.webm" ] || bash "$bench/make-inputs.sh" "$dir" 10 4 >/dev/null
bash scripts/build.sh
tmp=$(mktemp -d); trap 'kill $serve 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
port=$((20000 + RANDOM % 20000)); media=$((port + 1))
./bin/mosaic serve --listen 127.0.0.1:$port --media-port $media --data-dir "$tmp/data" --secret bench-secret-0123456789abcdef \
  --log-level warn > "$tmp/serve.log" 2>&1 &
serve=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
admin=$(./bin/mosaic token --secret bench-secret-0123456789abcdef --room '*' --role admin)
pub=$(./bin/mosaic token --secret bench-secret-0123456789abcdef --room bench --role publish)
curl -sf -H "Authorization: Bearer $admin" -d '{"name":"bench"}' "http://127.0.0.1:$port/api/rooms" >/dev/null
curl -sf -H "Authorization: Bearer $admin" -d '{}' "http://127.0.0.1:$port/api/rooms/bench/recordings" >/dev/null
sleep 2
cpu() { awk '{print $14+$15}' /proc/$serve/stat; }
tck=$(getconf CLK_TCK)
c0=$(cpu); t0=$(date +%s.%N)
./bin/mosaic publish --url "http://127.0.0.1:$port/rooms/bench/whip" --token "$pub" --file "$dir/p1.webm" >/dev/null 2>&1
c1=$(cpu); t1=$(date +%s.%N)
room=$(echo "($c1 - $c0) / $tck / ($t1 - $t0)" | bc -l)
/usr/bin/time -f "%U %S" -o "$tmp/bare.time" bash "$bench/bare-composite.sh" "$dir" 1 "$tmp/bare.mp4"
media=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$tmp/bare.mp4")
bare=$(awk -v m="$media" '{print ($1+$2)/m}' "$tmp/bare.time")
printf 'mosaic serve, 1 room, 1 publisher, recording: %.3f CPU-s per media-s\n' "$room"
printf 'bare-composite.sh N=1:                        %.3f CPU-s per media-s\n' "$bare"
printf 'ratio: %.2f\n' "$(echo "$room / $bare" | bc -l)"
