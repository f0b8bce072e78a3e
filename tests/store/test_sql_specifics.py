"""What the contract cannot see of the SQL store: its schema and migrations, SQLite's settings, and
many processes writing one database at once.

Tests that take a ``target`` run on SQLite and on PostgreSQL, in a fresh database's ``public``
schema and in a schema of its own (as a server's workspace is); those named ``test_sqlite_...``
are about SQLite alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import queue
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, event, inspect, text

from runyard.entities import LoggedModelStatus, MetricKind, NewRun, RunQuery, RunStatus, ValueType
from runyard.errors import StoreError
from runyard.store.sql import SqlStore
from runyard.store.sql import engine as sql_engine
from runyard.store.sql.engine import create_sql_engine
from runyard.store.sql.migrate import STORE_MIGRATIONS, current_revision
from runyard.store.sql.schema import ModelRole, metadata
from tests.store import sql_workers
from tests.store.sql_workers import SqlTarget

WORKERS = 4
RUNS_PER_WORKER = 50
SQLITE, POSTGRESQL, POSTGRESQL_SCHEMA = "sqlite", "postgresql", "postgresql-schema"


def _target(request: pytest.FixtureRequest, tmp_path: Path) -> SqlTarget:
    artifact_root = str(tmp_path / "artifacts")
    if request.param == SQLITE:
        return SqlTarget(f"sqlite:///{tmp_path}/runyard.db", artifact_root)
    if request.param == POSTGRESQL:
        return SqlTarget(request.getfixturevalue("postgres_url"), artifact_root)
    assert request.param == POSTGRESQL_SCHEMA
    url = request.getfixturevalue("postgres_server_url")
    return SqlTarget(url, artifact_root, request.getfixturevalue("postgres_schema"))


@pytest.fixture(params=[SQLITE, POSTGRESQL, POSTGRESQL_SCHEMA])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> SqlTarget:
    """A store not created yet: an SQLite file, a fresh PostgreSQL database, or a new schema."""
    return _target(request, tmp_path)


@pytest.fixture(params=[SQLITE, POSTGRESQL_SCHEMA])
def busy_target(request: pytest.FixtureRequest, tmp_path: Path) -> SqlTarget:
    """``target`` for the slower tests: SQLite, and PostgreSQL as the server uses it."""
    return _target(request, tmp_path)


@pytest.fixture
def sqlite_target(tmp_path: Path) -> SqlTarget:
    return SqlTarget(f"sqlite:///{tmp_path}/runyard.db", str(tmp_path / "artifacts"))


@contextlib.contextmanager
def opened(target: SqlTarget) -> Iterator[SqlStore]:
    store = target.open()
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def store(target: SqlTarget) -> Iterator[SqlStore]:
    with opened(target) as store:
        yield store


@pytest.fixture
def busy_store(busy_target: SqlTarget) -> Iterator[SqlStore]:
    with opened(busy_target) as store:
        yield store


@contextlib.contextmanager
def engine_of(target: SqlTarget, schema: str | None = None) -> Iterator[Engine]:
    """A bare engine on the target (no migration), in ``schema`` (created) if given."""
    engine = create_sql_engine(target.url, schema or target.schema)
    try:
        if schema is not None:
            with engine.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield engine
        if schema is not None:
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        engine.dispose()


def describe_schema(engine: Engine) -> dict[str, dict[str, Any]]:
    """Every table's columns, keys, indexes and constraints, as the database reports them."""
    described: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        inspector = inspect(conn)
        for table in sorted(inspector.get_table_names()):
            if table == "alembic_version":
                continue

            def by_name(items: list[Any]) -> list[Any]:
                return sorted(items, key=lambda item: str(item["name"]))

            described[table] = {
                "columns": [
                    (c["name"], str(c["type"]), c["nullable"], c["default"])
                    for c in inspector.get_columns(table)
                ],
                "primary_key": inspector.get_pk_constraint(table),
                "foreign_keys": by_name(inspector.get_foreign_keys(table)),
                "indexes": by_name(inspector.get_indexes(table)),
                "unique": by_name(inspector.get_unique_constraints(table)),
                "checks": by_name(inspector.get_check_constraints(table)),
            }
    return described


# -- schema and migrations ---------------------------------------------------------------------


def test_migration_matches_schema_metadata(store: SqlStore) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_migration_creates_schema_constraints_by_name(
    store: SqlStore, target: SqlTarget, tmp_path: Path
) -> None:
    # compare_metadata skips CHECK constraints and most names: compare with create_all's result.
    if target.url.startswith("sqlite"):
        plain_target, schema = SqlTarget(f"sqlite:///{tmp_path}/plain.db", ""), None
    else:
        plain_target, schema = target, f"{target.schema or 'public'}_plain"
    with engine_of(plain_target, schema) as plain:
        metadata.create_all(plain)
        assert describe_schema(store.engine) == describe_schema(plain)


def test_migration_checks_allow_every_enum_value(store: SqlStore) -> None:
    # The migration spells the values out; a new status or kind needs a migration too.
    with store.engine.connect() as conn:
        inspector = inspect(conn)
        checks = {
            c["name"]: c["sqltext"]
            for table in ("runs", "metric_series", "logged_models", "run_models")
            for c in inspector.get_check_constraints(table)
        }
    enums: dict[str, set[str]] = {
        "ck_runs_status": {member.value for member in RunStatus},
        "ck_runs_stop_status": {RunStatus.CANCELED.value, RunStatus.FAILED.value},
        "ck_metric_series_kind": {member.value for member in MetricKind},
        "ck_metric_series_value_type": {member.value for member in ValueType},
        "ck_logged_models_status": {member.value for member in LoggedModelStatus},
        "ck_run_models_role": {member.value for member in ModelRole},
    }
    assert set(checks) == set(enums)
    for name, values in enums.items():
        assert set(re.findall(r"'([^']*)'", checks[name])) == values


def test_open_store_migrates_fresh_database_to_head(target: SqlTarget) -> None:
    with engine_of(target) as empty:
        assert current_revision(empty) is None
    with opened(target) as store:
        assert current_revision(store.engine) == STORE_MIGRATIONS.head


def test_open_store_existing_does_not_migrate_again(target: SqlTarget) -> None:
    with opened(target) as first:
        first.create_runs([NewRun("r", "exp")])
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(Engine, "before_cursor_execute", record)
    try:
        second = target.open()
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    try:
        # Up to date: no lock taken (a migration takes one), nothing created or written.
        locks = r"\s*(BEGIN IMMEDIATE|SELECT pg_advisory)"
        assert not [s for s in statements if re.match(locks, s, re.IGNORECASE)]
        writes = r"\s*(CREATE|ALTER|DROP|INSERT|UPDATE|DELETE)"
        assert not [s for s in statements if re.match(writes, s, re.IGNORECASE)]
        assert statements != []
        assert current_revision(second.engine) == STORE_MIGRATIONS.head
        assert second.get_run("r").number == 1
    finally:
        second.close()


# -- SQLite settings ---------------------------------------------------------------------------


def test_sqlite_store_uses_wal_and_foreign_keys(sqlite_target: SqlTarget, tmp_path: Path) -> None:
    with opened(sqlite_target) as store, store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
        # NORMAL in WAL: a committed transaction survives a crash of the process.
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1
    # WAL is a property of the file: every other connection finds it too.
    raw = sqlite3.connect(tmp_path / "runyard.db")
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        raw.close()


def test_sqlite_write_that_cannot_take_the_lock_raises_store_error(
    sqlite_target: SqlTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql_engine, "SQLITE_BUSY_TIMEOUT_SECONDS", 0.2)
    with opened(sqlite_target) as store:
        store.create_runs([NewRun(run_id="r", experiment_name="e")])
        other = sqlite3.connect(tmp_path / "runyard.db", isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            with pytest.raises(StoreError, match="database is locked"):
                store.set_tags("r", {"a": "1"})
            other.execute("ROLLBACK")
        finally:
            other.close()
        store.set_tags("r", {"a": "1"})  # the lock is free again
        assert store.get_run("r").tags == {"a": "1"}


# -- many writers ------------------------------------------------------------------------------


def run_processes(target: Callable[..., None], args: list[tuple[Any, ...]]) -> list[Any]:
    """Start one spawned process per ``args`` (each gets a shared barrier and result queue);
    return their results in worker order, failing with the traceback of any that raised."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    barrier = context.Barrier(len(args))
    processes = [context.Process(target=target, args=(*a, barrier, results)) for a in args]
    for process in processes:
        process.start()
    outcomes: dict[int, Any] = {}
    try:
        for _ in processes:
            worker, outcome = results.get(timeout=120)
            outcomes[worker] = outcome
    except queue.Empty:
        pytest.fail(f"Only workers {sorted(outcomes)} reported within 120 s.")
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
                process.join()
        results.close()
        results.join_thread()
    failures = [o for o in outcomes.values() if isinstance(o, str) and o.startswith("FAILED")]
    assert not failures, "\n\n".join(failures)
    assert [p.exitcode for p in processes] == [0] * len(processes)
    for process in processes:
        process.close()
    return [outcomes[worker] for worker in sorted(outcomes)]


@pytest.mark.slow
def test_many_processes_write_every_row_once(busy_store: SqlStore, busy_target: SqlTarget) -> None:
    store = busy_store
    store.create_runs([NewRun(sql_workers.SHARED_RUN, "setup")])
    numbers = run_processes(
        sql_workers.write_runs,
        [(busy_target, worker, RUNS_PER_WORKER) for worker in range(WORKERS)],
    )
    total = WORKERS * RUNS_PER_WORKER
    assert sorted(n for worker in numbers for n in worker) == list(range(1, total + 1))
    assert all(worker == sorted(worker) for worker in numbers)

    runs = store.search_runs(RunQuery(experiment_name="shared", page_size=total + 1)).runs
    assert sorted(run.number for run in runs) == list(range(1, total + 1))
    expected_ids = {f"w{w}-{i:03d}" for w in range(WORKERS) for i in range(RUNS_PER_WORKER)}
    assert {run.run_id for run in runs} == expected_ids
    for run in runs:
        worker, index = run.run_id[1:].split("-")
        assert run.tags == {"worker": worker, "step": str(int(index))}
        assert run.properties == {"worker": worker, "index": str(int(index))}
        assert run.heartbeat_time is not None
    series = store.list_metric_series(sorted(expected_ids))
    assert len(series) == total
    assert {(s.name, s.count) for s in series} == {("loss", 2)}

    (progress,) = store.read_metrics([sql_workers.SHARED_RUN], ["progress"])
    expected_points = [w * 1000 + i for w in range(WORKERS) for i in range(RUNS_PER_WORKER)]
    assert sorted(progress.values) == expected_points
    for worker in range(WORKERS):
        own = [v for v in progress.values if v // 1000 == worker]
        assert own == sorted(own)
    (summary,) = store.list_metric_series([sql_workers.SHARED_RUN])
    assert summary.count == total


@pytest.mark.slow
def test_concurrent_get_or_create_experiment_yields_one(target: SqlTarget) -> None:
    # The processes also open (and so migrate, creating the schema) the fresh database at the
    # same moment.
    ids = run_processes(
        sql_workers.get_or_create_experiment,
        [(target, worker, "raced") for worker in range(WORKERS)],
    )
    assert len(set(ids)) == 1
    with opened(target) as store:
        (experiment,) = store.list_experiments()
        assert (experiment.name, experiment.experiment_id) == ("raced", ids[0])
        runs = store.search_runs(RunQuery(experiment_name="raced")).runs
        assert sorted(run.number for run in runs) == list(range(1, WORKERS + 1))


@pytest.mark.slow
def test_concurrent_add_properties_one_value_wins(target: SqlTarget) -> None:
    with opened(target) as store:
        store.create_runs([NewRun("r", "raced")])
    outcomes = run_processes(
        sql_workers.add_raced_property, [(target, worker, "r") for worker in range(WORKERS)]
    )
    assert outcomes.count("won") == 1, outcomes
    winner = str(outcomes.index("won"))
    for outcome in outcomes:
        assert outcome == "won" or outcome.startswith("conflict: Property 'winner'"), outcome
    with opened(target) as store:
        # A refused call writes nothing: not even its other, unraced property.
        assert store.get_run("r").properties == {"winner": winner, f"w{winner}": "x"}


@pytest.mark.slow
def test_sqlite_concurrent_put_blob_stores_it_intact(sqlite_target: SqlTarget) -> None:
    # The bytes' race is the artifact folder's, whatever the database: SQLite stands for both.
    run_processes(sql_workers.put_same_blob, [(sqlite_target, worker) for worker in range(WORKERS)])
    data = sql_workers.blob_content()
    digest = hashlib.sha256(data).hexdigest()
    with opened(sqlite_target) as store:
        assert store.missing_blobs([digest]) == set()
        with store.open_blob(digest) as stream:
            assert stream.read() == data
    leftovers = [p.name for p in Path(sqlite_target.artifact_root).rglob("*") if p.is_file()]
    assert leftovers == [digest]


def test_threads_share_one_store(busy_store: SqlStore) -> None:
    store = busy_store
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(25):
                run_id = f"t{worker}-{i}"
                store.create_runs([NewRun(run_id, "threads")])
                store.set_tags(run_id, {"i": str(i)})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    runs = store.search_runs(RunQuery(experiment_name="threads")).runs
    assert sorted(run.number for run in runs) == list(range(1, WORKERS * 25 + 1))


def test_upgrade_from_0001_keeps_existing_runs(target: SqlTarget) -> None:
    target.migrate_to("0001")
    with engine_of(target) as old:
        assert current_revision(old) == "0001"
        with old.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO experiments (experiment_id, name, created_time, run_counter, "
                "tags_json) VALUES ('e1', 'old', 1.0, 1, '{}')"
            )
            conn.exec_driver_sql(
                "INSERT INTO runs (run_id, experiment_pk, number, status, target, created_time) "
                "VALUES ('kept', 1, 1, 'Completed', 'local', 1.0)"
            )
    with opened(target) as store:
        assert current_revision(store.engine) == STORE_MIGRATIONS.head
        kept = store.get_run("kept")
        assert (kept.status, kept.stop_status) == (RunStatus.COMPLETED, None)
        store.append_log("kept", "user_logs/std_log.txt", b"after the upgrade\n")
        assert store.read_log("kept", "user_logs/std_log.txt") == b"after the upgrade\n"
        (new,) = store.create_runs([NewRun("new", "old")])
        assert new.number == 2


def test_open_store_newer_than_runyard_is_refused(target: SqlTarget) -> None:
    with opened(target):
        pass
    with engine_of(target) as engine, engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(StoreError, match="revision 0099, which this runyard does not know"):
        target.open()
