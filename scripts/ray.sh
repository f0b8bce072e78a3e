#!/usr/bin/env bash
# A throwaway Ray head for runyard's tests, on 127.0.0.1 only, with its own ports and temp dir.
#
#   scripts/ray.sh start    start the head (if this script's is not running already); print the
#                           address of its Job Submission API (the dashboard) on stdout
#   scripts/ray.sh stop     stop the head this script started (by the PID it wrote down)
#   scripts/ray.sh status   exit 0 when the head is running, 3 when not
#   scripts/ray.sh url      print the address
#
# Ports: $RUNYARD_RAY_PORT (54340 by default) is the dashboard (the Job Submission API); the GCS,
# the Ray client server, the dashboard agent and the metrics exporter take the next ones (+1..+5),
# so the head never meets Ray's fixed defaults (8265, 10001, 52365...) of another cluster. Its
# temp dir, PID and log are under /tmp/runyard-ray-$PORT/. The Python that runs it is
# $RUNYARD_RAY_PYTHON, the repository's .venv/bin/python by default (ray[default] comes with the
# dev extra: pip install -e '.[dev]'); a job's `python` is that interpreter.
#
# How Ray behaves here (see docs/compute.md):
# - RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 keeps every socket on 127.0.0.1 (without it Ray maps
#   127.0.0.1 to the machine's network address and the GCS listens on every interface); drivers
#   need it too (runyard's Ray runner sets it for its own client).
# - RAY_AUTH_MODE=disabled, explicitly: the head listens on the loopback only, and an implicit
#   mode would turn token auth on by itself once any local ray.init() wrote ~/.ray/auth_token.
# - `ray start --head --block` in the background, stopped by its PID: never `ray stop`, which
#   kills every Ray process on the machine by name (other sessions' clusters included).
# - The object store is capped (200 MB): Ray's default is 30% of the RAM.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PORT=${RUNYARD_RAY_PORT:-54340}
PYTHON=${RUNYARD_RAY_PYTHON:-$ROOT/.venv/bin/python}
BASE=/tmp/runyard-ray-$PORT
PID_FILE=$BASE/ray.pid
LOG=$BASE/ray.log
TEMP_DIR=$BASE/tmp
URL="http://127.0.0.1:$PORT"

say() { echo "ray.sh: $*" >&2; }
die() {
    say "$*"
    exit 1
}

head_pid() {
    # The PID in the file, if that process is still our `ray start --block` on our port.
    local pid
    [[ -f $PID_FILE ]] || return 1
    pid=$(<"$PID_FILE")
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "--dashboard-port=$PORT" || return 1
    echo "$pid"
}

answers() {
    "$PYTHON" - "$URL/api/version" <<'EOF' 2>/dev/null
import sys
import urllib.request

urllib.request.urlopen(sys.argv[1], timeout=1).close()
EOF
}

start() {
    [[ -x $PYTHON ]] || die "no Python at $PYTHON: set RUNYARD_RAY_PYTHON or pip install -e '.[dev]'."
    local ray_cli
    ray_cli=$(dirname "$PYTHON")/ray
    [[ -x $ray_cli ]] || die "ray is not installed beside $PYTHON: pip install 'ray[default]'."
    mkdir -p "$BASE"
    exec 8>"$BASE.lock"
    flock 8
    if ! head_pid >/dev/null; then
        if answers; then
            die "something else answers on $URL; stop it or set RUNYARD_RAY_PORT to a free port."
        fi
        say "starting a Ray head on $URL (log: $LOG)"
        rm -rf "$TEMP_DIR"
        (
            for fd in /proc/self/fd/*; do
                fd=${fd##*/}
                if ((fd > 2)); then eval "exec $fd>&-"; fi
            done 2>/dev/null
            cd /tmp
            export RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 RAY_USAGE_STATS_ENABLED=0
            export RAY_AUTH_MODE=disabled
            # The job drivers run with this PATH: `python` in an entrypoint is this Python.
            PATH=$(dirname "$PYTHON"):$PATH
            export PATH
            unset PYTHONPATH RAY_ADDRESS
            exec setsid "$ray_cli" start --head --block --num-cpus=2 \
                --node-ip-address=127.0.0.1 --port=$((PORT + 1)) \
                --ray-client-server-port=$((PORT + 2)) \
                --dashboard-agent-listen-port=$((PORT + 3)) \
                --dashboard-agent-grpc-port=$((PORT + 4)) \
                --metrics-export-port=$((PORT + 5)) \
                --dashboard-host=127.0.0.1 --dashboard-port="$PORT" --include-dashboard=true \
                --temp-dir="$TEMP_DIR" --disable-usage-stats \
                --object-store-memory=200000000 </dev/null >"$LOG" 2>&1
        ) &
        echo $! >"$PID_FILE"
        local waited=0
        until answers; do
            if ! head_pid >/dev/null; then
                tail -n 30 "$LOG" >&2 || true
                die "the Ray head exited (is a port from $PORT to $((PORT + 5)) taken? set RUNYARD_RAY_PORT)."
            fi
            ((waited++ < 1200)) || die "the Ray head did not answer on $URL in 120 s (log: $LOG)."
            sleep 0.1
        done
    fi
    echo "$URL"
}

stop() {
    local pid
    if ! pid=$(head_pid); then
        say "no Ray head of this script running on port $PORT"
        rm -f "$PID_FILE"
        return
    fi
    say "stopping the Ray head (PID $pid)"
    kill -TERM "$pid"
    for _ in $(seq 300); do
        [[ -d /proc/$pid ]] || break
        sleep 0.1
    done
    if [[ -d /proc/$pid ]]; then
        say "PID $pid did not stop in 30 s; killing it"
        kill -KILL "$pid"
    fi
    # A later ray.init() without an address would otherwise join this dead cluster.
    rm -f "$TEMP_DIR/ray_current_cluster" "$PID_FILE"
}

case ${1:-} in
start) start ;;
stop) stop ;;
status) if head_pid >/dev/null; then echo running; else echo stopped; exit 3; fi ;;
url) echo "$URL" ;;
*)
    echo "usage: $0 start|stop|status|url   (port: \$RUNYARD_RAY_PORT, default 54340)" >&2
    exit 2
    ;;
esac
