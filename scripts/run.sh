#!/usr/bin/env bash
# Runs Fieldcheck: the county server with demo data (sites, the civilized-city checklist,
# accounts) on http://127.0.0.1:8080, in the foreground (Ctrl-C stops it and lets requests finish).
# Data lives in ./data (or $FIELDCHECK_DATA_DIR); demo accounts are printed and kept in
# data/demo-accounts.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
data="${FIELDCHECK_DATA_DIR:-data}"
mkdir -p "$data"
cargo build --release --quiet -p fieldcheck-server
server=target/release/fieldcheck-server
[ -n "${CARGO_TARGET_DIR:-}" ] && server="$CARGO_TARGET_DIR/release/fieldcheck-server"
if [ ! -s "$data/demo-accounts.txt" ]; then
  "$server" --data-dir "$data" demo | tee "$data/demo-accounts.txt"
else
  cat "$data/demo-accounts.txt"
fi
exec "$server" --data-dir "$data" serve --listen "${FIELDCHECK_LISTEN:-127.0.0.1:8080}"
