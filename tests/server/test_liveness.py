"""Interactive runs through a server: heartbeats are dropped while it is away, never kept, and a
restarted server does not take a live run for dead because it heard nothing while it was down.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import cast

import pytest

from runyard import Experiment, Run, Workspace
from runyard.errors import RunNotFoundError
from runyard.server.control import Role
from runyard.store.http.journal import iter_records
from runyard.store.http.store import HttpStore
from tests.server.process import start

HEARTBEAT = 0.1
NOT_RESPONDING = 1.0
DEAD = 4.0
"""Longer than a server takes to start on a busy machine: the restarted server counts from its
start, before the client's first heartbeat can arrive."""


def test_server_away_past_the_dead_threshold_does_not_fail_a_live_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNYARD_HEARTBEAT_SECONDS", str(HEARTBEAT))
    monkeypatch.setenv("RUNYARD_NOT_RESPONDING_SECONDS", str(NOT_RESPONDING))
    monkeypatch.setenv("RUNYARD_DEAD_RUN_SECONDS", str(DEAD))
    server = start(tmp_path / "server")
    port = int(server.url.rsplit(":", 1)[1])
    target = server.new_workspace([Role.WRITER])
    monkeypatch.setenv("RUNYARD_TOKEN", target.writer)
    client = Workspace(target.uri)
    store = cast(HttpStore, client.store)
    run = Experiment(client, "outage").start_logging(snapshot_directory=None, outputs=False)
    run.log("step", 0.0)
    client.flush()

    os.kill(server.process.pid, signal.SIGKILL)  # a crash, for longer than the dead threshold
    server.process.wait(timeout=10)
    server.stop()
    time.sleep(DEAD + 0.5)
    run.log("step", 1.0)
    client.flush()  # kept in the journal; the heartbeats of all that time were dropped
    verbs = [record.verb for record in iter_records(store.journal_path)]
    assert verbs and "heartbeat" not in verbs

    server = start(tmp_path / "server", port=port)
    reader = Workspace(target.uri)  # another client, who reads at once: it sweeps
    try:
        watched = Run.get(reader, run.id)
        # Silent for longer than the dead threshold, as the restarted server counts: not yet.
        assert watched.get_status() in ("Running", "NotResponding")
        assert run.get_metrics() == {"step": [0.0, 1.0]}  # the journal is sent: beats resume
        seen = set()
        deadline = time.monotonic() + NOT_RESPONDING + 1
        while time.monotonic() < deadline:
            seen.add(watched.get_status())
            seen.update(r.status for r in Experiment(reader, "outage").get_runs())
            time.sleep(0.05)
        assert "Failed" not in seen
        assert watched.get_status() == "Running"

        run.complete()
        assert watched.get_status() == "Completed"
    finally:
        reader.close()
        client.close()
        server.stop()


def test_heartbeats_leave_a_refusal_of_the_journal_to_the_users_next_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNYARD_HEARTBEAT_SECONDS", "0.05")
    server = start(tmp_path / "server")
    port = int(server.url.rsplit(":", 1)[1])
    target = server.new_workspace([Role.WRITER])
    monkeypatch.setenv("RUNYARD_TOKEN", target.writer)
    client = Workspace(target.uri)
    store = cast(HttpStore, client.store)
    run = Experiment(client, "refused").start_logging(snapshot_directory=None, outputs=False)
    server.stop()
    store.set_tags("no-such-run", {"kept": "while away"})  # refused once it arrives
    assert store.journal_pending == 1

    server = start(tmp_path / "server", port=port)
    try:
        deadline = time.monotonic() + 30
        while store.journal_pending and time.monotonic() < deadline:
            time.sleep(0.05)  # the journal's sender gets it refused, in the background
        assert store.journal_pending == 0
        time.sleep(0.5)  # ten heartbeats of the run, from the metric writer thread

        with pytest.raises(RunNotFoundError, match=r"rejected\.jsonl"):
            run.tag("next", "call")
        run.tag("next", "call")
        assert run.get_tags() == {"next": "call"}
        run.complete()
        client.close()
    finally:
        server.stop()
