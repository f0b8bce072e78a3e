"""MLflow's model registry on runyard's: ``register_model`` from a run and loading the version
back (``models:/name/1``, ``models:/name@alias``), the client's registered-model and
model-version calls (fields, tags, aliases, searches, deletion), the errors, and that the
runyard SDK's ``Model`` and MLflow see the same registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runyard import Model, Workspace
from runyard.server.control import Role
from tests.mlflow.conftest import Tracking
from tests.mlflow.test_models import MLFLOW_WARNINGS

mlflow = pytest.importorskip("mlflow")
sklearn_datasets = pytest.importorskip("sklearn.datasets")
linear_model = pytest.importorskip("sklearn.linear_model")
from mlflow import MlflowClient  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402

pytestmark = MLFLOW_WARNINGS


def _code(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(MlflowException) as caught:
        call(*args, **kwargs)
    return str(caught.value.error_code)


def test_register_model_from_a_run_loads_back_by_version_and_alias(tracking: Tracking) -> None:
    x, y = sklearn_datasets.load_iris(return_X_y=True)
    mlflow.set_experiment("registry")
    with mlflow.start_run() as run:
        first = linear_model.LogisticRegression(max_iter=200, C=0.5).fit(x, y)
        info = mlflow.sklearn.log_model(first, name="model")
    run_id = run.info.run_id
    v1 = mlflow.register_model(f"runs:/{run_id}/model", "iris")
    assert (v1.name, v1.version, v1.run_id, v1.current_stage) == ("iris", "1", run_id, "None")
    assert v1.source == f"models:/{info.model_id}"
    with mlflow.start_run():
        second = linear_model.LogisticRegression(max_iter=200, C=0.01).fit(x, y)
        mlflow.sklearn.log_model(second, name="model", registered_model_name="iris")

    loaded = mlflow.pyfunc.load_model("models:/iris/1")
    assert (loaded.predict(x) == first.predict(x)).all()
    client = MlflowClient()
    client.set_registered_model_alias("iris", "champion", "2")
    by_alias = client.get_model_version_by_alias("iris", "champion")
    assert (by_alias.version, by_alias.aliases) == ("2", ["champion"])
    champion = mlflow.sklearn.load_model("models:/iris@champion")
    assert (champion.predict(x) == second.predict(x)).all()
    assert [v.version for v in client.get_latest_versions("iris")] == ["2"]
    assert client.get_latest_versions("iris", stages=["Production"]) == []
    uri = client.get_model_version_download_uri("iris", "2")
    assert uri == f"mlflow-artifacts:/{tracking.workspace.name}/~models/iris/2"
    assert client.get_registered_model("iris").aliases == {"champion": "2"}
    client.delete_registered_model_alias("iris", "champion")
    assert _code(client.get_model_version_by_alias, "iris", "champion") == (
        "RESOURCE_DOES_NOT_EXIST"
    )

    # runyard's SDK sees the versions, their files copied out of the runs' artifacts.
    ws = Workspace.from_config()
    versions = Model.list(ws, name="iris")
    assert [(m.version, m.run_id is not None) for m in versions] == [(2, True), (1, True)]
    assert versions[1].run_id == run_id
    assert versions[1].properties["mlflow.model_id"] == info.model_id
    folder = Path(versions[1].download(target_dir="dl"))
    assert (folder / "MLmodel").is_file()
    ws.close()


def test_registered_model_fields_tags_searches_and_deletion(tracking: Tracking) -> None:
    client = MlflowClient()
    with mlflow.start_run() as run:
        mlflow.log_text("w", "net/weights.txt")
    run_id = run.info.run_id
    made = client.create_registered_model("net-a", tags={"team": "cv"}, description="first")
    assert (made.name, made.description, made.tags) == ("net-a", "first", {"team": "cv"})
    for name in ("net-b", "other"):
        client.create_registered_model(name)
    for _ in range(2):
        created = client.create_model_version("net-a", f"runs:/{run_id}/net", run_id)
    assert (created.version, created.source) == ("2", f"runs:/{run_id}/net")
    artifact_source = f"mlflow-artifacts:/{tracking.workspace.name}/{run_id}/artifacts/net"
    assert client.create_model_version("net-b", artifact_source).run_id == run_id
    copied = client.create_model_version("other", "models:/net-a/1", tags={"k": "v"})
    assert (copied.version, copied.run_id, copied.tags) == ("1", run_id, {"k": "v"})

    client.update_registered_model("net-a", description="second")
    client.set_registered_model_tag("net-a", "stage", "dev")
    client.delete_registered_model_tag("net-a", "team")
    got = client.get_registered_model("net-a")
    assert (got.description, got.tags) == ("second", {"stage": "dev"})
    assert [v.version for v in got.latest_versions] == ["2"]
    client.update_model_version("net-a", "1", description="v1")
    client.set_model_version_tag("net-a", "1", "ok", "yes")
    client.set_model_version_tag("net-a", "1", "gone", "x")
    client.delete_model_version_tag("net-a", "1", "gone")
    v1 = client.get_model_version("net-a", "1")
    assert (v1.description, v1.tags) == ("v1", {"ok": "yes"})

    def names(**search: Any) -> list[str]:
        return [m.name for m in client.search_registered_models(**search)]

    assert names() == ["net-a", "net-b", "other"]
    assert names(filter_string="name LIKE 'net%'", order_by=["name DESC"]) == ["net-b", "net-a"]
    assert names(filter_string="tags.stage = 'dev'") == ["net-a"]
    page = client.search_registered_models(max_results=2)
    assert [m.name for m in page] == ["net-a", "net-b"] and page.token
    after = client.search_registered_models(max_results=2, page_token=page.token)
    assert [m.name for m in after] == ["other"] and not after.token
    found = client.search_model_versions("name='net-a'")
    assert [v.version for v in found] == ["2", "1"]
    found = client.search_model_versions(f"run_id = '{run_id}' AND tags.ok = 'yes'")
    assert [(v.name, v.version) for v in found] == [("net-a", "1")]

    client.delete_model_version("net-a", "2")
    assert [v.version for v in client.search_model_versions("name='net-a'")] == ["1"]
    client.delete_registered_model("net-b")
    assert names() == ["net-a", "other"]
    assert _code(client.get_registered_model, "net-b") == "RESOURCE_DOES_NOT_EXIST"


def test_registry_errors_in_mlflow_shape(
    tracking: Tracking, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = MlflowClient()
    client.create_registered_model("m")
    assert _code(client.create_registered_model, "m") == "RESOURCE_ALREADY_EXISTS"
    with pytest.raises(MlflowException, match="Invalid model name") as caught:
        client.create_registered_model("has space")
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    assert _code(client.get_registered_model, "nope") == "RESOURCE_DOES_NOT_EXIST"
    assert _code(client.get_model_version, "m", "3") == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException, match="does not rename") as caught:
        client.rename_registered_model("m", "n")
    assert caught.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException, match="cannot register a version from source"):
        client.create_model_version("m", "s3://bucket/model")
    assert _code(client.create_model_version, "m", "runs:/nope/model") == (
        "RESOURCE_DOES_NOT_EXIST"
    )
    assert _code(client.set_registered_model_alias, "m", "best", "1") == ("RESOURCE_DOES_NOT_EXIST")
    with mlflow.start_run() as run:
        mlflow.log_text("w", "model/w.txt")
    client.create_model_version("m", f"runs:/{run.info.run_id}/model")
    assert _code(client.transition_model_version_stage, "m", "1", "Production") == (
        "INVALID_PARAMETER_VALUE"
    )
    reader = MlflowClient()
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", tracking.token(Role.READER))
    assert reader.get_registered_model("m").name == "m"
    assert _code(reader.delete_registered_model, "m") == "PERMISSION_DENIED"


def test_runyard_sdk_models_are_mlflow_registered_models(
    tracking: Tracking, tmp_path: Path
) -> None:
    weights = tmp_path / "clf"
    weights.mkdir()
    (weights / "weights.bin").write_bytes(b"abc")
    ws = Workspace.from_config()
    Model.register(ws, weights, "clf", tags={"t": "1"}, description="from runyard")
    ws.close()
    client = MlflowClient()
    (found,) = client.search_registered_models()
    assert [v.version for v in found.latest_versions] == ["1"]
    version = client.get_model_version("clf", "1")
    assert (version.description, version.tags, version.run_id) == ("from runyard", {"t": "1"}, None)
    local = mlflow.artifacts.download_artifacts("models:/clf/1", dst_path=str(tmp_path / "d"))
    assert (Path(local) / "weights.bin").read_bytes() == b"abc"
