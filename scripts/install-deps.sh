#!/usr/bin/env bash
# Installs the system packages Fieldcheck's build and tests need on Debian/Ubuntu.
# Idempotent: does nothing when everything is present. `--no-test-tools` leaves out what only
# the tests need (tauri-driver), for scripts/run.sh.
set -euo pipefail

# faketime: the skewed-clocks sync test runs tablets with their clocks a day off.
# chromium + chromium-driver: the office dashboard's browser test (tests/tests/dashboard_e2e.rs).
packages=(build-essential pkg-config libssl-dev postgresql faketime chromium chromium-driver
  # the tablet app (Tauri 2 on WebKitGTK), its bundle, and its end-to-end tests under Xvfb
  libwebkit2gtk-4.1-dev curl wget file libxdo-dev libayatana-appindicator3-dev librsvg2-dev
  webkit2gtk-driver xvfb fonts-noto-cjk
  # the photo pipeline's libjpeg-turbo codec (cargo feature `turbojpeg`), built from source
  cmake nasm
  # ps, for scripts/test.sh's check that no test left a process running
  procps
  # systemd-analyze: the server's test checks its service unit (verify, security)
  systemd
  # the load balancer in front of two server replicas (tests/tests/replicas.rs)
  haproxy
  # the bucket copy of the PostgreSQL + S3 backup test (tests/tests/backup_restore.rs)
  rclone)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing ${#missing[@]} system packages with apt-get: ${missing[*]}"
  log=$(mktemp)
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
    "${missing[@]}"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "apt-get failed (its output is above)" >&2
    exit 1
  fi
  rm -f "$log"
fi
command -v cargo >/dev/null || { echo "cargo not found: install Rust from https://rustup.rs first" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm not found: install Node.js 20 (Debian/Ubuntu package nodejs) first" >&2; exit 1; }
# tauri-driver: the WebDriver bridge the app's end-to-end tests drive WebKitWebDriver through.
if [ "${1:-}" != "--no-test-tools" ] && ! command -v tauri-driver >/dev/null \
  && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/tauri-driver" ]; then
  echo "installing: tauri-driver (cargo install)"
  cargo install tauri-driver --locked --quiet
fi
# s3s-fs: a real S3-compatible server (the s3s project's S3 API over a directory) that the
# photo store's tests run on 127.0.0.1.
if [ "${1:-}" != "--no-test-tools" ] && ! command -v s3s-fs >/dev/null \
  && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/s3s-fs" ]; then
  echo "installing: s3s-fs (cargo install)"
  cargo install s3s-fs --version 0.14.1 --features binary --locked --quiet
fi
