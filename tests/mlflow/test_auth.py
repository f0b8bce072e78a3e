"""Tokens and roles work for MLflow's client exactly as for runyard's API: a missing or bad
token is 401, a reader cannot write (403), another workspace's token is refused; nothing is
written by a refused call."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from runyard import Experiment, Workspace
from runyard.server.control import Role
from tests.mlflow.conftest import Tracking

mlflow = pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402


def test_no_token_is_unauthenticated(tracking: Tracking, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN")
    with pytest.raises(MlflowException) as refused:
        MlflowClient().create_experiment("x")
    assert refused.value.error_code == "UNAUTHENTICATED"
    assert "token" in refused.value.message
    raw = tracking.server.request(
        "POST", f"/{tracking.workspace.name}/api/2.0/mlflow/experiments/create", json={"name": "x"}
    )
    assert raw.status_code == 401 and raw.json()["error_code"] == "UNAUTHENTICATED"

    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "ryd_not_a_token")
    with pytest.raises(MlflowException) as bad:
        MlflowClient().search_experiments()
    assert bad.value.error_code == "UNAUTHENTICATED"


def test_a_reader_reads_but_cannot_write(
    tracking: Tracking, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    client = MlflowClient()
    exp_id = client.create_experiment("guarded")
    run = client.create_run(exp_id)
    artifact = tmp_path / "f.txt"
    artifact.write_text("x")

    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", tracking.token(Role.READER))
    reader = MlflowClient()
    assert reader.get_run(run.info.run_id).info.run_id == run.info.run_id
    assert [r.info.run_id for r in reader.search_runs([exp_id])] == [run.info.run_id]
    writes = [
        lambda: reader.create_experiment("nope"),
        lambda: reader.create_run(exp_id),
        lambda: reader.log_metric(run.info.run_id, "m", 1.0),
        lambda: reader.log_param(run.info.run_id, "p", "1"),
        lambda: reader.set_tag(run.info.run_id, "t", "1"),
        lambda: reader.delete_run(run.info.run_id),
        lambda: reader.log_artifact(run.info.run_id, str(artifact)),
    ]
    for write in writes:
        # Tracking calls raise MlflowException; artifact uploads the HTTP error of requests.
        with pytest.raises((MlflowException, requests.HTTPError)) as refused:
            write()
        assert "PERMISSION_DENIED" in str(refused.value), refused.value

    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", tracking.workspace.writer)
    got = MlflowClient().get_run(run.info.run_id)
    assert (got.data.metrics, got.data.params, got.info.lifecycle_stage) == ({}, {}, "active")
    assert "t" not in got.data.tags
    assert MlflowClient().list_artifacts(run.info.run_id) == []
    ws = Workspace.from_config()
    assert [e.name for e in Experiment.list(ws)] in (["guarded"], ["Default", "guarded"])
    ws.close()


def test_another_workspace_token_is_refused(
    tracking: Tracking, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tracking.server.new_workspace()
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", other.writer)
    with pytest.raises(MlflowException) as refused:
        MlflowClient().create_experiment("elsewhere")
    assert refused.value.error_code == "PERMISSION_DENIED"
