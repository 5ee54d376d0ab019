#!/usr/bin/env bash
# Runs every test of the workspace (debug builds): the UI's unit tests and build, formatting,
# lints, unit and end-to-end tests (the real app under Xvfb among them), the server's storage
# suite against both SQLite and a real PostgreSQL (started here), and the app's desktop bundle.
# Installs missing system packages first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
FIELDCHECK_TEST_PG_URL="$(bash scripts/start-postgres.sh)"
export FIELDCHECK_TEST_PG_URL
# The tablet app's UI first: its unit tests (Vitest, mocked Backend), then the build src-tauri
# embeds (ui/dist must exist before cargo compiles the app).
(cd ui && npm ci --no-audit --no-fund --loglevel=error && npm test && npm run build)
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# End-to-end tests start the real server binary: build it before the tests run.
cargo build --workspace --locked
cargo test --workspace --locked
# The photo pipeline's libjpeg-turbo path (cargo feature `turbojpeg`, off by default): lints,
# and core's photo tests again through it.
cargo clippy -p fieldcheck-core --all-targets --features turbojpeg --locked -- -D warnings
cargo test -p fieldcheck-core --features turbojpeg --locked --lib --test 'photo_*'
# The tablet app's desktop bundle: a .deb that installs and starts (from the debug build
# above; `scripts/check-bundle.sh` without --debug makes the release one).
bash scripts/check-bundle.sh --debug
