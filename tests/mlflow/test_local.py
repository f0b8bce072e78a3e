"""``runyard server`` in a project folder (one local workspace, no tokens): the MLflow client
logs into it with the bare ``MLFLOW_TRACKING_URI=http://127.0.0.1:PORT``, and the runs land in
the folder's own workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from runyard import Experiment, Workspace
from tests.mlflow.conftest import QUIET_MLFLOW, forget_experiment
from tests.server.process import start

mlflow = pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402


def test_the_bare_server_uri_reaches_the_local_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "project"
    Workspace.create(folder).close()
    server = start(tmp_path, data=False, cwd=folder)
    for name, value in QUIET_MLFLOW.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MLFLOW_TRACKING_TOKEN", raising=False)
    monkeypatch.setattr(mlflow.tracking.fluent, "_active_experiment_id", None)
    forget_experiment()
    artifact = tmp_path / "notes.txt"
    artifact.write_text("local")
    try:
        mlflow.set_tracking_uri(server.url)
        with mlflow.start_run() as run:  # no experiment set: MLflow's Default, id "0"
            mlflow.log_metric("loss", 0.5)
            mlflow.log_artifact(str(artifact))
        assert run.info.experiment_id == "0"
        got = MlflowClient(server.url).get_run(run.info.run_id)
        assert got.data.metrics == {"loss": 0.5}
        assert [f.path for f in MlflowClient(server.url).list_artifacts(run.info.run_id)] == [
            "notes.txt"
        ]
    finally:
        mlflow.set_tracking_uri("")
        forget_experiment()
        server.stop()
    local = Workspace.from_config(folder)
    (runyard_run,) = list(Experiment(local, "Default").get_runs())
    assert runyard_run.id == run.info.run_id
    assert runyard_run.get_file_names() == ["notes.txt"]
    local.close()
