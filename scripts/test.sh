#!/usr/bin/env bash
# Runs every test of the workspace: the UI's unit tests and build, formatting, lints, unit and
# end-to-end tests (the real app under Xvfb and the dashboard in Chromium among them), the
# server's storage suite against both SQLite and a real PostgreSQL (started here), the photo
# pipeline's pure-Rust codec, and the app's desktop bundle (.deb) from the binary the tests
# drove. Installs missing system packages first. Prints a line per step with the elapsed time,
# and the time of every step at the end. Fails if a test left a process running.
#
# One build serves everything: `cargo test --no-run` builds the libraries, both binaries and
# the test binaries with one set of features (the app with Tauri's production asset protocol
# and libjpeg-turbo, as it ships), the tests run those binaries, and the .deb packages the
# very app binary the end-to-end test drove.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/steps.sh
# A failing test's message, not pages of stack frames: CI shows only part of a long output.
export RUST_BACKTRACE=0 RUST_LIB_BACKTRACE=0

# Processes the tests start (by their 15-character command names); any still running at the
# end that were not running at the start were left behind.
watched='^(Xvfb|xvfb-run|WebKitWebDriver|WebKitWebProces|WebKitNetworkPr|tauri-driver|fieldcheck-serve|fieldcheck-app|chromedriver|chromium|chrome|store-writer|tablet-repl|tablet-sync|faketime)$'
# Zombies are not counted: they run nothing, and where PID 1 does not reap orphans they stay.
watched_pids() { ps -eo pid=,stat=,comm= | awk -v re="$watched" '$3 ~ re && $2 !~ /^Z/ {print $1}' | sort; }
before=$(watched_pids)
left_behind() {
  local pid found=()
  for pid in $(comm -13 <(echo "$before") <(watched_pids)); do
    found+=("$pid $(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null | cut -c1-160)")
  done
  if [ ${#found[@]} -gt 0 ]; then
    echo "processes started by the tests are still running:" >&2
    printf '  %s\n' "${found[@]}" >&2
    for pid in "${found[@]%% *}"; do kill -9 "$pid" 2>/dev/null || true; done
    return 1
  fi
}

step "system packages (scripts/install-deps.sh)" bash scripts/install-deps.sh
# A PostgreSQL cluster of this run's own, in a new directory, stopped and removed at the end.
pg_dir="/tmp/fieldcheck-pg-$$"
on_exit 'bash scripts/start-postgres.sh --stop "$pg_dir"; rm -rf "$pg_dir"'
start_pg() {
  FIELDCHECK_TEST_PG_URL="$(bash scripts/start-postgres.sh "$pg_dir")" || return 1
  export FIELDCHECK_TEST_PG_URL
}
step "PostgreSQL for the storage tests" start_pg

# The tablet app's UI first: its unit tests (Vitest, mocked Backend), then the build src-tauri
# embeds (ui/dist must exist before cargo compiles the app).
quietly "ui: npm ci" bash -c 'cd ui && npm ci --no-audit --no-fund --loglevel=error'
step "ui: unit tests (vitest)" bash -c 'cd ui && npm test --silent'
quietly "ui: type check and build (svelte-check, vite)" bash -c 'cd ui && npm run build'

step "cargo fmt --check" cargo fmt --all -- --check
step "cargo clippy (all targets)" cargo clippy --workspace --all-targets --locked -- -D warnings
step "build: libraries, binaries, test binaries" cargo test --workspace --locked --no-run
step "tests (unit, integration, end-to-end)" cargo test --workspace --locked
# The Android and iOS app keep the pure-Rust photo codec (the workspace build unifies the codec
# with the app's and the server's libjpeg-turbo): core's tests through it.
step "photo pipeline, pure-Rust codec" \
  cargo test -p fieldcheck-core --locked --lib --test integration
# The desktop bundle from the app binary the end-to-end test drove; no second build.
step "desktop bundle (.deb) of the tested binary" bash scripts/check-bundle.sh --debug
step "no process left behind" left_behind
