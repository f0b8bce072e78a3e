"""Fixtures of the script-run tests: short supervision timeouts, and no process left behind.

These tests start real supervisor and script processes. The settings reach them through the
environment, which the supervisor and the script inherit from the submitter.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runners.helpers import is_alive, pids_with_env

SHORT_SETTINGS = {
    "RUNYARD_HEARTBEAT_SECONDS": "0.2",
    "RUNYARD_NOT_RESPONDING_SECONDS": "1.5",
    "RUNYARD_DEAD_RUN_SECONDS": "4",
    "RUNYARD_CANCEL_GRACE_SECONDS": "2",
    "RUNYARD_POLL_SECONDS": "0.1",
    "RUNYARD_LOCAL_MAX_RUNS": "4",
}


@pytest.fixture(autouse=True)
def _short_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SHORT_SETTINGS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("RUNYARD_KEEP_WORKDIR", raising=False)


@pytest.fixture(autouse=True)
def _no_process_left(tmp_path: Path) -> Iterator[None]:
    """After the test, end every supervisor and script of the test's workspace, by pid."""
    yield

    def leftovers() -> list[int]:
        return pids_with_env("RUNYARD_TRACKING_URI", lambda uri: f"{tmp_path}/" in uri)

    deadline = time.monotonic() + 3.0
    while leftovers() and time.monotonic() < deadline:
        time.sleep(0.05)  # a supervisor that set the final status is closing its store
    for pid in leftovers():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for pid in leftovers():
        deadline = time.monotonic() + 5.0
        while is_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
