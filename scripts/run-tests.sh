#!/usr/bin/env bash
# Run pytest with the services the tests need, started before and stopped after, however pytest
# ends (`make pytest` runs this). Arguments go to pytest: scripts/run-tests.sh tests/store -x
#
# Each service is a script of this folder (start prints its URL, status tells whether it runs,
# stop stops it) and the variable that hands its URL to the tests:
#
#   postgres.sh   RUNYARD_TEST_POSTGRES_URL    PostgreSQL (port $RUNYARD_PG_PORT, 54329)
#   s3.sh         RUNYARD_TEST_S3_ENDPOINT     moto's S3 server (port $RUNYARD_S3_PORT, 54330)
#   ray.sh        RUNYARD_TEST_RAY_ADDRESS     a Ray head, 127.0.0.1 only (port $RUNYARD_RAY_PORT,
#                                              54340, and the 5 after it)
#   chromium.sh   RUNYARD_TEST_CHROMIUM        Debian's chromium for the UI's browser tests
#
# A service whose variable is set already is used as it is (your own PostgreSQL, say, when you
# are not root). pytest runs with RUNYARD_REQUIRE_SERVICES=1: a test that finds no service fails,
# never skips.
# Test sessions running at once share the services: a service this script started is stopped by
# the last session to end (all of them hold /tmp/runyard-tests.lock shared while they run), and
# a service found running when no session had started it (`scripts/postgres.sh start` by hand)
# is left running. Starting and stopping take /tmp/runyard-tests.start.lock, so a session never
# waits for another one to end: only for it to finish starting or stopping the services.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTEST=${PYTEST:-$ROOT/.venv/bin/pytest}
SERVICES=(postgres:RUNYARD_TEST_POSTGRES_URL s3:RUNYARD_TEST_S3_ENDPOINT ray:RUNYARD_TEST_RAY_ADDRESS)
LOCK=/tmp/runyard-tests.lock
START_LOCK=/tmp/runyard-tests.start.lock
STARTED=/tmp/runyard-tests.started
# Each service this script started has a file here until it is stopped.

say() { echo "run-tests.sh: $*" >&2; }

stop_services() {
    local status=$?
    flock -x 8 # no session starts services while we decide
    # Upgrade to exclusive without waiting: it fails while another session still runs.
    if flock -xn 9; then
        for service in "${SERVICES[@]}"; do
            local name=${service%%:*}
            if [[ -e $STARTED/$name ]]; then
                "$ROOT/scripts/$name.sh" stop || status=1
                rm -f "$STARTED/$name"
            fi
        done
    else
        say "other test sessions are running: their services stay up for them."
    fi
    exit "$status"
}

exec 8>>"$START_LOCK" 9>>"$LOCK"
flock -x 8 # one session at a time starts (or stops) services
flock -s 9 # held while this session runs: the last one to end stops the services
trap stop_services EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$STARTED"
for service in "${SERVICES[@]}"; do
    name=${service%%:*}
    variable=${service#*:}
    if [[ -n ${!variable:-} ]]; then
        say "$variable=${!variable} (given: not started here)"
        continue
    fi
    if ! "$ROOT/scripts/$name.sh" status >/dev/null 2>&1; then
        touch "$STARTED/$name"
    fi
    url=$("$ROOT/scripts/$name.sh" start)
    export "$variable=$url"
    say "$variable=$url"
done
if [[ -z ${RUNYARD_TEST_CHROMIUM:-} ]]; then
    RUNYARD_TEST_CHROMIUM=$("$ROOT/scripts/chromium.sh") # installed once, under the start lock
fi
export RUNYARD_TEST_CHROMIUM
say "RUNYARD_TEST_CHROMIUM=$RUNYARD_TEST_CHROMIUM"
flock -u 8 # other sessions may start now, and run beside this one

cd "$ROOT"
RUNYARD_REQUIRE_SERVICES=1 "$PYTEST" "$@"
