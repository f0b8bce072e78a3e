"""Upgrades: a store made by each released schema revision, opened by this runyard, is migrated
to the newest revision with every bit of its data intact, and takes new writes.

The stores are the fixtures of ``make_fixtures.py`` (a small SQLite file per revision, made by
that revision's migrations and plain SQL inserts); on PostgreSQL the same script makes them in
a fresh schema. Nothing here uses the SDK to write the old data: it is what an older runyard
left on disk.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runyard.entities import (
    DatasetInput,
    LoggedModelQuery,
    LoggedModelStatus,
    MetricChunk,
    MetricKind,
    MetricSeries,
    ModelMetric,
    ModelOutput,
    NewRun,
    RunInfo,
    RunIO,
    RunQuery,
    RunStatus,
    SnapshotFile,
    ValueType,
    ViewType,
)
from runyard.store.sql import SqlStore
from runyard.store.sql.engine import create_sql_engine
from runyard.store.sql.migrate import STORE_MIGRATIONS, current_revision
from tests.reliability import make_fixtures as data
from tests.store.sql_workers import SqlTarget


@pytest.fixture(params=data.REVISIONS)
def revision(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=["sqlite", "postgresql"])
def old_store(request: pytest.FixtureRequest, revision: str, tmp_path: Path) -> SqlTarget:
    """A store at ``revision`` holding the fixtures' data, with the bytes behind its rows."""
    root = tmp_path / "artifacts"
    for place, content in data.byte_places().items():
        (root / place).parent.mkdir(parents=True, exist_ok=True)
        (root / place).write_bytes(content)
    if request.param == "sqlite":
        database = tmp_path / "runyard.db"
        shutil.copyfile(data.fixture(revision), database)
        return SqlTarget(f"sqlite:///{database}", str(root))
    target = SqlTarget(
        request.getfixturevalue("postgres_server_url"),
        str(root),
        request.getfixturevalue("postgres_schema"),
    )
    engine = create_sql_engine(target.url, target.schema)
    try:
        data.create(engine, revision, target.schema)
    finally:
        engine.dispose()
    return target


@pytest.fixture
def upgraded(old_store: SqlTarget, revision: str) -> Iterator[SqlStore]:
    engine = create_sql_engine(old_store.url, old_store.schema)
    try:
        assert current_revision(engine) == revision
    finally:
        engine.dispose()
    store = old_store.open()  # opening migrates
    yield store
    store.close()


def expected_run(run: dict[str, Any], revision: str) -> RunInfo:
    experiment = next(e for e in data.EXPERIMENTS if e["name"] == run["experiment"])
    status, stop_status = RunStatus(run["status"]), None
    if revision >= "0002" and run["run_id"] == data.STOPPING["run_id"]:
        status = RunStatus(data.STOPPING["status"])
        stop_status = RunStatus(data.STOPPING["stop_status"])
    return RunInfo(
        run_id=run["run_id"],
        experiment_id=experiment["experiment_id"],
        experiment_name=experiment["name"],
        number=run["number"],
        status=status,
        created_time=run["created_time"],
        parent_run_id=run["parent"],
        root_run_id=run["parent"],
        run_type=run["run_type"],
        display_name=run["display_name"],
        description=run["description"],
        target=run["target"],
        start_time=run["start_time"],
        end_time=run["end_time"],
        heartbeat_time=run["heartbeat_time"],
        error=run["error"],
        run_definition=run["run_definition"],
        submitted_by=run["submitted_by"],
        stop_status=stop_status,
        deleted_time=data.DELETED["deleted_time"]
        if revision >= "0006" and run["run_id"] == data.DELETED["run_id"]
        else None,
        tags=data.TAGS.get(run["run_id"], {}),
        properties=data.PROPERTIES.get(run["run_id"], {}),
    )


def test_upgrade_migrates_to_the_newest_revision(upgraded: SqlStore) -> None:
    assert current_revision(upgraded.engine) == STORE_MIGRATIONS.head
    if upgraded.engine.dialect.name == "sqlite":
        # Unenforced while the migrations rebuilt tables; enforced again on every connection.
        with upgraded.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []


def test_upgrade_keeps_experiments_and_runs(upgraded: SqlStore, revision: str) -> None:
    active = upgraded.list_experiments()
    assert [(e.name, e.experiment_id, e.tags) for e in active] == [
        ("upgrades", data.EXPERIMENTS[0]["experiment_id"], {"team": "vision"})
    ]
    assert [e.name for e in upgraded.list_experiments(ViewType.ARCHIVED_ONLY)] == ["old-work"]
    for run in data.RUNS:
        assert upgraded.get_run(run["run_id"]) == expected_run(run, revision), run["run_id"]
    page = upgraded.search_runs(RunQuery(experiment_name="upgrades", include_children=True))
    assert [r.run_id for r in page.runs] == ["run-2", "run-1-child", "run-1"]


def test_upgrade_keeps_metrics(upgraded: SqlStore) -> None:
    summaries = []
    points = []
    for series in data.SERIES:
        values = [v for chunk_values, _ in series["chunks"] for v in chunk_values]
        steps = [
            step
            for chunk_values, chunk_steps in series["chunks"]
            for step in (chunk_steps or [None] * len(chunk_values))
        ]
        times = [
            t
            for index, (chunk_values, _) in enumerate(series["chunks"])
            for t in data.chunk_times(index, len(chunk_values))
        ]
        numbers = [v for v in values if type(v) in (int, float)]
        kind, value_type = MetricKind(series["kind"]), ValueType(series["value_type"])
        # The last point's step and time: kept by the store from 0008 on, filled in by the
        # migration from the last chunk before.
        summaries.append(
            MetricSeries(
                run_id=series["run_id"],
                name=series["name"],
                kind=kind,
                value_type=value_type,
                count=len(values),
                last_value=values[-1],
                min_value=min(numbers) if numbers else None,
                max_value=max(numbers) if numbers else None,
                description=series["description"],
                last_step=steps[-1],
                last_time=times[-1],
            )
        )
        points.append(
            MetricChunk(
                series["run_id"],
                series["name"],
                kind,
                value_type,
                values,
                times,
                steps,
                series["description"],
            )
        )
    assert upgraded.list_metric_series(["run-1"]) == summaries
    assert upgraded.read_metrics(["run-1"]) == points
    page = upgraded.search_runs(RunQuery(filter="run_id = 'run-1'", include_metrics=True))
    assert [run.metrics for run in page.runs] == [{s.name: s for s in summaries}]


def test_upgrade_keeps_logged_models(upgraded: SqlStore, revision: str) -> None:
    found = upgraded.search_logged_models(LoggedModelQuery()).models
    if revision < "0007":  # no models before
        assert found == []
        assert upgraded.get_run_io(["run-1"]) == {"run-1": RunIO()}
        return
    row = data.MODEL_ROW
    model = upgraded.get_logged_model(row["model_id"])
    assert [m.model_id for m in found] == [row["model_id"]]
    assert (model.source_run_id, model.experiment_name, model.name, model.model_type) == (
        row["run_id"],
        data.EXPERIMENTS[0]["name"],
        row["name"],
        row["model_type"],
    )
    assert model.status is LoggedModelStatus.READY
    assert (model.created_time, model.updated_time) == (row["created_time"], row["updated_time"])
    assert (dict(model.tags), dict(model.params)) == (row["tags"], row["params"])
    dataset = data.DATASET
    assert list(model.metrics) == [
        ModelMetric(
            **row["metric"],
            run_id="run-1",
            dataset_name=dataset["name"],
            dataset_digest=dataset["digest"],
        )
    ]
    assert upgraded.get_run_io(["run-1"])["run-1"] == RunIO(
        datasets=(DatasetInput(**dataset),),
        model_outputs=(ModelOutput(row["model_id"], row["metric"]["step"]),),
    )


def test_upgrade_keeps_artifacts_and_snapshots(upgraded: SqlStore) -> None:
    run_id, path = data.MODEL
    content = data.BYTES[f"runs/{run_id}/{path}"]
    (listed,) = upgraded.list_artifacts(run_id)
    assert (listed.path, listed.size, listed.created_time) == (path, len(content), data.T0 + 60)
    with upgraded.open_artifact(run_id, path) as stream:
        assert stream.read() == content
    snapshot_id, manifest = data.SNAPSHOT
    assert upgraded.get_snapshot(snapshot_id) == [SnapshotFile(*entry) for entry in manifest]
    with upgraded.open_blob(data.BLOB_DIGEST) as stream:
        assert stream.read() == data.BLOB
    # The upload that died half-way under the older runyard: not listed, and not in the way.
    died_run, died_path = data.DIED
    assert upgraded.list_artifacts(died_run) == []
    upgraded.put_artifact(died_run, died_path, io.BytesIO(b"uploaded after the upgrade"))
    with upgraded.open_artifact(died_run, died_path) as stream:
        assert stream.read() == b"uploaded after the upgrade"


def test_upgrade_keeps_logs_and_applied_requests(upgraded: SqlStore, revision: str) -> None:
    for (run_id, name), pieces in data.LOGS.items():
        expected = b"".join(pieces) if revision >= "0002" else b""
        assert upgraded.read_log(run_id, name) == expected
        upgraded.append_log(run_id, name, b"after the upgrade\n")
        assert upgraded.read_log(run_id, name) == expected + b"after the upgrade\n"
    # A request the older runyard applied is not applied again (0003 on: before, none was
    # recorded, and the write applies).
    before = upgraded.list_metric_series(["run-1"])[0].count
    # The fixture's id was applied when the fixture was made, longer ago than the 7 days ids are
    # kept: keep them for good here, so that what is checked is that the upgrade kept it.
    upgraded.request_retention_seconds = float("inf")
    chunk = MetricChunk("run-1", "loss", MetricKind.VECTOR, ValueType.NUMBER, [0.0625], [1.0])
    upgraded.log_metrics([chunk], request_id=data.APPLIED[0])
    applied_before = revision >= "0003"
    assert upgraded.list_metric_series(["run-1"])[0].count == before + (not applied_before)


def test_upgrade_takes_new_runs_where_the_old_ones_stop(upgraded: SqlStore) -> None:
    (new,) = upgraded.create_runs([NewRun("run-new", "upgrades", tags={"after": "upgrade"})])
    assert new.number == data.EXPERIMENTS[0]["run_counter"] + 1
    upgraded.set_tags("run-1", {"lr": "0.2"})
    upgraded.add_properties("run-1", {"reviewed": "yes"})
    changed = upgraded.get_run("run-1")
    assert changed.tags == {"lr": "0.2", "tuned": None}
    assert changed.properties == {**data.PROPERTIES["run-1"], "reviewed": "yes"}
