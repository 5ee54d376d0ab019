#!/usr/bin/env bash
# The tablet app's speed benchmark (tests/benches/app.rs) on the release app as users get it:
# builds the UI, the release server, and the release app the way its bundle builds it
# (`tauri build --no-bundle`: Tauri's production asset protocol, libjpeg-turbo), then drives
# it under Xvfb. The benchmark refuses a dev build. Needs scripts/install-deps.sh's packages.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/steps.sh
quietly "ui: npm ci and build" bash -c 'cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run build'
step "release server" cargo build --release --locked -p fieldcheck-server
step "release app, as the bundle builds it" ui/node_modules/.bin/tauri build --no-bundle --ci
step "benchmark: the app under Xvfb" cargo bench --locked -p fieldcheck-tests --bench app
