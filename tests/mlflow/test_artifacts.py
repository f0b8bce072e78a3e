"""Artifacts through the server (``mlflow-artifacts``): uploads and downloads streamed into
the workspace's artifact store, listed, and shared with runyard's SDK."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
import requests

from runyard import Experiment, Run, Workspace
from tests.mlflow.conftest import Tracking

mlflow = pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_artifacts_up_down_and_listed(tracking: Tracking, tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "sub" / "deeper").mkdir(parents=True)
    (source / "a.txt").write_text("alpha")
    (source / "sub" / "b.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 7))  # several chunks
    (source / "sub" / "deeper" / "c.json").write_text('{"c": 1}')
    single = tmp_path / "model.pkl"
    single.write_bytes(b"\x80\x04model")

    mlflow.set_experiment("files")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(single))
        mlflow.log_artifact(str(single), artifact_path="models/best")
        mlflow.log_artifacts(str(source), artifact_path="data")
        mlflow.log_text("hello", "notes/readme.txt")
        mlflow.log_dict({"k": 1}, "config.json")
    run_id = run.info.run_id
    assert (
        run.info.artifact_uri == f"mlflow-artifacts:/{tracking.workspace.name}/{run_id}/artifacts"
    )

    client = MlflowClient()
    top = {(f.path, f.is_dir) for f in client.list_artifacts(run_id)}
    assert top == {
        ("config.json", False),
        ("data", True),
        ("model.pkl", False),
        ("models", True),
        ("notes", True),
    }
    sub = client.list_artifacts(run_id, "data/sub")
    assert [(f.path, f.is_dir) for f in sub] == [
        ("data/sub/b.bin", False),
        ("data/sub/deeper", True),
    ]
    assert sub[0].file_size == 3 * 1024 * 1024 + 7

    out = Path(client.download_artifacts(run_id, "data", str(tmp_path / "down")))
    assert _tree(out) == _tree(source)
    one = Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="model.pkl"))
    assert one.read_bytes() == b"\x80\x04model"
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/notes/readme.txt") == "hello"
    assert mlflow.artifacts.load_dict(f"runs:/{run_id}/config.json") == {"k": 1}

    # runyard's SDK sees the same files, and MLflow sees what runyard uploads.
    ws = Workspace.from_config()
    runyard_run = Run.get(ws, run_id)
    names = runyard_run.get_file_names()
    assert "data/sub/deeper/c.json" in names and "model.pkl" in names
    runyard_run.upload_file("from-runyard.txt", io.BytesIO(b"hi from runyard"))
    ws.close()
    got = Path(client.download_artifacts(run_id, "from-runyard.txt", str(tmp_path / "r")))
    assert got.read_bytes() == b"hi from runyard"


def test_an_artifact_path_is_written_once(tracking: Tracking, tmp_path: Path) -> None:
    f = tmp_path / "x.txt"
    f.write_text("one")
    mlflow.set_experiment("once")
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(f))
        f.write_text("two")
        # The artifact proxy's refusal reaches the caller as requests' HTTPError.
        with pytest.raises(requests.HTTPError) as again:
            mlflow.log_artifact(str(f))
    assert again.value.response.status_code == 400
    assert again.value.response.json()["error_code"] == "RESOURCE_ALREADY_EXISTS"
    back = Path(MlflowClient().download_artifacts(run.info.run_id, "x.txt", str(tmp_path / "d")))
    assert back.read_text() == "one"


def test_runyard_run_files_reach_mlflow(tracking: Tracking, tmp_path: Path) -> None:
    ws = Workspace.from_config()
    run = Experiment(ws, "sdk-files").start_logging(snapshot_directory=None, outputs=False)
    run.upload_file("outputs/model.txt", io.BytesIO(b"weights"))
    run.complete()
    ws.close()
    listed = MlflowClient().list_artifacts(run.id, "outputs")
    assert [f.path for f in listed] == ["outputs/model.txt"]
    text = mlflow.artifacts.load_text(f"runs:/{run.id}/outputs/model.txt")
    assert text == "weights"
