"""Migration 0006: a store at revision 0005 gets ``runs.deleted_time`` (every run it holds is not
deleted, and stays listed) and its listing indexes end with it; its runs can then be deleted and
restored.

As in ``test_upgrades.py``: the old store is made by its revision's migrations and plain SQL
(``make_fixtures``), on SQLite and on PostgreSQL (a fresh schema).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from runyard.entities import RunLifecycle, RunQuery
from runyard.store.sql.migrate import current_revision
from tests.reliability import make_fixtures as data
from tests.reliability.old_stores import old_target, raw_engine
from tests.store.sql_workers import SqlTarget

LISTING_INDEXES = {
    "ix_runs_experiment_pk_parent_pk_pk_deleted_time": [
        "experiment_pk",
        "parent_pk",
        "pk",
        "deleted_time",
    ],
    "ix_runs_parent_pk_pk_deleted_time": ["parent_pk", "pk", "deleted_time"],
    "ix_runs_root_pk_pk_deleted_time": ["root_pk", "pk", "deleted_time"],
    "ix_runs_status_pk_deleted_time": ["status", "pk", "deleted_time"],
}


@pytest.fixture(params=["sqlite", "postgresql"])
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> SqlTarget:
    target = old_target(request, tmp_path)
    with raw_engine(target) as engine:
        data.create(engine, "0005", target.schema)
        assert current_revision(engine) == "0005"
        assert "deleted_time" not in {c["name"] for c in inspect(engine).get_columns("runs")}
    return target


def test_upgrade_keeps_every_run_listed_and_not_deleted(old_store: SqlTarget) -> None:
    store = old_store.open()  # opening migrates
    try:
        for run in data.RUNS:
            assert store.get_run(run["run_id"]).deleted_time is None
        every = RunQuery(include_children=True)
        listed = [r.run_id for r in store.search_runs(every).runs]
        assert sorted(listed) == sorted(r["run_id"] for r in data.RUNS)
        assert store.count_runs(every) == len(data.RUNS)
        assert store.count_runs(RunQuery(include_children=True, lifecycle="deleted")) == 0
        # The old runs delete and restore like new ones.
        deleted = store.set_run_deleted("run-1", True)
        assert deleted.deleted_time is not None
        assert "run-1" not in [r.run_id for r in store.search_runs(every).runs]
        only_deleted = RunQuery(include_children=True, lifecycle=RunLifecycle.DELETED)
        assert [r.run_id for r in store.search_runs(only_deleted).runs] == ["run-1"]
        assert store.set_run_deleted("run-1", False).deleted_time is None
        assert store.get_run("run-1").tags == data.TAGS["run-1"]
    finally:
        store.close()


def test_upgrade_ends_the_listing_indexes_with_deleted_time(old_store: SqlTarget) -> None:
    old_store.open().close()
    with raw_engine(old_store) as engine:
        indexes = {i["name"]: i["column_names"] for i in inspect(engine).get_indexes("runs")}
    for name, columns in LISTING_INDEXES.items():
        assert indexes.get(name) == columns, name
    replaced = {"ix_runs_experiment_pk_parent_pk_pk", "ix_runs_parent_pk_pk"}
    assert not replaced & indexes.keys()
