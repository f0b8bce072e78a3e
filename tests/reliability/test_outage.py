"""Outage: the tracking server stops in the middle of logging, and comes back.

A real ``runyard server`` (``tests/server/process.py``) is killed with SIGKILL while a real
client process logs through the SDK (``outage_client.py``: metrics, tags, status changes,
outputs), and started again on the same port with the same data. What the workspace holds in the
end is read from its SQLite file directly: every point once, in order, the tags and final
statuses the client set, each output file once with the bytes it had when its run ended.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from runyard.entities import RunStatus
from runyard.server.control import Role
from runyard.store import Store
from tests.reliability.outage_client import AWAY_POINTS, BIG, part
from tests.server.process import Restartable
from tests.server.process import Workspace as ServerWorkspace

pytestmark = pytest.mark.timeout(120)

CLIENT = Path(__file__).with_name("outage_client.py")
REPO = Path(__file__).parents[2]


@pytest.fixture
def journal_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the clients keep their journals: never the user's ~/.cache."""
    folder = tmp_path / "journal"
    monkeypatch.setenv("RUNYARD_JOURNAL_DIR", str(folder))
    return folder


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[Restartable]:
    server = Restartable(tmp_path / "server")
    yield server
    server.stop()


class Client:
    """``outage_client.py MODE`` in its own folder, talking line by line with the test."""

    def __init__(self, mode: str, workspace: ServerWorkspace, folder: Path) -> None:
        folder.mkdir()
        env = {
            **os.environ,
            "RUNYARD_TOKEN": workspace.writer,
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        }
        self.process = subprocess.Popen(
            [sys.executable, str(CLIENT), mode, workspace.uri],
            cwd=folder,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def read(self, first_word: str) -> list[str]:
        """The words of the next line that starts with ``first_word`` (lines before it are
        skipped); fails with the client's stderr if it ended first."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            words = line.split()
            if words and words[0] == first_word:
                return words[1:]
        raise AssertionError(f"the client ended before {first_word!r}:\n{self.stderr()}")

    def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def stderr(self) -> str:
        self.process.wait(timeout=60)
        assert self.process.stderr is not None
        return self.process.stderr.read()

    def kill(self) -> None:
        """SIGKILL, by its process id: no exit hook runs, its journal stays as it is."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)

    def close(self) -> None:
        self.kill()
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def clients() -> Iterator[list[Client]]:
    """The clients a test starts, killed after it if still running."""
    started: list[Client] = []
    yield started
    for client in started:
        client.close()


def _steps(store: Store, run_id: str) -> list[int]:
    (series,) = store.read_metrics([run_id], ["step"])
    return list(series.values)


def _read(store: Store, run_id: str, path: str) -> bytes:
    with store.open_artifact(run_id, path) as stream:
        return stream.read()


def _sync(workspace: ServerWorkspace, journals: Path) -> subprocess.CompletedProcess[str]:
    """``runyard sync --journal-dir journals``, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "runyard.cli.main", "sync", "--journal-dir", str(journals)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "RUNYARD_TOKEN": workspace.writer},
    )


def test_outage_in_the_middle_of_logging_loses_and_doubles_nothing(
    restartable: Restartable, journal_dir: Path, tmp_path: Path, clients: list[Client]
) -> None:
    workspace = restartable.up.new_workspace([Role.WRITER])
    client = Client("live", workspace, tmp_path / "client")
    clients.append(client)
    client.read("started")
    while int(client.read("step")[0]) < 1000:
        pass
    restartable.kill()  # while the client streams points, tags and output files

    kept, points_away = (int(word) for word in client.read("away"))
    assert kept > 0  # the children's ends and outputs, the last points and tags: all kept
    restartable.restart()
    client.go()
    run_id, points, *children = client.read("closed")
    assert client.process.wait(timeout=60) == 0
    assert "is back" in client.stderr()
    assert list(journal_dir.rglob("*.seg")) == []  # everything was sent, and acknowledged
    assert list(journal_dir.rglob("files/*")) == []

    local = restartable.local_store(workspace)
    assert int(points) == points_away + AWAY_POINTS
    assert _steps(local, run_id) == list(range(int(points)))  # none lost, none doubled
    (series,) = local.list_metric_series([run_id])
    assert series.count == int(points)
    run = local.get_run(run_id)
    parts = range(0, points_away, 500)
    assert run.status is RunStatus.COMPLETED
    assert dict(run.tags) == {
        **{f"t{step // 500}": str(step) for step in parts},
        "phase": "back",
    }
    outputs = {f"outputs/part-{step // 500}.txt": part(step // 500) for step in parts}
    outputs["outputs/final.txt"] = b"written after the outage"
    assert [a.path for a in local.list_artifacts(run_id)] == sorted(outputs)
    for path, data in outputs.items():
        assert _read(local, run_id, path) == data

    completed, failed, canceled, with_outputs = (local.get_run(c) for c in children)
    assert (completed.status, failed.status, canceled.status, with_outputs.status) == (
        RunStatus.COMPLETED,
        RunStatus.FAILED,
        RunStatus.CANCELED,
        RunStatus.COMPLETED,
    )
    assert failed.error is not None
    assert failed.error["error"]["message"] == "boom while the server was away"
    assert [a.path for a in local.list_artifacts(with_outputs.run_id)] == ["outputs/model.bin"]
    assert _read(local, with_outputs.run_id, "outputs/model.bin") == BIG
    local.close()


def test_outage_client_killed_while_away_is_sent_once_by_sync(
    restartable: Restartable, journal_dir: Path, tmp_path: Path, clients: list[Client]
) -> None:
    """A client killed while the server is away leaves its journal, with copies of the outputs
    of the run it completed (the outputs folder itself is gone): ``runyard sync`` sends it all.
    Sent again, as after a crash between "applied" and "acknowledged", it changes nothing."""
    workspace = restartable.up.new_workspace([Role.WRITER])
    client = Client("killed", workspace, tmp_path / "client")
    clients.append(client)
    client.read("ready")
    restartable.kill()
    client.go()
    run_id, kept, folder = client.read("kept")
    client.kill()
    journal = Path(folder)
    assert int(kept) > 0 and journal.parents[2] == journal_dir
    assert len(list((journal / "files").iterdir())) == 2  # copies of the two output files
    again = tmp_path / "again" / journal.relative_to(journal_dir)
    shutil.copytree(journal, again)  # as the journal was before sync acknowledged anything

    restartable.restart()
    first = _sync(workspace, journal_dir)
    assert first.returncode == 0, first.stderr
    assert f"Sent {kept} change(s)" in first.stdout
    assert f"2 put_new_artifact ({len(BIG) + len('kept while away')} bytes)" in first.stdout
    assert not journal.exists()
    resent = _sync(workspace, tmp_path / "again")
    assert resent.returncode == 0, resent.stderr
    assert f"Sent {kept} change(s)" in resent.stdout  # acknowledged, and applied once
    assert not again.exists()

    local = restartable.local_store(workspace)
    assert _steps(local, run_id) == list(range(1000))
    run = local.get_run(run_id)
    assert (run.status, dict(run.tags)) == (RunStatus.COMPLETED, {"phase": "away"})
    assert [a.path for a in local.list_artifacts(run_id)] == [
        "outputs/big.bin",
        "outputs/notes/readme.txt",
    ]
    assert _read(local, run_id, "outputs/big.bin") == BIG
    assert _read(local, run_id, "outputs/notes/readme.txt") == b"kept while away"
    local.close()
