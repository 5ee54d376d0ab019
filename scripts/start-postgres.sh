#!/usr/bin/env bash
# Starts a PostgreSQL cluster of its own for the tests and benchmarks, and prints on stdout
# only the URL to export (superuser `fieldcheck`, password `fieldcheck`):
#   export FIELDCHECK_TEST_PG_URL="$(bash scripts/start-postgres.sh)"
#
# The cluster lives in DIR (first argument; default /var/cache/fieldcheck/postgres), listens on
# 127.0.0.1 only, on a free port from 55432 up chosen when DIR is made, with its socket in DIR:
# it never touches the machine's own clusters, whose state (a stale lock, a port in use, a
# cluster the image left half started) is nobody's test. Idempotent: while the cluster in DIR
# runs, prints its URL again. Installs Debian's `postgresql` if missing; needs root (the server
# runs as the `postgres` account). Stop it with `scripts/start-postgres.sh --stop [DIR]`.
# On failure says why on stderr, with the server's log, and exits non-zero.
set -euo pipefail

stop=0
if [ "${1:-}" = "--stop" ]; then
    stop=1
    shift
fi
dir="${1:-/var/cache/fieldcheck/postgres}"

fail() {
    echo "start-postgres: $*" >&2
    if [ -f "$dir/server.log" ]; then
        echo "--- the last lines of $dir/server.log:" >&2
        tail -n 30 "$dir/server.log" >&2
    fi
    exit 1
}

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    # Nothing can be running to stop without PostgreSQL's programs; nothing to install for it.
    [ "$stop" = 0 ] || exit 0
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } \
        >&2 || fail "installing Debian's postgresql package failed"
fi
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
bin="/usr/lib/postgresql/$version/bin"
as_postgres() { runuser -u postgres -- "$@"; }
pg_ctl() { as_postgres "$bin/pg_ctl" -D "$dir" "$@"; }

# The server of DIR runs when its lock file names a live `postgres` process: a lock file left
# by a server that is gone (its number perhaps reused by another program since, as happens in
# containers) would stop the start, and pg_ctl alone would take the other program for it.
running() {
    local pid
    pid=$(head -n 1 "$dir/postmaster.pid" 2>/dev/null) || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ]
}
if [ "$stop" = 1 ]; then
    if [ -f "$dir/PG_VERSION" ] && running; then
        pg_ctl -m fast -w stop >/dev/null || fail "stopping the cluster in $dir failed"
    fi
    exit 0
fi

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if [ ! -f "$dir/PG_VERSION" ]; then
    mkdir -p "$dir"
    chown postgres:postgres "$dir"
    chmod 700 "$dir"
    as_postgres test -x "$dir" || fail "the postgres account cannot reach $dir (a parent directory is closed to it)"
    pwfile=$(mktemp)
    echo fieldcheck >"$pwfile"
    chown postgres "$pwfile"
    as_postgres "$bin/initdb" -D "$dir" -U fieldcheck --pwfile="$pwfile" -E UTF8 \
        --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 >"$dir.initdb.log" 2>&1 \
        || { cat "$dir.initdb.log" >&2; rm -f "$pwfile"; fail "initdb in $dir failed"; }
    rm -f "$pwfile" "$dir.initdb.log"
    port=55432
    while port_in_use "$port"; do port=$((port + 1)); done
    cat >>"$dir/postgresql.conf" <<EOF

# scripts/start-postgres.sh: a cluster of its own for the tests
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
EOF
fi
port=$(sed -n 's/^port = \([0-9]*\)$/\1/p' "$dir/postgresql.conf" | tail -1)
[ -n "$port" ] || fail "no port in $dir/postgresql.conf"

if ! running; then
    if port_in_use "$port"; then
        fail "port $port (of the cluster in $dir) is taken by another program"
    fi
    rm -f "$dir/postmaster.pid"
    pg_ctl -l "$dir/server.log" -w -t 60 start >/dev/null \
        || fail "the cluster in $dir did not start within 60 s"
fi
as_postgres "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 30 \
    || fail "the cluster in $dir runs but does not answer on 127.0.0.1:$port"

echo "postgres://fieldcheck:fieldcheck@127.0.0.1:$port/postgres"
