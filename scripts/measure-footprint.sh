#!/usr/bin/env bash
# The footprint figures of BENCHMARKS.md ("Footprint"): builds the release server and the
# release .deb (scripts/check-bundle.sh, which checks the package and starts the packaged
# app), then prints the binaries' sizes as built and stripped, the .deb's size, and the
# memory each program holds at idle: the server 10 s after `serve` on a demo county, the
# packaged app 10 s after it started under Xvfb on an empty data directory (the app's own
# process, and with the WebKit processes it started).
#
# Usage: measure-footprint.sh. Needs what scripts/install-deps.sh installs and ui/dist.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
start=$(date +%s)
cargo build --release --locked -p fieldcheck-server
echo "footprint: release server built in $(( $(date +%s) - start )) s"
bash scripts/check-bundle.sh
echo "footprint: release server and .deb built in $(( $(date +%s) - start )) s"

work=$(mktemp -d)
server=""
xvfb=""
app=""
stop() {
  set +e
  [ -n "$app" ] && pkill -P "$app" 2>/dev/null; [ -n "$app" ] && kill "$app" 2>/dev/null
  [ -n "$server" ] && kill "$server" 2>/dev/null
  [ -n "$xvfb" ] && kill "$xvfb" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap stop EXIT

# Sizes in MiB (2^20 bytes), the unit of the issue's goals (15 and 8) and of its 23.4.
mb() { awk -v b="$1" 'BEGIN { printf "%.2f MiB (%d bytes)", b / 1048576, b }'; }
size_of() {
  local bin=$1 name=$2
  strip -o "$work/$name.stripped" "$bin"
  echo "footprint: $name binary $(mb "$(stat -c %s "$bin")") as built, $(mb "$(stat -c %s "$work/$name.stripped")") stripped"
}
size_of "$target/release/fieldcheck-server" server
size_of "$target/release/fieldcheck-app" app
deb=$(ls -t "$target/release"/bundle/deb/*.deb | head -1)
echo "footprint: .deb $(mb "$(stat -c %s "$deb")") ($deb)"

# Resident memory (VmRSS) of a process and of it with its descendants, in MB.
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
tree_kb() {
  local total
  total=$(rss_kb "$1")
  for child in $(pgrep -P "$1"); do
    total=$(( total + $(tree_kb "$child") ))
  done
  echo "$total"
}

"$target/release/fieldcheck-server" --data-dir "$work/server" demo --empty >/dev/null
"$target/release/fieldcheck-server" --data-dir "$work/server" serve --listen 127.0.0.1:0 >/dev/null 2>&1 &
server=$!
sleep 10
echo "footprint: server at idle $(( $(rss_kb "$server") / 1000 )) MB resident"

display=99
while [ -e "/tmp/.X$display-lock" ]; do display=$((display + 1)); done
Xvfb ":$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
sleep 1
root="$work/deb"
dpkg-deb -x "$deb" "$root"
DISPLAY=":$display" FIELDCHECK_APP_DATA_DIR="$work/app" "$root/usr/bin/fieldcheck-app" >/dev/null 2>&1 &
app=$!
sleep 10
echo "footprint: app at idle $(( $(rss_kb "$app") / 1000 )) MB resident, $(( $(tree_kb "$app") / 1000 )) MB with its WebKit processes"
