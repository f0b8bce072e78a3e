#!/usr/bin/env bash
# A throwaway S3-compatible server for runyard's tests: moto's server mode, on 127.0.0.1.
#
#   scripts/s3.sh start    start the server (if this script's is not running already); print its
#                          URL on stdout
#   scripts/s3.sh stop     stop the server this script started (by the PID it wrote down)
#   scripts/s3.sh status   exit 0 when the server is running, 3 when not
#   scripts/s3.sh url      print the URL
#
# PORT is $RUNYARD_S3_PORT, 54330 by default. The server keeps everything in memory and accepts
# any credentials: tests export AWS_ACCESS_KEY_ID=testing and the like. Its PID, log and starter
# (server.py) live in /tmp/runyard-s3-$PORT/; only the process of that PID file, checked to be
# this moto server, is ever stopped. moto comes with the dev extra: pip install -e '.[dev]'. The
# Python that runs it is $RUNYARD_S3_PYTHON, the repository's .venv/bin/python by default.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PORT=${RUNYARD_S3_PORT:-54330}
PYTHON=${RUNYARD_S3_PYTHON:-$ROOT/.venv/bin/python}
BASE=/tmp/runyard-s3-$PORT
PID_FILE=$BASE/moto.pid
LOG=$BASE/moto.log
SERVER=$BASE/server.py
URL="http://127.0.0.1:$PORT"

say() { echo "s3.sh: $*" >&2; }
die() {
    say "$*"
    exit 1
}

server_pid() {
    # The PID in the file, if that process is still our moto server on our port: a PID left by a
    # server that died may have been given to another process since.
    local pid
    [[ -f $PID_FILE ]] || return 1
    pid=$(<"$PID_FILE")
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$SERVER -H 127.0.0.1 -p $PORT" || return 1
    echo "$pid"
}

answers() {
    # Any HTTP answer, even an error status, means the server is up.
    "$PYTHON" - "$URL" <<'EOF' 2>/dev/null
import sys
import urllib.error
import urllib.request

try:
    urllib.request.urlopen(sys.argv[1], timeout=1).close()
except urllib.error.HTTPError:
    pass
EOF
}

write_server() {
    # moto's server, less werkzeug's own Server header: moto's S3 responses carry one already,
    # and strict HTTP parsers (aiohttp's pure-Python one, used in Python's dev mode) refuse two.
    cat >"$SERVER" <<'PY'
import sys
from http.server import BaseHTTPRequestHandler

from moto.server import main


def send_response(self, code, message=None):
    self.log_request(code)
    self.send_response_only(code, message)
    self.send_header("Date", self.date_time_string())


BaseHTTPRequestHandler.send_response = send_response
main(sys.argv[1:])
PY
}

start() {
    [[ -x $PYTHON ]] || die "no Python at $PYTHON: run 'make pytest' (or pip install -e '.[dev]')" \
        "first, or set RUNYARD_S3_PYTHON."
    "$PYTHON" -c "import flask, moto.server" 2>/dev/null ||
        die "moto's server is not installed in $PYTHON: pip install -e '.[dev]'."
    mkdir -p "$BASE"
    # Two `start`s at once (two test sessions) take turns.
    exec 8>"$BASE.lock"
    flock 8
    if ! server_pid >/dev/null; then
        if answers; then
            die "something else answers on $URL; stop it or set RUNYARD_S3_PORT to a free port."
        fi
        say "starting moto's S3 server on $URL (log: $LOG)"
        write_server
        (
            # The server outlives this script: it must not keep our lock (fd 8) or a caller's
            # pipe open, or `url=$(scripts/s3.sh start)` would wait for it to exit; and it runs in
            # a session of its own, so that ending the test session that started it (its
            # process group) does not end it under the other sessions that share it.
            for fd in /proc/self/fd/*; do
                fd=${fd##*/}
                if ((fd > 2)); then eval "exec $fd>&-"; fi
            done 2>/dev/null
            cd /tmp
            exec setsid "$PYTHON" "$SERVER" -H 127.0.0.1 -p "$PORT" </dev/null >"$LOG" 2>&1
        ) &
        echo $! >"$PID_FILE"
        local waited=0
        until answers; do
            if ! server_pid >/dev/null; then
                tail -n 20 "$LOG" >&2 || true
                die "moto's S3 server exited (is port $PORT taken? set RUNYARD_S3_PORT)."
            fi
            ((waited++ < 300)) || die "moto's S3 server did not answer on $URL in 30 s (log: $LOG)."
            sleep 0.1
        done
    fi
    echo "$URL"
}

stop() {
    local pid
    if ! pid=$(server_pid); then
        say "no server of this script running on port $PORT"
        rm -f "$PID_FILE"
        return
    fi
    say "stopping moto's S3 server (PID $pid)"
    kill "$pid"
    for _ in $(seq 100); do
        [[ -d /proc/$pid ]] || break
        sleep 0.1
    done
    if [[ -d /proc/$pid ]]; then
        say "PID $pid did not stop in 10 s; killing it"
        kill -KILL "$pid"
    fi
    rm -f "$PID_FILE"
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) if server_pid >/dev/null; then echo running; else echo stopped; exit 3; fi ;;
url) echo "$URL" ;;
*)
    echo "usage: $0 start|stop|status|url   (port: \$RUNYARD_S3_PORT, default 54330)" >&2
    exit 2
    ;;
esac
