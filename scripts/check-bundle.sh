#!/usr/bin/env bash
# Packages the tablet app as a .deb, through the Tauri CLI that ui/package.json pins, and
# checks it: the package's dependencies, the binary, its desktop entry and icon; then unpacks
# it and starts the packaged binary under Xvfb with an empty data directory, which must come
# up, create its database and stay up. Needs ui/dist (npm run build) and the system packages
# of scripts/install-deps.sh. Prints the .deb's path and size.
#
# Usage: check-bundle.sh [--debug].
#   without it: `tauri build` makes the release .deb users install (10-20 minutes from nothing
#               on 2 cores);
#   --debug:    `tauri bundle` packages the debug binary that `cargo test --workspace` built
#               and the end-to-end test drove (what scripts/test.sh runs): no second build.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
fail() { echo "check-bundle: $*" >&2; exit 1; }

start=$(date +%s)
if [ "${1:-}" = "--debug" ]; then
  profile=debug
  [ -x "$target/debug/fieldcheck-app" ] \
    || fail "$target/debug/fieldcheck-app is missing: run cargo test --workspace --no-run first"
  rm -f "$target/debug"/bundle/deb/*.deb
  ui/node_modules/.bin/tauri bundle --debug --bundles deb --ci
else
  profile=release
  rm -f "$target/release"/bundle/deb/*.deb
  ui/node_modules/.bin/tauri build --bundles deb --ci
fi
echo "check-bundle: the $profile .deb took $(( $(date +%s) - start )) s"

deb=$(ls -t "$target/$profile"/bundle/deb/*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "no .deb under $target/$profile/bundle/deb"
depends=$(dpkg-deb -f "$deb" Depends)
for dep in libwebkit2gtk-4.1-0 libgtk-3-0; do
  grep -q "$dep" <<<"$depends" || fail "$deb does not depend on $dep (Depends: $depends)"
done
contents=$(dpkg-deb -c "$deb")
for path in usr/bin/fieldcheck-app usr/share/applications/Fieldcheck.desktop \
  usr/share/icons/hicolor/128x128/apps/fieldcheck-app.png; do
  grep -Eq " (\./)?$path\$" <<<"$contents" || fail "$deb lacks $path"
done

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg-deb -x "$deb" "$root"
bin="$root/usr/bin/fieldcheck-app"
if [ "$profile" = debug ]; then
  # The bundler marks its copy with the bundle type (the marker __TAURI_BUNDLE_TYPE_VAR_UNK
  # becomes ..._DEB, for the updater); apart from that it is the binary the tests drove.
  perl -0777 -pe 's/__TAURI_BUNDLE_TYPE_VAR_UNK/__TAURI_BUNDLE_TYPE_VAR_DEB/' \
    <"$target/debug/fieldcheck-app" >"$root/tested-app"
  cmp -s "$bin" "$root/tested-app" \
    || fail "the packaged binary is not the one the tests built ($target/debug/fieldcheck-app)"
fi
if ldd "$bin" | grep -q 'not found'; then
  fail "the packaged binary misses libraries: $(ldd "$bin" | grep 'not found')"
fi
# `--version` names the version and the commit, with no display.
version=$("$bin" --version) || fail "fieldcheck-app --version failed"
grep -Eq '^fieldcheck-app [0-9]+\.[0-9]+\.[0-9]+ \(([0-9a-f]{7,}|unknown)\)$' <<<"$version" \
  || fail "fieldcheck-app --version printed \"$version\""
echo "check-bundle: $version"
grep -q '^Exec=fieldcheck-app' "$root/usr/share/applications/Fieldcheck.desktop" \
  || fail "the desktop entry does not start fieldcheck-app"

# The packaged app starts on an empty data directory and keeps running. Its display and the
# app itself are stopped on every way out, so nothing is left running.
display=99
while [ -e "/tmp/.X$display-lock" ]; do display=$((display + 1)); done
Xvfb ":$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
app=""
stop() {
  set +e
  [ -n "$app" ] && kill "$app" 2>/dev/null && wait "$app" 2>/dev/null
  kill "$xvfb" 2>/dev/null && wait "$xvfb" 2>/dev/null
  rm -rf "$root"
}
trap stop EXIT
for _ in $(seq 1 100); do [ -e "/tmp/.X11-unix/X$display" ] && break; sleep 0.1; done
DISPLAY=":$display" FIELDCHECK_APP_DATA_DIR="$root/data" "$bin" >"$root/app.log" 2>&1 &
app=$!
sleep 8
if ! kill -0 "$app" 2>/dev/null; then
  cat "$root/app.log" >&2
  fail "the packaged app exited at start"
fi
[ -s "$root/data/fieldcheck.db" ] || fail "the packaged app made no database in its data directory"
echo "check-bundle: ok: $deb ($(du -h "$deb" | cut -f1))"
