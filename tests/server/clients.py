"""Client processes for the journal and exactly-once tests: ``python clients.py MODE ARGS...``.

A script, not a test module: it imports only runyard, prints one line per step on stdout (so
that the test knows where it is) and is stopped by the test, by its process id.

- ``offline URI TOKEN RUN``: creates RUN and logs points 0-49, prints ``ready``; after a line on
  stdin (the server is stopped by then) logs points 50-149 in ten batches, a tag, a log line and
  the Completed status, all kept in its journal, prints ``kept <pending> <journal folder>``, and
  waits to be killed.
- ``burst URI TOKEN RUN BATCHES SIZE``: creates RUN (twice, with one request id), then sends
  each batch of SIZE points and one log line twice at once with the same request id, as a retry
  racing its original would; prints ``done``.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor

from runyard.entities import MetricChunk, MetricKind, NewRun, RunStatus, ValueType
from runyard.store.http.store import HttpStore


def points(run_id: str, start: int, stop: int) -> MetricChunk:
    values = list(range(start, stop))
    return MetricChunk(
        run_id, "step", MetricKind.VECTOR, ValueType.NUMBER, values, [float(v) for v in values]
    )


def offline(uri: str, token: str, run_id: str) -> None:
    store = HttpStore(uri, token=token, retries=1, backoff=0.01)
    store.create_runs([NewRun(run_id, "killed")])
    store.log_metrics([points(run_id, 0, 50)])
    print("ready", flush=True)
    sys.stdin.readline()
    for batch in range(10):
        store.log_metrics([points(run_id, 50 + 10 * batch, 60 + 10 * batch)])
    store.set_tags(run_id, {"phase": "offline"})
    store.append_log(run_id, "user_logs/std_log.txt", b"kept while away\n")
    store.set_run_status(run_id, RunStatus.COMPLETED)
    print("kept", store.journal_pending, store.journal_path, flush=True)
    time.sleep(600)


def burst(uri: str, token: str, run_id: str, batches: int, size: int) -> None:
    store = HttpStore(uri, token=token)
    for _ in range(2):
        store.create_runs([NewRun(run_id, "burst")], request_id=f"{store.client_id}-create")
    with ThreadPoolExecutor(2) as pool:
        for batch in range(batches):
            chunk = points(run_id, batch * size, (batch + 1) * size)
            metrics_id = f"{store.client_id}-metrics-{batch}"
            log_id = f"{store.client_id}-log-{batch}"
            line = f"batch {batch}\n".encode()
            sent = [
                pool.submit(store.log_metrics, [chunk], request_id=metrics_id),
                pool.submit(store.log_metrics, [chunk], request_id=metrics_id),
                pool.submit(store.append_log, run_id, "log.txt", line, request_id=log_id),
                pool.submit(store.append_log, run_id, "log.txt", line, request_id=log_id),
            ]
            for future in sent:
                future.result()
    store.close()
    print("done", flush=True)


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "offline":
        offline(*args)
    else:
        uri, token, run_id, batches, size = args
        burst(uri, token, run_id, int(batches), int(size))
