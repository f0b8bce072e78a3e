"""Migration 0007: a store at revision 0006 gets the tables of logged models and of what runs
use and make; its runs (a deleted one too) then take models, datasets and outputs, and the
runs' artifacts hold the models' files.

As in ``test_upgrades.py``: the old store is made by its revision's migrations and plain SQL
(``make_fixtures``), on SQLite and on PostgreSQL (a fresh schema).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import inspect

from runyard.entities import (
    DatasetInput,
    LoggedModelQuery,
    LoggedModelStatus,
    ModelOutput,
    NewLoggedModel,
    RunIO,
)
from runyard.store.sql.migrate import current_revision
from tests.reliability import make_fixtures as data
from tests.reliability.old_stores import old_target, raw_engine
from tests.store.sql_workers import SqlTarget

NEW_TABLES = {
    "logged_models",
    "logged_model_tags",
    "logged_model_params",
    "logged_model_metrics",
    "run_inputs",
    "run_models",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> SqlTarget:
    target = old_target(request, tmp_path)
    with raw_engine(target) as engine:
        data.create(engine, "0006", target.schema)
        assert current_revision(engine) == "0006"
        assert not NEW_TABLES & set(inspect(engine).get_table_names())
    return target


def test_upgraded_runs_take_models_datasets_and_outputs(old_store: SqlTarget) -> None:
    store = old_store.open()  # opening migrates
    try:
        run_ids = [run["run_id"] for run in data.RUNS]
        assert store.get_run_io(run_ids) == {run_id: RunIO() for run_id in run_ids}
        assert store.search_logged_models(LoggedModelQuery()).models == []
        for run_id in ("run-1", data.DELETED["run_id"]):
            model_id = f"m-{run_id}"
            created = store.create_logged_model(NewLoggedModel(model_id, run_id, "model"))
            store.put_artifact(run_id, f"{created.artifact_path}/MLmodel", io.BytesIO(b"{}"))
            store.update_logged_model(model_id, LoggedModelStatus.READY)
            store.log_run_outputs(run_id, [ModelOutput(model_id)])
        dataset = DatasetInput("iris", "a1b2c3d4", "code", "{}")
        store.log_run_inputs("run-1", [dataset])
        assert store.get_run_io(["run-1"])["run-1"] == RunIO(
            datasets=(dataset,), model_outputs=(ModelOutput("m-run-1"),)
        )
        found = store.search_logged_models(LoggedModelQuery(experiment_names=["upgrades"]))
        assert [(m.model_id, m.experiment_name) for m in found.models] == [("m-run-1", "upgrades")]
        paths = [a.path for a in store.list_artifacts("run-1")]
        assert paths == ["models/m-run-1/MLmodel", data.MODEL[1]]
    finally:
        store.close()
