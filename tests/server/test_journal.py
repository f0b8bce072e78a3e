"""No lost data while the server is away: the HTTP store's journal, and ``runyard sync``.

Real servers on 127.0.0.1, stopped by their process id (SIGKILL, as a crash) and started again
on the same port with the same data folder; real client processes, killed the same way.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest

from runyard import Experiment, Workspace
from runyard.entities import STOP_STATUSES, MetricChunk, MetricKind, NewRun, RunStatus, ValueType
from runyard.errors import StoreError, UserError
from runyard.server.control import Role
from runyard.store import Store
from runyard.store.http.journal import iter_records
from runyard.store.http.records import SEGMENT_MAGIC
from runyard.store.http.store import HttpStore
from tests.cli.conftest import Invoke
from tests.server.process import Restartable
from tests.store import status_changes

CLIENTS = Path(__file__).with_name("clients.py")


@pytest.fixture
def restartable(tmp_path: Path) -> Iterator[Restartable]:
    server = Restartable(tmp_path / "server")
    yield server
    server.stop()


def _points(run_id: str, start: int, stop: int) -> MetricChunk:
    values = list(range(start, stop))
    return MetricChunk(
        run_id, "step", MetricKind.VECTOR, ValueType.NUMBER, values, [float(v) for v in values]
    )


def _steps(store: Store, run_id: str) -> list[int]:
    (data,) = store.read_metrics([run_id], ["step"])
    return list(data.values)


def test_journal_run_keeps_logging_while_the_server_is_away(
    restartable: Restartable, journal_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = restartable.up.new_workspace([Role.WRITER])
    monkeypatch.setenv("RUNYARD_TOKEN", workspace.writer)
    sdk = Workspace(workspace.uri)
    store = cast(HttpStore, sdk.store)
    run = Experiment(sdk, "away").start_logging(snapshot_directory=None, outputs=False)
    for step in range(100):
        run.log("step", step)
    run.tag("phase", "before")
    sdk.flush()

    restartable.kill()
    for step in range(100, 200):
        run.log("step", step)
    sdk.flush()  # written to the journal, after the transport's retries: no error
    assert store.journal_pending >= 1
    # The store's tag verbs themselves (Run.tag calls them too, and reads nothing back).
    store.set_tags(run.id, {"phase": "away", "offline": None})
    store.remove_tags(run.id, ["nothing-to-remove"])
    for step in range(200, 250):
        run.log("step", step)
    run.complete()  # flushes, then the status change: kept, answered from local knowledge
    assert run.status == "Completed"
    kept = store.journal_pending
    assert kept >= 5
    assert sorted(p.name for p in store.journal_path.glob("*.seg")) == ["00000001.seg"]
    with pytest.raises(StoreError, match=f"{kept} change\\(s\\) are kept in the journal at"):
        store.get_run(run.id)

    restartable.restart()
    # A read sends what is kept first (in order), so it sees every change made before it.
    assert run.get_metrics()["step"] == list(range(250))
    info = store.get_run(run.id)
    assert (info.status, info.tags) == (RunStatus.COMPLETED, {"phase": "away", "offline": None})
    assert store.journal_pending == 0
    sdk.close()
    assert not store.journal_path.exists()  # an empty journal is removed with its store

    local = restartable.local_store(workspace)
    assert _steps(local, run.id) == list(range(250))  # no gap, no duplicate
    (series,) = local.list_metric_series([run.id])
    assert series.count == 250
    local.close()
    assert list(journal_dir.rglob("*.seg")) == []


def test_journal_offline_guess_of_status_changes_is_what_the_server_returns(
    restartable: Restartable,
) -> None:
    """While the server is away, the HTTP store answers status changes and stop requests with
    its guess of the run; once the journal is sent, the server holds that very run (times are
    the server's own: they are compared as set or kept)."""
    workspace = restartable.up.new_workspace([Role.WRITER])
    store = HttpStore(workspace.uri, workspace.writer, retries=0)
    sequences = status_changes.SEQUENCES
    created = store.create_runs(
        [NewRun(f"r{i}", "guess", status=s) for i, (s, _) in enumerate(sequences.values())]
    )
    restartable.kill()
    guesses, kept = [], 0
    for before, (name, (_, changes)) in zip(created, sequences.items(), strict=True):
        guess = before
        for change in changes:
            try:
                guess = change.make(store, before.run_id)
            except UserError:  # a stop as neither Canceled nor Failed: refused, not kept
                assert change.status not in STOP_STATUSES
                continue
            kept += 1
        guesses.append((name, before, guess))
    assert store.journal_pending == kept

    restartable.restart()
    for name, before, guess in guesses:
        stored = store.get_run(before.run_id)  # sends the journal first
        assert status_changes.comparable(stored, before) == status_changes.comparable(
            guess, before
        ), name
    assert store.journal_pending == 0
    store.close()


def test_journal_of_a_killed_client_is_sent_once_by_sync(
    restartable: Restartable, journal_dir: Path, cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = restartable.up.new_workspace([Role.WRITER])
    with subprocess.Popen(
        [sys.executable, str(CLIENTS), "offline", workspace.uri, workspace.writer, "k"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as client:
        try:
            assert client.stdout is not None and client.stdin is not None
            assert client.stdout.readline() == "ready\n"
            restartable.kill()
            client.stdin.write("go\n")
            client.stdin.flush()
            _, pending, folder = client.stdout.readline().split()
        finally:
            client.kill()  # SIGKILL: no exit hook runs, the journal stays as it is
            client.wait(timeout=10)
    assert int(pending) == 13  # 10 metric batches, a tag, a log line, the status
    assert Path(folder).parents[2] == journal_dir  # <root>/<host_port>/<workspace>/<client id>
    assert [r.verb for r in iter_records(Path(folder))][-3:] == [
        "set_tags",
        "append_log",
        "set_run_status",
    ]

    restartable.restart()
    monkeypatch.setenv("RUNYARD_TOKEN", workspace.writer)
    first = cli("sync", "--journal-dir", str(journal_dir))
    assert first.exit_code == 0, first.output
    assert f"Sent 13 change(s) from {folder} to {workspace.uri}" in first.stdout
    assert "10 log_metrics (100 points)" in first.stdout
    assert not Path(folder).exists()
    second = cli("sync", "--journal-dir", str(journal_dir))
    assert second.exit_code == 0, second.output
    assert second.stdout.startswith("No journal to send")

    local = restartable.local_store(workspace)
    assert _steps(local, "k") == list(range(150))
    info = local.get_run("k")
    assert (info.status, info.tags) == (RunStatus.COMPLETED, {"phase": "offline"})
    assert local.read_log("k", "user_logs/std_log.txt") == b"kept while away\n"
    local.close()


def test_sync_ignores_a_torn_last_record_and_stops_at_a_corrupt_one(
    restartable: Restartable, tmp_path: Path, cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = restartable.up.new_workspace([Role.WRITER])
    torn_root, corrupt_root = tmp_path / "torn", tmp_path / "corrupt"
    store = HttpStore(workspace.uri, workspace.writer, retries=0, journal_dir=torn_root)
    store.create_runs([NewRun("t", "torn")])
    restartable.kill()
    for batch in range(5):
        store.log_metrics([_points("t", 10 * batch, 10 * batch + 10)])
    folder = store.journal_path
    store.close()  # the server is away: the journal stays, for `runyard sync`
    (segment,) = folder.glob("*.seg")
    data = segment.read_bytes()
    assert data.startswith(SEGMENT_MAGIC) and len(list(iter_records(folder))) == 5

    # A copy whose third record has a byte flipped in the middle of its payload.
    copy = corrupt_root / folder.relative_to(torn_root)
    copy.mkdir(parents=True)
    for path in folder.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    third = data.index(b"RYRC", data.index(b"RYRC", data.index(b"RYRC") + 1) + 1)
    flipped = bytearray(data)
    flipped[third + 40] ^= 0xFF
    (copy / segment.name).write_bytes(bytes(flipped))
    # The original loses the end of its last record, as when a writer is killed mid-append.
    segment.write_bytes(data[:-7])

    restartable.restart()
    monkeypatch.setenv("RUNYARD_TOKEN", workspace.writer)
    corrupt = cli("sync", "--journal-dir", str(corrupt_root))
    assert corrupt.exit_code == 1
    assert f"The journal file {copy / segment.name} is corrupt at byte {third}" in corrupt.output
    assert (copy / segment.name).exists()
    local = restartable.local_store(workspace)
    assert local.list_metric_series(["t"]) == []  # nothing from a corrupt journal was sent

    torn = cli("sync", "--journal-dir", str(torn_root), "--tracking-uri", workspace.uri)
    assert torn.exit_code == 0, torn.output
    assert "Ignored a torn last record (" in torn.output
    assert "Sent 4 change(s)" in torn.stdout
    assert _steps(local, "t") == list(range(40))
    local.close()


def test_journal_complete_with_outputs_while_the_server_is_away(
    restartable: Restartable, journal_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``run.complete()`` uploads ``./outputs`` before the status change: while the server is
    away both wait in the journal (the files as copies: the user may delete them at once), and
    reach the server in that order once it is back."""
    workspace = restartable.up.new_workspace([Role.WRITER])
    monkeypatch.setenv("RUNYARD_TOKEN", workspace.writer)
    sdk = Workspace(workspace.uri)
    store = cast(HttpStore, sdk.store)
    run = Experiment(sdk, "away").start_logging(snapshot_directory=None)
    (tmp_path / "outputs" / "early.txt").write_text("uploaded before")
    run.upload_file("outputs/early.txt", str(tmp_path / "outputs" / "early.txt"))
    run.log("loss", 0.5)

    restartable.kill()
    (tmp_path / "outputs" / "model").mkdir()
    (tmp_path / "outputs" / "model" / "weights.bin").write_bytes(b"\x00\x01" * 1000)
    (tmp_path / "outputs" / "early.txt").write_text("changed after its upload: not sent")
    run.complete()
    assert run.status == "Completed"
    # Which files the server has is unknown while it is away: every file is kept, and one the
    # server holds already (early.txt) keeps what it holds.
    records = list(iter_records(store.journal_path))
    assert [r.verb for r in records][-3:] == ["put_new_artifact"] * 2 + ["set_run_status"]
    uploads = {r.params["path"]: r.file for r in records if r.params and r.file}
    assert sorted(uploads) == ["outputs/early.txt", "outputs/model/weights.bin"]
    assert all((store.journal_path / copy).is_file() for copy in uploads.values())
    shutil.rmtree(tmp_path / "outputs")  # the copies in the journal are what is sent

    restartable.restart()
    sdk.close()
    assert not store.journal_path.exists()
    local = restartable.local_store(workspace)
    assert local.get_run(run.id).status is RunStatus.COMPLETED
    assert [a.path for a in local.list_artifacts(run.id)] == [
        "outputs/early.txt",
        "outputs/model/weights.bin",
    ]
    with local.open_artifact(run.id, "outputs/model/weights.bin") as stream:
        assert stream.read() == b"\x00\x01" * 1000
    with local.open_artifact(run.id, "outputs/early.txt") as stream:
        assert stream.read() == b"uploaded before"
    local.close()
