#!/usr/bin/env bash
# Starts the machine's PostgreSQL cluster (installing Debian's package if it is missing) and
# creates the `fieldcheck` role the server's PostgreSQL tests use. Idempotent: safe to run
# again while the cluster is up. Needs root. Prints only the URL to export, on stdout:
#   export FIELDCHECK_TEST_PG_URL="$(bash scripts/start-postgres.sh)"
set -euo pipefail

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$version main"; then
    pg_createcluster "$version" main >&2
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}' | grep -qx online; then
    pg_ctlcluster "$version" main start >&2
fi
port=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')

for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p "$port" && break
    sleep 1
done
pg_isready -h 127.0.0.1 -p "$port" >/dev/null

if ! su postgres -c "psql -p $port -tAc \"SELECT 1 FROM pg_roles WHERE rolname = 'fieldcheck'\"" | grep -qx 1; then
    su postgres -c "psql -p $port -qc \"CREATE ROLE fieldcheck LOGIN SUPERUSER PASSWORD 'fieldcheck'\"" >&2
fi

echo "postgres://fieldcheck:fieldcheck@127.0.0.1:$port/postgres"
