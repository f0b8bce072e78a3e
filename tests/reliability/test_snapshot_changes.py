"""Snapshots of a folder whose files change while they are read: a run always starts, and its
snapshot holds what was read, each file's recorded digest and size those of the stored content.

A real writer process appends to a log file in the folder as fast as it can (a training log, a
server's own log) while runs start with that folder as their snapshot directory.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard import Experiment, Workspace
from runyard.server.control import Role
from runyard.settings import JOURNAL_DIR_ENV, TOKEN_ENV
from runyard.store import Store
from tests.server.process import start

STARTS = 12

APPENDER = """
import sys, time
with open(sys.argv[1], "a") as log:
    n = 0
    while True:
        n += 1
        log.write(f"step {n}: loss {1 / n:.6f}\\n")
        log.flush()
        time.sleep(0.0002)  # a line every fraction of a millisecond: a busy log, not a flood
"""


@pytest.fixture
def appender(tmp_path: Path) -> Iterator[Path]:
    """A folder with a file that a writer process appends to without pause, until the end."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "train.py").write_text("print('training')\n")
    log = folder / "train.log"
    writer = subprocess.Popen([sys.executable, "-c", APPENDER, str(log)])
    try:
        deadline = time.monotonic() + 30
        while not (log.exists() and log.stat().st_size > 16 * 1024):
            assert writer.poll() is None, "the writer process ended"
            assert time.monotonic() < deadline, "the writer process wrote nothing"
            time.sleep(0.01)
        yield folder
    finally:
        writer.kill()
        writer.wait(timeout=30)


def assert_consistent(store: Store, snapshot_id: str) -> dict[str, int]:
    """Every manifest entry's digest and size are those of the stored content; return the
    sizes by path."""
    sizes = {}
    for entry in store.get_snapshot(snapshot_id):
        with store.open_blob(entry.digest) as stream:
            content = stream.read()
        assert hashlib.sha256(content).hexdigest() == entry.digest, entry.path
        assert len(content) == entry.size, entry.path
        sizes[entry.path] = entry.size
    return sizes


@pytest.fixture(params=["local", "server"])
def workspace(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Workspace]:
    """A local workspace, or a workspace of a real tracking server."""
    if request.param == "local":
        local = Workspace.create(tmp_path / "ws")
        yield local
        local.close()
        return
    server = start(tmp_path / "server")
    try:
        served = server.new_workspace([Role.WRITER])
        monkeypatch.setenv(TOKEN_ENV, served.writer)
        monkeypatch.setenv(JOURNAL_DIR_ENV, str(tmp_path / "journal"))
        remote = Workspace(tracking_uri=served.uri)
        yield remote
        remote.close()
    finally:
        server.stop()


def test_runs_start_while_a_file_of_the_snapshot_grows(
    appender: Path, workspace: Workspace
) -> None:
    experiment = Experiment(workspace=workspace, name="live-log")
    log_sizes = []
    for _ in range(STARTS):
        run = experiment.start_logging(snapshot_directory=str(appender), outputs=False)
        snapshot_id = run.get_properties()["ContentSnapshotId"]
        sizes = assert_consistent(workspace.store, snapshot_id)
        assert set(sizes) == {"train.log", "train.py"}
        log_sizes.append(sizes["train.log"])
        run.complete()
    # The log grew between the starts: each snapshot holds the file as it was read then.
    assert log_sizes == sorted(log_sizes) and log_sizes[0] < log_sizes[-1]
