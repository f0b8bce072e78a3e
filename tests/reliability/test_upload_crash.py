"""Uploads that die: a process uploading a large artifact, SIGKILLed half-way, through the SQL
store (SQLite and PostgreSQL) and through a tracking server (the server killed, or its client).
The path must never stay wedged: the next upload of it takes the dead one over (or a process
opening the store reclaims it), and no partial file stays behind.

The uploads are real: a worker process (``tests/store/upload_worker.py``) streams a 2 GiB file
into the store and is killed once some of it is on disk; nothing is mocked.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from runyard.entities import NewRun
from runyard.errors import ArtifactExistsError, ArtifactNotFoundError
from runyard.server.config import ServerConfig
from runyard.server.control import Role
from runyard.store import Store
from runyard.store.http.store import HttpStore
from runyard.store.sql import store as sql_store
from runyard.store.sql.engine import create_sql_engine
from runyard.store.sql.migrate import STORE_MIGRATIONS, upgrade
from tests.server.process import ServerProcess, start
from tests.server.process import Workspace as ServerWorkspace
from tests.store.sql_workers import SqlTarget
from tests.store.uploads import (
    MiB,
    backing_of,
    leftovers,
    sql_spec,
    stored_bytes,
    upload_worker,
)

HUGE = 2048 * MiB
"""What a worker sets out to upload: far more than it gets to write before it is killed."""
ON_DISK = 16 * MiB
"""Killed once this much of it is in the artifact root."""
PATH = "outputs/model.bin"


def wait_until(condition: Callable[[], bool], what: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.01)


def read(store: Store, run_id: str, path: str) -> bytes:
    with store.open_artifact(run_id, path) as stream:
        return stream.read()


def assert_path_is_free(store: Store, target: SqlTarget) -> None:
    """The dead upload left nothing: the path is not listed nor readable, takes a new upload,
    which is listed and read back whole; no partial file is left."""
    assert store.list_artifacts("r") == []
    with pytest.raises(ArtifactNotFoundError):
        store.open_artifact("r", PATH)
    data = random.Random(3).randbytes(8 * MiB + 5)
    info = store.put_artifact("r", PATH, io.BytesIO(data))
    assert store.list_artifacts("r") == [info]
    assert info.size == len(data)
    assert read(store, "r", PATH) == data
    assert leftovers(target) == []


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> SqlTarget:
    if request.param == "sqlite":
        return SqlTarget(f"sqlite:///{tmp_path}/runyard.db", str(tmp_path / "artifacts"))
    url = request.getfixturevalue("postgres_server_url")
    return SqlTarget(url, str(tmp_path / "artifacts"), request.getfixturevalue("postgres_schema"))


@pytest.fixture
def store(target: SqlTarget) -> Iterator[Store]:
    store = target.open()
    store.create_runs([NewRun("r", "crashes")])
    yield store
    store.close()


def pending_rows(target: SqlTarget) -> int:
    engine = create_sql_engine(target.url, target.schema)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM artifacts")).scalar_one())
    finally:
        engine.dispose()


# -- through the SQL store ------------------------------------------------------------------------


def test_upload_killed_mid_way_leaves_the_path_free(store: Store, target: SqlTarget) -> None:
    with upload_worker(sql_spec(target, "r", PATH, HUGE, stall=False)) as worker:
        wait_until(lambda: stored_bytes(target) >= ON_DISK, "the upload is under way")
        worker.kill()
    assert stored_bytes(target) >= ON_DISK  # the dead upload's bytes, for now

    assert_path_is_free(store, target)


def test_upload_killed_mid_way_is_reclaimed_when_the_store_is_opened(
    store: Store, target: SqlTarget
) -> None:
    with upload_worker(sql_spec(target, "r", PATH, 6 * MiB)) as worker:
        worker.wait_stalled()
        worker.kill()
    assert leftovers(target) != []

    target.open().close()  # any process opening the store reclaims dead uploads

    assert leftovers(target) == []
    assert pending_rows(target) == 0
    assert_path_is_free(store, target)


def test_opening_the_store_leaves_a_live_upload_alone(store: Store, target: SqlTarget) -> None:
    with upload_worker(sql_spec(target, "r", PATH, 6 * MiB, tail=MiB)) as worker:
        worker.wait_stalled()
        target.open().close()
        assert worker.resume() == f"done {7 * MiB}"
    (info,) = store.list_artifacts("r")
    assert (info.path, info.size) == (PATH, 7 * MiB)
    assert leftovers(target) == []


def test_live_upload_is_never_taken_over_while_it_makes_progress(
    store: Store, target: SqlTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The default stale time (300 s); the wait for a live upload to end, shortened.
    monkeypatch.setattr(sql_store, "PENDING_UPLOAD_WAIT_SECONDS", 0.2)
    with upload_worker(sql_spec(target, "r", PATH, 6 * MiB, tail=MiB)) as worker:
        worker.wait_stalled()
        with pytest.raises(ArtifactExistsError, match=r"is being uploaded by process \d+"):
            store.put_artifact("r", PATH, io.BytesIO(b"meanwhile"))
        with pytest.raises(ArtifactExistsError, match=r"clashes with .* being uploaded"):
            store.put_artifact("r", "outputs", io.BytesIO(b"a file where its folder is"))
        assert worker.resume() == f"done {7 * MiB}"
    (info,) = store.list_artifacts("r")
    assert (info.path, info.size) == (PATH, 7 * MiB)
    assert leftovers(target) == []


def test_upload_killed_mid_way_does_not_block_a_clashing_path(
    store: Store, target: SqlTarget
) -> None:
    with upload_worker(sql_spec(target, "r", "outputs/d/inner.bin", 6 * MiB)) as worker:
        worker.wait_stalled()
        worker.kill()

    # "outputs/d" as a file would clash with the folder of the dead upload, which is gone.
    info = store.put_artifact("r", "outputs/d", io.BytesIO(b"a file now"))
    assert store.list_artifacts("r") == [info]
    assert read(store, "r", "outputs/d") == b"a file now"
    assert leftovers(target) == []


def test_store_wedged_by_an_older_runyard_heals(tmp_path: Path) -> None:
    """A store of revision 0003 whose upload died (a reservation, a partial file beside the
    target): once upgraded, the reservation is reclaimed by age and the partial file goes."""
    target = SqlTarget(f"sqlite:///{tmp_path}/runyard.db", str(tmp_path / "artifacts"))
    engine = create_sql_engine(target.url)
    upgrade(engine, STORE_MIGRATIONS, revision="0003")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO experiments (experiment_id, name, created_time, run_counter, tags_json) "
            "VALUES ('e1', 'old', 1.0, 1, '{}')"
        )
        conn.exec_driver_sql(
            "INSERT INTO runs (run_id, experiment_pk, number, status, target, created_time) "
            "VALUES ('r', 1, 1, 'Running', 'local', 1.0)"
        )
        conn.exec_driver_sql(
            "INSERT INTO artifacts (run_pk, path, size, created_time, complete) "
            f"VALUES (1, '{PATH}', 0, {time.time() - 3600}, 0)"
        )
    engine.dispose()
    partial = tmp_path / "artifacts" / "runs" / "r" / f"{PATH}.partial-{'0a' * 16}"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(bytes(MiB))

    with contextlib.closing(target.open()) as store:
        assert_path_is_free(store, target)


# -- through a tracking server ----------------------------------------------------------------


def server_store(server: ServerProcess, name: str, token: str, tmp_path: Path) -> HttpStore:
    return HttpStore(f"{server.url}/{name}", token, journal_dir=tmp_path / "journal")


def _client_upload(workspace: ServerWorkspace, tmp_path: Path) -> dict[str, Any]:
    """The worker's spec: a huge upload of ``PATH`` to run ``r`` through the server, as a
    client (its own journal), never stalling."""
    return {
        "tracking_uri": workspace.uri,
        "token": workspace.writer,
        "journal_dir": str(tmp_path / "worker-journal"),
        "run_id": "r",
        "path": PATH,
        "size": HUGE,
        "stall": False,
    }


def test_server_killed_mid_upload_leaves_the_path_free(tmp_path: Path) -> None:
    server = start(tmp_path)
    try:
        workspace = server.new_workspace([Role.WRITER])
        first = server_store(server, workspace.name, workspace.writer, tmp_path)
        with contextlib.closing(first):
            first.create_runs([NewRun("r", "crashes")])
            backing = backing_of(ServerConfig(data=str(server.data)), first)
        spec = _client_upload(workspace, tmp_path)
        with upload_worker(spec) as worker:
            wait_until(lambda: stored_bytes(backing) >= ON_DISK, "the upload is under way")
            os.killpg(server.process.pid, signal.SIGKILL)  # the server and its workers
            server.process.wait(timeout=30)
            worker.kill()
    finally:
        server.stop()

    restarted = start(tmp_path)  # the same data folder, a new process
    try:
        with contextlib.closing(
            server_store(restarted, workspace.name, workspace.writer, tmp_path)
        ) as store:
            assert_path_is_free(store, backing)
    finally:
        restarted.stop()


def test_client_killed_mid_upload_leaves_the_path_free(tmp_path: Path) -> None:
    server = start(tmp_path)
    try:
        workspace = server.new_workspace([Role.WRITER])
        with contextlib.closing(
            server_store(server, workspace.name, workspace.writer, tmp_path)
        ) as store:
            store.create_runs([NewRun("r", "crashes")])
            backing = backing_of(ServerConfig(data=str(server.data)), store)
            spec = _client_upload(workspace, tmp_path)
            with upload_worker(spec) as worker:
                wait_until(lambda: stored_bytes(backing) >= ON_DISK, "the upload is under way")
                worker.kill()
            # The server sees the connection drop and gives the path up.
            wait_until(lambda: stored_bytes(backing) == 0, "the server dropped the upload")
            assert_path_is_free(store, backing)
    finally:
        server.stop()
