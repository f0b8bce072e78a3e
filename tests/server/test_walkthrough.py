"""The seed walkthrough, unchanged, against a tracking server: submitted scripts included.

The walkthrough's supervisors and scripts inherit ``RUNYARD_TRACKING_URI`` and
``RUNYARD_TOKEN``, so their heartbeats, logs, metrics (``Run.get_context()``) and outputs all
go through the server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runyard.entities import RunQuery, RunStatus
from runyard.store.http.store import HttpStore
from tests.runners.helpers import is_alive, pids_with_env
from tests.server.process import ServerProcess, Workspace

WALKTHROUGH = Path(__file__).resolve().parents[2] / "examples" / "seed_walkthrough.py"

pytestmark = pytest.mark.timeout(120)


def _stop_leftovers(uri: str) -> None:
    """Wait for the walkthrough's supervisors to end; kill any left, by process id."""

    def leftovers() -> list[int]:
        return pids_with_env("RUNYARD_TRACKING_URI", lambda value: value == uri)

    deadline = time.monotonic() + 15
    while leftovers() and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in leftovers():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for pid in leftovers():
        while is_alive(pid) and time.monotonic() < deadline + 5:
            time.sleep(0.05)


def test_walkthrough_runs_unchanged_against_the_server(
    server: ServerProcess, workspace: Workspace, tmp_path: Path
) -> None:
    folder = tmp_path / "walkthrough"
    folder.mkdir()
    env = {
        **os.environ,
        "RUNYARD_TRACKING_URI": workspace.uri,
        "RUNYARD_TOKEN": workspace.writer,
        "RUNYARD_HEARTBEAT_SECONDS": "0.5",
    }
    try:
        done = subprocess.run(
            [sys.executable, str(WALKTHROUGH)],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "{'scale factor': 2}" in done.stdout
        assert not (folder / ".runyard").exists()  # the server's workspace, not a local one
        store = HttpStore(workspace.uri, token=workspace.writer)
        runs = store.search_runs(RunQuery(experiment_name="explore-runs")).runs
        scripts = [r for r in runs if r.run_type == "azureml.scriptrun"]
        statuses = sorted(r.status.value for r in scripts)
        assert statuses == ["Canceled", "Completed", "Completed", "Failed"], statuses
        hello, with_children = (r for r in reversed(scripts) if r.status is RunStatus.COMPLETED)
        assert store.list_metric_series([hello.run_id])[0].last_value == "Hello from run!"
        assert "system_logs/supervisor.txt" in store.list_logs(hello.run_id)
        children = store.search_runs(RunQuery(parent_run_id=with_children.run_id)).runs
        assert sorted(c.status.value for c in children) == ["Completed"] * 5
        series = store.list_metric_series([c.run_id for c in children])
        assert sorted(s.last_value for s in series) == [0, 1, 2, 3, 4]
        store.close()
    finally:
        _stop_leftovers(workspace.uri)
