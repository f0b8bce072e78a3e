"""Applied request ids are forgotten after the retention (issue 8, item 9): the table that
makes retried writes apply once does not grow for ever. On SQLite and PostgreSQL, reading the
table itself."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from runyard.entities import MetricChunk, MetricKind, NewRun, ValueType
from runyard.store.sql import SqlStore, requests
from runyard.store.sql.schema import applied_requests

DAY = 24 * 3600.0


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    if request.param == "sqlite":
        opened = SqlStore(f"sqlite:///{tmp_path}/runyard.db", str(tmp_path / "artifacts"))
    else:
        url = request.getfixturevalue("postgres_server_url")
        schema = request.getfixturevalue("postgres_schema")
        opened = SqlStore(url, str(tmp_path / "artifacts"), schema=schema)
    opened.create_runs([NewRun("r", "exp")])
    yield opened
    opened.close()


def _log(store: SqlStore, request_id: str) -> None:
    point = MetricChunk("r", "m", MetricKind.VECTOR, ValueType.NUMBER, [1.0], [time.time()])
    store.log_metrics([point], request_id=request_id)


def _remembered(store: SqlStore) -> set[str]:
    with store.engine.connect() as conn:
        return set(conn.execute(select(applied_requests.c.request_id)).scalars())


def _age(store: SqlStore, request_id: str, seconds: float) -> None:
    """Make ``request_id`` look applied ``seconds`` ago."""
    with store.engine.begin() as conn:
        conn.execute(
            update(applied_requests)
            .where(applied_requests.c.request_id == request_id)
            .values(applied_time=time.time() - seconds)
        )


def _points(store: SqlStore) -> int:
    return store.list_metric_series(["r"])[0].count


def test_applied_requests_older_than_retention_are_forgotten(store: SqlStore) -> None:
    assert store.request_retention_seconds == requests.RETENTION_SECONDS == 7 * DAY
    _log(store, "old")
    _log(store, "recent")
    _age(store, "old", 8 * DAY)
    _age(store, "recent", 6 * DAY)
    store._next_prune = 0.0  # as a store opened now: its first write with an id prunes
    _log(store, "new")
    assert _remembered(store) == {"recent", "new"}
    # Documented: a request older than the retention is applied again; a recent one is not.
    _log(store, "recent")
    assert _points(store) == 3
    _log(store, "old")
    assert _points(store) == 4


def test_applied_requests_pruned_at_most_once_an_hour(store: SqlStore) -> None:
    _log(store, "first")  # the store's first write with an id: prunes (nothing yet)
    _age(store, "first", 8 * DAY)
    _log(store, "second")
    assert _remembered(store) == {"first", "second"}
    store._next_prune = time.monotonic() - 1  # an hour later
    _log(store, "third")
    assert _remembered(store) == {"second", "third"}


def test_applied_requests_long_backlog_is_pruned_in_batches(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(requests, "PRUNE_BATCH", 3)
    for number in range(8):
        _log(store, f"old-{number}")
        _age(store, f"old-{number}", 8 * DAY)
    store._next_prune = 0.0
    _log(store, "new")
    assert _remembered(store) == {"new"}
