#!/usr/bin/env bash
# Runs Fieldcheck: the county server with demo data (sites, the civilized-city checklist,
# accounts) on http://127.0.0.1:8080, and the tablet app connected to it (its server address
# filled in; sign in with a demo inspector). With no display ($DISPLAY and $WAYLAND_DISPLAY
# unset) the app is not opened: the server keeps running and its address is printed.
# Ctrl-C stops the server and lets requests finish.
# Data lives in ./data (or $FIELDCHECK_DATA_DIR); demo accounts are printed and kept in
# data/demo-accounts.txt. The app keeps its own data in the platform's app data directory.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/steps.sh
step "系统软件包 / system packages" bash scripts/install-deps.sh --no-test-tools
data="${FIELDCHECK_DATA_DIR:-data}"
listen="${FIELDCHECK_LISTEN:-127.0.0.1:8080}"
mkdir -p "$data"
# The app embeds the built UI (ui/dist).
quietly "界面 / the app's UI (npm)" bash -c \
  'cd ui && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run build'
echo "编译服务器和平板应用（首次约需 20-30 分钟）/ building the server and the tablet app (the first time takes 20-30 minutes on 2 cores)"
step "服务器 / the server (cargo build --release)" cargo build --release --locked -p fieldcheck-server
# The app as its desktop bundle builds it (Tauri's production asset protocol), without packaging.
step "平板应用 / the tablet app (tauri build --no-bundle)" ui/node_modules/.bin/tauri build --no-bundle --ci
bin="${CARGO_TARGET_DIR:-target}/release"
if [ ! -s "$data/demo-accounts.txt" ]; then
  "$bin/fieldcheck-server" --data-dir "$data" demo | tee "$data/demo-accounts.txt"
else
  cat "$data/demo-accounts.txt"
fi
"$bin/fieldcheck-server" --data-dir "$data" serve --listen "$listen" &
server=$!
trap 'kill -INT "$server" 2>/dev/null; wait "$server"' INT TERM
url="http://$listen"
for _ in $(seq 1 50); do
  curl -fsS "$url/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "没有图形显示（DISPLAY 和 WAYLAND_DISPLAY 均未设置），未打开平板应用。服务器仍在运行：$url"
  echo "no display (\$DISPLAY and \$WAYLAND_DISPLAY are unset): the tablet app was not opened. The server keeps running at $url"
else
  echo "打开平板应用，服务器地址已填好：$url / opening the tablet app, connected to $url"
  FIELDCHECK_SERVER_URL="$url" "$bin/fieldcheck-app" &
fi
echo "服务器地址 / server address: $url   (Ctrl-C 停止 / stops it)"
wait "$server"
