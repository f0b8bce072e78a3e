"""Migration 0009: a store at revision 0008 that holds runyard's former spellings (run type
``runyard.scriptrun``, tag ``runyard.batch_child_number``, properties
``runyard.ComputeTargetType`` and ``runyard.git.*``) reads with Azure ML's names once opened, so
that ported code filtering on them finds the old runs.

As in ``test_upgrades.py``: the old store is made by its revision's migrations and plain SQL
(``make_fixtures``), on SQLite and on PostgreSQL (a fresh schema).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from runyard.entities import RunQuery, TagFilter
from runyard.store.sql.migrate import current_revision
from tests.reliability import make_fixtures as data
from tests.reliability.old_stores import old_target, raw_engine
from tests.store.sql_workers import SqlTarget

OLD_PROPERTIES = {
    "runyard.ComputeTargetType": "local",
    "runyard.git.commit": "c0ffee",
    "runyard.git.branch": "main",
    "runyard.git.dirty": "False",
    "runyard.git.repository_uri": "https://example.com/r.git",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> SqlTarget:
    target = old_target(request, tmp_path)
    with raw_engine(target) as engine:
        data.create(engine, "0008", target.schema)
        assert current_revision(engine) == "0008"
        with engine.begin() as conn:
            # run-2: a script run as the former runyard recorded it; run-1-child a batch child.
            pk = {
                run_id: conn.execute(
                    text("SELECT pk FROM runs WHERE run_id = :r"), {"r": run_id}
                ).scalar_one()
                for run_id in ("run-2", "run-1-child")
            }
            conn.execute(
                text("UPDATE runs SET run_type = 'runyard.scriptrun' WHERE pk = :pk"),
                {"pk": pk["run-2"]},
            )
            for key, value in OLD_PROPERTIES.items():
                conn.execute(
                    text("INSERT INTO run_properties (run_pk, key, value) VALUES (:p, :k, :v)"),
                    {"p": pk["run-2"], "k": key, "v": value},
                )
            conn.execute(
                text("INSERT INTO run_tags (run_pk, key, value) VALUES (:p, :k, '0')"),
                {"p": pk["run-1-child"], "k": "runyard.batch_child_number"},
            )
    return target


def test_upgrade_renames_run_type_tag_and_properties_to_azure_names(
    old_store: SqlTarget,
) -> None:
    store = old_store.open()  # opening migrates
    try:
        script = store.get_run("run-2")
        assert script.run_type == "azureml.scriptrun"
        assert script.properties == {
            "_azureml.ComputeTargetType": "local",
            "azureml.git.commit": "c0ffee",
            "azureml.git.branch": "main",
            "azureml.git.dirty": "False",
            "azureml.git.repository_uri": "https://example.com/r.git",
            "mlflow.source.git.commit": "c0ffee",
            "mlflow.source.git.branch": "main",
            "mlflow.source.git.repoURL": "https://example.com/r.git",
        }
        assert store.get_run("run-1-child").tags == {
            **data.TAGS["run-1-child"],
            "azureml.batch_child_number": "0",
        }
        # What ported code filters on finds the old runs.
        scripts = store.search_runs(RunQuery(run_type="azureml.scriptrun", include_children=True))
        assert sorted(r.run_id for r in scripts.runs) == ["run-1", "run-2"]
        batch = RunQuery(include_children=True, tags=(TagFilter(key="azureml.batch_child_number"),))
        assert [r.run_id for r in store.search_runs(batch).runs] == ["run-1-child"]
        # Properties already under Azure's names stay as they were.
        assert store.get_run("run-1").properties == data.PROPERTIES["run-1"]
    finally:
        store.close()
