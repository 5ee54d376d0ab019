#!/usr/bin/env bash
# Installs the system packages Fieldcheck's build and tests need on Debian/Ubuntu.
# Idempotent: does nothing when everything is present.
set -euo pipefail

# faketime: the skewed-clocks sync test runs tablets with their clocks a day off.
# chromium + chromium-driver: the office dashboard's browser test (tests/tests/dashboard_e2e.rs).
packages=(build-essential pkg-config libssl-dev postgresql faketime chromium chromium-driver)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
command -v cargo >/dev/null || { echo "cargo not found: install Rust from https://rustup.rs first" >&2; exit 1; }
