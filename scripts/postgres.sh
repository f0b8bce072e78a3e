#!/usr/bin/env bash
# A throwaway PostgreSQL server for runyard's tests, in /tmp, on its own port.
#
#   scripts/postgres.sh start    install PostgreSQL if missing, start the server (if it is not
#                                running), create role and database; print the URL on stdout
#   scripts/postgres.sh stop     stop the server this script started (found by its data folder)
#   scripts/postgres.sh status   exit 0 when the server is running, 3 when not
#   scripts/postgres.sh url      print the URL
#
# The server lives in /tmp/runyard-pg-$PORT (data/ and postgres.log); PORT is $RUNYARD_PG_PORT,
# 54329 by default. It is tuned for tests (fsync off): never keep data you care about in it.
# Only the server of that data folder is ever started or stopped; other PostgreSQL servers on the
# machine (the distribution's cluster on 5432, say) are left alone. Needs root (it runs the server
# as the postgres user with runuser, and installs PostgreSQL with apt-get when it is missing).
set -euo pipefail

PORT=${RUNYARD_PG_PORT:-54329}
BASE=/tmp/runyard-pg-$PORT
DATA=$BASE/data
LOG=$BASE/postgres.log
SOCKET_DIR=/tmp
ROLE=runyard
PASSWORD=runyard
DATABASE=runyard_test
URL="postgresql+psycopg://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DATABASE"

say() { echo "postgres.sh: $*" >&2; }
die() {
    say "$*"
    exit 1
}

pg_bin() {
    # The newest installed major version.
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [[ -n $dir && -x $dir/initdb ]] || return 1
    echo "$dir"
}

as_postgres() {
    # From /tmp: the postgres user cannot read the caller's folder, and pg_ctl would complain.
    (cd /tmp && runuser -u postgres -- "$@")
}

start_server() (
    # The server outlives this script: it must not inherit our lock (fd 8) or a caller's pipe,
    # or `url=$(scripts/postgres.sh start)` would wait for it to exit.
    for fd in /proc/self/fd/*; do
        fd=${fd##*/}
        if ((fd > 2)); then eval "exec $fd>&-"; fi
    done 2>/dev/null
    cd /tmp
    exec runuser -u postgres -- "$@" </dev/null >/dev/null
)

need_root() {
    [[ $(id -u) == 0 ]] || die "run me as root: I run the server as the postgres user (runuser)" \
        "and install PostgreSQL with apt-get when it is missing."
}

install_postgres() {
    if pg_bin >/dev/null; then
        return
    fi
    command -v apt-get >/dev/null || die "PostgreSQL is not installed and there is no apt-get;" \
        "install PostgreSQL (initdb, pg_ctl, psql under /usr/lib/postgresql/*/bin) first."
    say "installing PostgreSQL (apt-get)"
    apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2
    pg_bin >/dev/null || die "apt-get installed postgresql, but no /usr/lib/postgresql/*/bin/initdb."
}

is_running() {
    local bin
    bin=$(pg_bin) || return 1
    [[ -f $DATA/PG_VERSION ]] || return 1
    as_postgres "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

psql_admin() {
    as_postgres "$(pg_bin)/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKET_DIR" -p "$PORT" -d postgres "$@"
}

start() {
    need_root
    install_postgres
    local bin
    bin=$(pg_bin)
    mkdir -p "$BASE"
    chown postgres: "$BASE"
    # Two `start`s at once (two test sessions) take turns.
    exec 8>"$BASE.lock"
    flock 8
    if ! is_running; then
        if [[ ! -f $DATA/PG_VERSION ]]; then
            say "creating a cluster in $DATA"
            rm -rf "$DATA"
            local init=(-D "$DATA" -U postgres --auth-local=peer --auth-host=scram-sha-256
                --encoding=UTF8 --locale=C.UTF-8)
            # Text sorts by a language's rules (ICU en-US), as on most production servers, not
            # by code point: the tests then catch any ORDER BY that relies on the collation.
            if (($("$bin/pg_config" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/') >= 15)); then
                init+=(--locale-provider=icu --icu-locale=en-US)
            fi
            as_postgres "$bin/initdb" "${init[@]}" >/dev/null
        fi
        say "starting PostgreSQL on 127.0.0.1:$PORT (log: $LOG)"
        local options="-p $PORT -k $SOCKET_DIR -c listen_addresses=127.0.0.1"
        options+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        if ! start_server "$bin/pg_ctl" -D "$DATA" -o "$options" -l "$LOG" start -w -t 60; then
            tail -n 20 "$LOG" >&2 || true
            die "PostgreSQL did not start (is port $PORT taken? set RUNYARD_PG_PORT)."
        fi
    fi
    if [[ $(psql_admin -tA -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'") != 1 ]]; then
        # CREATEDB: a test may have a database of its own. pg_signal_backend: dropping it WITH
        # (FORCE) may have to end an autovacuum worker busy in it.
        psql_admin -c "CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD'"
        psql_admin -c "GRANT pg_signal_backend TO $ROLE"
    fi
    if [[ $(psql_admin -tA -c "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'") != 1 ]]; then
        psql_admin -c "CREATE DATABASE $DATABASE OWNER $ROLE TEMPLATE template0"
    fi
    echo "$URL"
}

stop() {
    if ! is_running; then
        say "no server running in $DATA"
        return
    fi
    need_root
    say "stopping the PostgreSQL server of $DATA"
    as_postgres "$(pg_bin)/pg_ctl" -D "$DATA" stop -m fast -w -t 60 >/dev/null
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) if is_running; then echo running; else echo stopped; exit 3; fi ;;
url) echo "$URL" ;;
*)
    echo "usage: $0 start|stop|status|url   (port: \$RUNYARD_PG_PORT, default 54329)" >&2
    exit 2
    ;;
esac
