"""What the contract cannot see of the store on PostgreSQL: workspaces in schemas of one database,
the database's errors as runyard errors, and queue decisions under concurrency."""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from runyard.entities import MetricChunk, MetricKind, NewRun, RunQuery, RunStatus, ValueType
from runyard.errors import RunNotFoundError, StoreError, UserError, WorkspaceConfigError
from runyard.store.sql import SqlStore
from runyard.store.sql.schema import metadata

UNREACHABLE = "postgresql+psycopg://runyard:s3cret@127.0.0.1:1/runyard"
"""A URL with a password, where nothing listens (port 1)."""


@pytest.fixture
def store(postgres_server_url: str, postgres_schema: str, tmp_path: Path) -> Iterator[SqlStore]:
    store = SqlStore(postgres_server_url, str(tmp_path / "artifacts"), schema=postgres_schema)
    yield store
    store.close()


def _tables_by_schema(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT table_schema, count(*) FROM information_schema.tables "
                "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
                "GROUP BY table_schema"
            )
        )
        return {schema: count for schema, count in rows}


def _loss(run_id: str, values: list[float]) -> MetricChunk:
    times = [1000.0 + i for i in range(len(values))]
    return MetricChunk(run_id, "loss", MetricKind.VECTOR, ValueType.NUMBER, values, times)


# -- a store per schema ------------------------------------------------------------------------


def test_postgres_schema_stores_are_isolated(postgres_url: str, tmp_path: Path) -> None:
    a = SqlStore(postgres_url, str(tmp_path / "a"), schema="ws_a")
    b = SqlStore(postgres_url, str(tmp_path / "b"), schema="ws_b")
    try:
        # The same names in both: no clash, and numbers count per store.
        a.create_runs([NewRun("r", "exp", tags={"in": "a"}, properties={"p": "a"})])
        a.create_runs([NewRun("r2", "exp")])
        b.create_runs([NewRun("r", "exp", tags={"in": "b"})])
        assert (a.get_run("r2").number, b.get_run("r").number) == (2, 1)
        assert b.get_run("r").tags == {"in": "b"}
        assert b.get_run("r").properties == {}
        with pytest.raises(RunNotFoundError):
            b.get_run("r2")

        a.log_metrics([_loss("r", [1.0, 0.5])])
        a.append_log("r", "user_logs/std_log.txt", b"of a\n")
        a.put_artifact("r", "outputs/x.txt", io.BytesIO(b"of a"))
        data = b"blob of a"
        a.put_blob(hashlib.sha256(data).hexdigest(), io.BytesIO(data))
        b.set_experiment_archived("exp", True)

        assert b.list_metric_series(["r"]) == []
        assert b.list_logs("r") == {}
        assert b.list_artifacts("r") == []
        assert b.missing_blobs([hashlib.sha256(data).hexdigest()]) == {
            hashlib.sha256(data).hexdigest()
        }
        assert [e.name for e in a.list_experiments()] == ["exp"]
        assert b.list_experiments() == []
        assert [r.run_id for r in a.search_runs(RunQuery()).runs] == ["r2", "r"]
        assert b.count_runs(RunQuery()) == 1

        # The database's public schema is a third store, empty: it sees neither.
        public = SqlStore(postgres_url, str(tmp_path / "public"))
        try:
            assert public.count_runs(RunQuery()) == 0
            tables = len(metadata.tables) + 1  # and alembic_version
            assert _tables_by_schema(public.engine) == {
                "ws_a": tables,
                "ws_b": tables,
                "public": tables,
            }
        finally:
            public.close()
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize(
    "schema", ["", "Upper", "has-dash", 'x"; DROP SCHEMA public; --', "pg_temp_x", "s" * 64]
)
def test_postgres_schema_name_must_be_plain(schema: str, tmp_path: Path) -> None:
    # Refused before any connection is made: nothing listens at that URL.
    with pytest.raises(WorkspaceConfigError, match="schema name"):
        SqlStore(UNREACHABLE, str(tmp_path), schema=schema)


def test_sqlite_store_refuses_a_schema(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceConfigError, match="only be given for a PostgreSQL store"):
        SqlStore(f"sqlite:///{tmp_path}/runyard.db", str(tmp_path), schema="ws_a")
    assert not (tmp_path / "runyard.db").exists()


# -- errors ------------------------------------------------------------------------------------


def test_postgres_unreachable_server_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="Cannot open the store") as raised:
        SqlStore(UNREACHABLE, str(tmp_path))
    assert "s3cret" not in raised.value.message


def test_postgres_failure_is_a_store_error(
    store: SqlStore, postgres_admin: Engine, postgres_schema: str
) -> None:
    store.create_runs([NewRun("r", "exp")])
    with postgres_admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{postgres_schema}" CASCADE'))
    with pytest.raises(StoreError, match=f"schema {postgres_schema}") as raised:
        store.set_tags("r", {"k": "v"})
    assert ":runyard@" not in raised.value.message  # the password stays out of messages


def test_postgres_refused_value_is_a_user_error(store: SqlStore) -> None:
    # PostgreSQL text cannot hold NUL characters (SQLite's can).
    store.create_runs([NewRun("r", "exp")])
    with pytest.raises(UserError, match="NUL"):
        store.set_tags("r", {"a": "1", "b": "nul\x00inside"})
    assert store.get_run("r").tags == {}


# -- concurrency -------------------------------------------------------------------------------


def test_postgres_concurrent_claims_respect_the_limit(store: SqlStore) -> None:
    run_ids = [f"q{i}" for i in range(8)]
    store.create_runs([NewRun(run_id, "queue", status=RunStatus.QUEUED) for run_id in run_ids])
    for run_id in run_ids:
        store.heartbeat(run_id)
    long_ago = time.time() - 3600
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def claim() -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(3):
                for run_id in run_ids:
                    store.claim_queued_run(run_id, "local", 2, long_ago)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    statuses = {run.run_id: run.status for run in store.search_runs(RunQuery()).runs}
    assert statuses == {
        run_id: RunStatus.STARTING if run_id in ("q0", "q1") else RunStatus.QUEUED
        for run_id in run_ids
    }


def test_postgres_stop_request_during_claims_is_kept(store: SqlStore) -> None:
    # A claim and a stop request of the same queued run at once: whichever comes second sees
    # the first's result, so a run that ended is never moved back to Starting.
    run_ids = [f"q{i}" for i in range(20)]
    store.create_runs([NewRun(run_id, "queue", status=RunStatus.QUEUED) for run_id in run_ids])
    for run_id in run_ids:
        store.heartbeat(run_id)
    long_ago = time.time() - 3600
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def claim() -> None:
        try:
            barrier.wait(timeout=30)
            for run_id in run_ids:
                store.claim_queued_run(run_id, "local", len(run_ids), long_ago)
        except BaseException as exc:
            errors.append(exc)

    def stop() -> None:
        try:
            barrier.wait(timeout=30)
            for run_id in run_ids:
                store.request_stop(run_id, RunStatus.CANCELED)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=claim), threading.Thread(target=stop)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for run in store.search_runs(RunQuery()).runs:
        # Canceled before its claim, or claimed and then asked to stop: never simply Starting.
        assert (run.status, run.stop_status) in (
            (RunStatus.CANCELED, None),
            (RunStatus.CANCEL_REQUESTED, RunStatus.CANCELED),
        ), run


# -- one connection pool per database ------------------------------------------------------------


@pytest.mark.slow
def test_postgres_many_schema_stores_share_one_pool(postgres_url: str, tmp_path: Path) -> None:
    # More stores open at once than the test server allows connections (100): each store of
    # its own pool would run out; one pool per database and process holds at most its size.
    stores = []
    try:
        for i in range(110):
            store = SqlStore(postgres_url, str(tmp_path / f"a{i}"), schema=f"ws_{i}")
            stores.append(store)
            store.create_runs([NewRun(f"run-{i}", "exp")])
        for i, store in enumerate(stores):
            assert [r.run_id for r in store.search_runs(RunQuery()).runs] == [f"run-{i}"]
        with stores[0].engine.connect() as conn:
            database = conn.execute(text("SELECT current_database()")).scalar_one()
            held = conn.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE datname = :db"),
                {"db": database},
            ).scalar_one()
        assert held <= 15  # the pool's size and overflow (5 + 10)
    finally:
        for store in stores:
            store.close()


@pytest.mark.slow
def test_postgres_schema_stores_sharing_a_pool_stay_isolated_under_threads(
    postgres_url: str, tmp_path: Path
) -> None:
    stores = [SqlStore(postgres_url, str(tmp_path / f"a{i}"), schema=f"ws_{i}") for i in range(6)]
    errors: list[BaseException] = []

    def work(index: int) -> None:
        store = stores[index]
        try:
            for step in range(30):
                store.create_runs([NewRun(f"s{index}-{step}", "exp")])
                if step % 7 == 0:  # a refused write rolls its transaction back
                    with pytest.raises(UserError):
                        store.create_runs([NewRun(f"s{index}-{step}", "exp")])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert errors == []
        for index, store in enumerate(stores):
            ids = {r.run_id for r in store.search_runs(RunQuery(page_size=100)).runs}
            assert ids == {f"s{index}-{step}" for step in range(30)}
    finally:
        for store in stores:
            store.close()
