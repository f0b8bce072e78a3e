"""The MLflow client's tracking calls against runyard: experiments, runs, params, tags,
metrics, nested runs, resuming, deleting; and what runyard sees of them (and MLflow of
runyard's runs)."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest

from runyard import Experiment, Run, Workspace
from runyard.entities import RunStatus
from tests.mlflow.conftest import Tracking

mlflow = pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric, Param, RunTag, ViewType  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402


def _code(error: MlflowException) -> str:
    return str(error.error_code)


# -- experiments -------------------------------------------------------------------------------


def test_default_experiment_is_id_0(tracking: Tracking) -> None:
    client = MlflowClient()
    default = client.get_experiment("0")
    assert (default.experiment_id, default.name, default.lifecycle_stage) == (
        "0",
        "Default",
        "active",
    )
    assert client.get_experiment_by_name("Default").experiment_id == "0"
    assert "0" in [e.experiment_id for e in client.search_experiments()]


def test_experiment_create_get_search_rename_delete_restore(tracking: Tracking) -> None:
    client = MlflowClient()
    assert client.get_experiment_by_name("vision") is None  # a 404 the client turns into None
    exp_id = client.create_experiment("vision", tags={"team": "cv"})
    got = client.get_experiment(exp_id)
    assert (got.name, got.tags, got.lifecycle_stage) == ("vision", {"team": "cv"}, "active")
    assert got.artifact_location.startswith("mlflow-artifacts:/")
    assert client.get_experiment_by_name("vision").experiment_id == exp_id

    with pytest.raises(MlflowException) as taken:
        client.create_experiment("vision")
    assert _code(taken.value) == "RESOURCE_ALREADY_EXISTS"

    client.create_experiment("audio")
    names = {e.name for e in client.search_experiments(filter_string="name LIKE 'vis%'")}
    assert names == {"vision"}
    tagged = client.search_experiments(filter_string="tags.team = 'cv'")
    assert [e.name for e in tagged] == ["vision"]
    ordered = [e.name for e in client.search_experiments(order_by=["name ASC"])]
    assert ordered == sorted(ordered)

    client.rename_experiment(exp_id, "vision-v2")
    assert client.get_experiment(exp_id).name == "vision-v2"
    assert client.get_experiment_by_name("vision") is None

    client.set_experiment_tag(exp_id, "stage", "prod")
    assert client.get_experiment(exp_id).tags == {"team": "cv", "stage": "prod"}
    client.delete_experiment_tag(exp_id, "team")
    assert client.get_experiment(exp_id).tags == {"stage": "prod"}

    client.delete_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "deleted"
    active = {e.experiment_id for e in client.search_experiments()}
    deleted = {e.experiment_id for e in client.search_experiments(view_type=ViewType.DELETED_ONLY)}
    assert exp_id not in active and exp_id in deleted
    client.restore_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "active"

    with pytest.raises(MlflowException) as missing:
        client.get_experiment("no-such-id")
    assert _code(missing.value) == "RESOURCE_DOES_NOT_EXIST"


def test_search_experiments_pages(tracking: Tracking) -> None:
    client = MlflowClient()
    for i in range(5):
        client.create_experiment(f"paged-{i}")
    first = client.search_experiments(max_results=2, filter_string="name LIKE 'paged-%'")
    assert len(first) == 2 and first.token
    seen = [e.name for e in first]
    token = first.token
    while token:
        page = client.search_experiments(
            max_results=2, filter_string="name LIKE 'paged-%'", page_token=token
        )
        seen += [e.name for e in page]
        token = page.token
    assert sorted(seen) == [f"paged-{i}" for i in range(5)]


# -- runs --------------------------------------------------------------------------------------


def test_a_training_script_logs_an_ordinary_runyard_run(tracking: Tracking) -> None:
    mlflow.set_experiment("fluent")
    stamp = int(time.time() * 1000) - 5000
    with mlflow.start_run(run_name="first", description="a note") as active:
        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"optimizer": "adam", "epochs": 3})
        mlflow.set_tag("team", "vision")
        mlflow.set_tags({"stage": "dev", "empty": ""})
        for step in range(3):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step, timestamp=stamp + step)
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=2)
        run_id = active.info.run_id

    got = MlflowClient().get_run(run_id)
    assert got.info.status == "FINISHED"
    assert got.info.run_name == "first"
    assert got.info.lifecycle_stage == "active"
    assert got.info.end_time >= got.info.start_time > 0
    assert got.data.params == {"lr": "0.01", "optimizer": "adam", "epochs": "3"}
    assert got.data.metrics == {"loss": pytest.approx(1 / 3), "acc": 0.9, "f1": 0.8}
    tags = got.data.tags
    assert (tags["team"], tags["stage"], tags["empty"]) == ("vision", "dev", "")
    assert tags["mlflow.runName"] == "first"
    assert tags["mlflow.note.content"] == "a note"
    assert tags["mlflow.user"]  # the client sends the user's login
    assert tags["mlflow.source.name"]  # the client's own tags are kept as they are

    history = MlflowClient().get_metric_history(run_id, "loss")
    assert [(m.step, m.value, m.timestamp) for m in history] == [
        (0, 1.0, stamp),
        (1, 0.5, stamp + 1),
        (2, pytest.approx(1 / 3), stamp + 2),
    ]

    # The same run through runyard's own SDK.
    ws = Workspace.from_config()
    (run,) = list(Experiment(ws, "fluent").get_runs())
    assert run.id == run_id
    assert run.get_status() == RunStatus.COMPLETED
    assert run.display_name == "first"
    details = run.get_details()
    assert details["properties"]["lr"] == "0.01"
    assert run.get_tags()["team"] == "vision"
    assert run.get_metrics()["loss"] == [1.0, 0.5, pytest.approx(1 / 3)]
    ws.close()


@pytest.mark.parametrize(
    ("mlflow_status", "runyard_status"),
    [("FAILED", RunStatus.FAILED), ("KILLED", RunStatus.CANCELED)],
)
def test_end_run_statuses(tracking: Tracking, mlflow_status: str, runyard_status: str) -> None:
    mlflow.set_experiment("statuses")
    run = mlflow.start_run()
    mlflow.end_run(status=mlflow_status)
    client = MlflowClient()
    assert client.get_run(run.info.run_id).info.status == mlflow_status
    client.set_terminated(run.info.run_id, "FINISHED")  # a runyard run ends once
    assert client.get_run(run.info.run_id).info.status == mlflow_status
    ws = Workspace.from_config()
    assert Run.get(ws, run.info.run_id).get_status() == runyard_status
    ws.close()


def test_a_param_cannot_change(tracking: Tracking) -> None:
    mlflow.set_experiment("params")
    with mlflow.start_run():
        mlflow.log_param("lr", "0.1")
        mlflow.log_param("lr", "0.1")  # the same value again is fine
        with pytest.raises(MlflowException) as changed:
            mlflow.log_param("lr", "0.2")
    assert _code(changed.value) == "INVALID_PARAMETER_VALUE"
    assert "lr" in changed.value.message


def test_nested_runs_are_children(tracking: Tracking) -> None:
    mlflow.set_experiment("nested")
    with mlflow.start_run(run_name="parent") as parent:
        with mlflow.start_run(run_name="child-a", nested=True) as a:
            mlflow.log_metric("m", 1)
        with mlflow.start_run(run_name="child-b", nested=True):
            pass
    client = MlflowClient()
    assert client.get_run(a.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id
    children = client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
        order_by=["attributes.run_name ASC"],
    )
    assert [r.info.run_name for r in children] == ["child-a", "child-b"]

    ws = Workspace.from_config()
    runyard_parent = Run.get(ws, parent.info.run_id)
    assert sorted(c.display_name for c in runyard_parent.get_children()) == [
        "child-a",
        "child-b",
    ]
    ws.close()


def test_resume_a_run(tracking: Tracking) -> None:
    mlflow.set_experiment("resume")
    with mlflow.start_run() as first:
        mlflow.log_metric("loss", 1.0, step=0)
    run_id = first.info.run_id
    assert MlflowClient().get_run(run_id).info.status == "FINISHED"
    with mlflow.start_run(run_id=run_id):
        assert MlflowClient().get_run(run_id).info.status == "RUNNING"
        mlflow.log_metric("loss", 0.5, step=1)
    resumed = MlflowClient().get_run(run_id)
    assert resumed.info.status == "FINISHED"
    assert [m.value for m in MlflowClient().get_metric_history(run_id, "loss")] == [1.0, 0.5]


def test_log_batch_and_special_values(tracking: Tracking) -> None:
    client = MlflowClient()
    exp_id = client.create_experiment("batch")
    run = client.create_run(exp_id)
    now = int(time.time() * 1000)
    metrics = [Metric("x", float(i), now + i, i) for i in range(990)]
    metrics += [Metric("y", v, now, 0) for v in (math.nan, math.inf, -math.inf)]
    client.log_batch(
        run.info.run_id,
        metrics=metrics,
        params=[Param("p", "1")],
        tags=[RunTag("t", "v"), RunTag("mlflow.runName", "renamed")],
    )
    history = client.get_metric_history(run.info.run_id, "x")
    assert [m.value for m in history] == [float(i) for i in range(990)]
    assert [m.step for m in history] == list(range(990))
    special = [m.value for m in client.get_metric_history(run.info.run_id, "y")]
    assert math.isnan(special[0]) and special[1:] == [math.inf, -math.inf]
    got = client.get_run(run.info.run_id)
    assert got.info.run_name == "renamed"
    assert (got.data.params, got.data.tags["t"]) == ({"p": "1"}, "v")

    # The client splits a batch over MLflow's limit itself; the server enforces it too.
    too_many = tracking.server.request(
        "POST",
        f"/{tracking.workspace.name}/api/2.0/mlflow/runs/log-batch",
        tracking.workspace.writer,
        json={
            "run_id": run.info.run_id,
            "metrics": [{"key": "z", "value": 1.0, "timestamp": now, "step": 0}] * 1001,
        },
    )
    assert too_many.status_code == 400
    assert too_many.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "1000" in too_many.json()["message"]
    assert client.get_metric_history(run.info.run_id, "z") == []


def test_latest_metrics_carry_the_last_points_step_and_timestamp(tracking: Tracking) -> None:
    client = MlflowClient()
    exp_id = client.create_experiment("latest")
    run_id = client.create_run(exp_id).info.run_id
    stamp = int(time.time() * 1000) - 60_000
    client.log_metric(run_id, "loss", 0.5, timestamp=stamp, step=3)
    client.log_metric(run_id, "loss", 0.25, timestamp=stamp + 7, step=4)
    client.log_batch(
        run_id,
        metrics=[Metric("acc", 0.5, stamp + 1, 10), Metric("acc", 0.75, stamp + 123, 20)],
    )
    client.log_metric(run_id, "acc", 0.8, timestamp=stamp + 456, step=30)
    expected = {("acc", 0.8, 30, stamp + 456), ("loss", 0.25, 4, stamp + 7)}

    def latest(run: Any) -> set[tuple[str, float, int, int]]:
        return {(m.key, m.value, m.step, m.timestamp) for m in run.data._metric_objs}

    assert latest(client.get_run(run_id)) == expected
    (found,) = client.search_runs([exp_id])
    assert latest(found) == expected

    # A runyard point without a step is MLflow's step 0, at the time it was logged.
    ws = Workspace.from_config()
    run = Run.get(ws, run_id)
    before = time.time()
    run.log("loss", 0.125)
    run.flush()
    after = time.time()
    ws.close()
    (loss,) = [m for m in client.get_run(run_id).data._metric_objs if m.key == "loss"]
    assert (loss.value, loss.step) == (0.125, 0)
    assert math.floor(before * 1000) <= loss.timestamp <= math.ceil(after * 1000)


def test_tags_can_be_deleted(tracking: Tracking) -> None:
    client = MlflowClient()
    run = client.create_run(client.create_experiment("tags"), run_name="named")
    client.set_tag(run.info.run_id, "a", "1")
    client.delete_tag(run.info.run_id, "a")
    assert "a" not in client.get_run(run.info.run_id).data.tags
    with pytest.raises(MlflowException) as missing:
        client.delete_tag(run.info.run_id, "a")
    assert _code(missing.value) == "RESOURCE_DOES_NOT_EXIST"


def test_delete_and_restore_a_run(tracking: Tracking) -> None:
    client = MlflowClient()
    exp_id = client.create_experiment("deleting")
    kept = client.create_run(exp_id)
    gone = client.create_run(exp_id)
    client.delete_run(gone.info.run_id)
    assert client.get_run(gone.info.run_id).info.lifecycle_stage == "deleted"
    assert [r.info.run_id for r in client.search_runs([exp_id])] == [kept.info.run_id]
    deleted = client.search_runs([exp_id], run_view_type=ViewType.DELETED_ONLY)
    assert [r.info.run_id for r in deleted] == [gone.info.run_id]
    assert len(client.search_runs([exp_id], run_view_type=ViewType.ALL)) == 2

    ws = Workspace.from_config()
    assert [r.id for r in Experiment(ws, "deleting").get_runs()] == [kept.info.run_id]
    ws.close()

    client.restore_run(gone.info.run_id)
    assert client.get_run(gone.info.run_id).info.lifecycle_stage == "active"
    assert len(client.search_runs([exp_id])) == 2


def test_runyard_runs_appear_in_mlflow(tracking: Tracking) -> None:
    ws = Workspace.from_config()
    run = Experiment(ws, "from-runyard").start_logging(snapshot_directory=None, outputs=False)
    for step in range(3):
        run.log("loss", 1.0 - step / 10, step=step)
    run.log_row("table", epoch=1)  # not a number series: MLflow does not show it
    run.add_properties({"author": "ann"})
    run.tag("team", "nlp")
    run.tag("flag")
    run.complete()
    ws.close()

    frame = mlflow.search_runs(experiment_names=["from-runyard"])
    assert list(frame["run_id"]) == [run.id]
    row = frame.iloc[0]
    assert row["metrics.loss"] == pytest.approx(0.8)
    assert row["params.author"] == "ann"
    assert row["tags.team"] == "nlp" and row["tags.flag"] == ""
    assert row["status"] == "FINISHED"
    assert "metrics.table" not in frame.columns
    history = MlflowClient().get_metric_history(run.id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 1.0), (1, 0.9), (2, pytest.approx(0.8))]


# -- search --------------------------------------------------------------------------------


def test_search_runs_filters_and_orders(tracking: Tracking) -> None:
    client = MlflowClient()
    exp_id = client.create_experiment("search")
    other_id = client.create_experiment("search-other")
    made = []
    for i in range(6):
        run = client.create_run(exp_id if i < 5 else other_id, run_name=f"r{i}")
        client.log_metric(run.info.run_id, "acc", i / 10)
        client.log_param(run.info.run_id, "opt", "adam" if i % 2 else "sgd")
        client.set_tag(run.info.run_id, "parity", "odd" if i % 2 else "even")
        if i < 3:
            client.set_terminated(run.info.run_id)
        made.append(run.info.run_id)

    def names(**kwargs: object) -> list[str]:
        return [r.info.run_name for r in client.search_runs([exp_id], **kwargs)]  # type: ignore[arg-type]

    assert names(filter_string="metrics.acc > 0.15", order_by=["metrics.acc DESC"]) == [
        "r4",
        "r3",
        "r2",
    ]
    assert names(filter_string="params.opt = 'adam'", order_by=["metrics.acc"]) == ["r1", "r3"]
    assert names(filter_string="tags.parity = 'even' and attributes.status = 'FINISHED'") == [
        "r2",
        "r0",
    ]
    assert names(filter_string="attributes.status = 'RUNNING'", order_by=["run_name"]) == [
        "r3",
        "r4",
    ]
    assert names(filter_string="attributes.run_name LIKE 'r%'", max_results=2) == ["r4", "r3"]
    start = client.get_run(made[2]).info.start_time
    assert names(filter_string=f"attributes.start_time < {start}", order_by=["run_name"]) == [
        "r0",
        "r1",
    ]
    both = client.search_runs([exp_id, other_id], order_by=["metrics.acc DESC"], max_results=2)
    assert [r.info.run_name for r in both] == ["r5", "r4"]

    page = client.search_runs([exp_id], max_results=2, order_by=["metrics.acc ASC"])
    seen = [r.info.run_name for r in page]
    while page.token:
        page = client.search_runs(
            [exp_id], max_results=2, order_by=["metrics.acc ASC"], page_token=page.token
        )
        seen += [r.info.run_name for r in page]
    assert seen == ["r0", "r1", "r2", "r3", "r4"]

    with pytest.raises(MlflowException) as bad:
        client.search_runs([exp_id], filter_string="metrics.acc >")
    assert _code(bad.value) == "INVALID_PARAMETER_VALUE"
    assert "column" in bad.value.message

    frame = mlflow.search_runs([exp_id], order_by=["metrics.acc DESC"])
    assert list(frame["tags.mlflow.runName"]) == ["r4", "r3", "r2", "r1", "r0"]
    assert list(frame["params.opt"]) == ["sgd", "adam", "sgd", "adam", "sgd"]


def test_unknown_routes_and_raw_errors(tracking: Tracking) -> None:
    server = tracking.server
    name = tracking.workspace.name
    token = tracking.workspace.writer
    missing = server.request(
        "GET", f"/{name}/api/2.0/mlflow/runs/get", token, params={"run_id": "nope"}
    )
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    unknown = server.request("GET", f"/{name}/api/2.0/mlflow/traces/search", token)
    assert unknown.status_code == 404
    assert unknown.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    bad = server.request("POST", f"/{name}/api/2.0/mlflow/runs/create", token, content=b"[1")
    assert bad.status_code == 400
    assert bad.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_a_refused_update_changes_nothing(tracking: Tracking) -> None:
    client = MlflowClient()
    run = client.create_run(client.create_experiment("refused"), run_name="kept")
    refused = tracking.server.request(
        "POST",
        f"/{tracking.workspace.name}/api/2.0/mlflow/runs/update",
        tracking.workspace.writer,
        json={"run_id": run.info.run_id, "run_name": "changed", "status": "DONE"},
    )
    assert refused.status_code == 400
    assert refused.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "RUNNING, SCHEDULED, FINISHED, FAILED, KILLED" in refused.json()["message"]
    got = client.get_run(run.info.run_id)
    assert (got.info.run_name, got.info.status) == ("kept", "RUNNING")
