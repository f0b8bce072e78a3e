"""MLflow 3's logged models and run inputs against runyard: ``log_model`` and loading the model
back (``models:/<model_id>``, ``runs:/<run_id>/<name>``), scikit-learn autologging with its
defaults (the model and the training dataset), searching models, their tags, params and
status; and what runyard sees of them (the model's files are its run's artifacts)."""

from __future__ import annotations

from typing import Any

import pytest

from runyard import Experiment, Run, Workspace
from runyard.server.control import Role
from tests.mlflow.conftest import Tracking

mlflow = pytest.importorskip("mlflow")
sklearn_datasets = pytest.importorskip("sklearn.datasets")
linear_model = pytest.importorskip("sklearn.linear_model")
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import LoggedModelOutput  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402

# Raised inside MLflow while it infers a model's signature, and inside scikit-learn's metrics
# under autologging: warnings, which this suite makes errors, and autologging swallows errors.
MLFLOW_WARNINGS = [
    pytest.mark.filterwarnings("ignore:.*type hint is inferred as AnyType:UserWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]
pytestmark = MLFLOW_WARNINGS


def _code(error: MlflowException) -> str:
    return str(error.error_code)


def _iris() -> tuple[Any, Any]:
    return sklearn_datasets.load_iris(return_X_y=True)  # type: ignore[no-any-return]


def _runyard_run(experiment: str) -> tuple[Workspace, Run]:
    ws = Workspace.from_config()
    (run,) = list(Experiment(ws, experiment).get_runs())
    return ws, run


def test_log_model_loads_back_by_model_id_and_by_run(tracking: Tracking) -> None:
    x, y = _iris()
    mlflow.set_experiment("models")
    with mlflow.start_run() as run:
        mlflow.log_param("C", "0.5")
        mlflow.log_metric("val_acc", 0.93, step=0)
        model = linear_model.LogisticRegression(max_iter=200, C=0.5).fit(x, y)
        info = mlflow.sklearn.log_model(
            model, name="model", tags={"team": "vision"}, params={"solver": "lbfgs"}
        )
    run_id = run.info.run_id
    assert info.model_id.startswith("m-")
    expected = model.predict(x)
    by_id = mlflow.sklearn.load_model(f"models:/{info.model_id}")
    assert (by_id.predict(x) == expected).all()
    by_run = mlflow.sklearn.load_model(f"runs:/{run_id}/model")
    assert (by_run.predict(x) == expected).all()

    client = MlflowClient()
    logged = client.get_logged_model(info.model_id)
    assert (logged.name, logged.source_run_id, str(logged.status)) == ("model", run_id, "READY")
    assert logged.experiment_id == run.info.experiment_id
    assert logged.artifact_location == (
        f"mlflow-artifacts:/{tracking.workspace.name}/{run_id}/artifacts/models/{info.model_id}"
    )
    assert logged.params == {"C": "0.5", "solver": "lbfgs"}  # the run's params, and its own
    assert logged.tags["team"] == "vision"
    # The run's metrics of the model's step are the model's too; the run keeps each point once.
    assert [(m.key, m.value, m.run_id) for m in logged.metrics] == [("val_acc", 0.93, run_id)]
    assert [m.value for m in client.get_metric_history(run_id, "val_acc")] == [0.93]
    outputs = client.get_run(run_id).outputs.model_outputs
    assert [(o.model_id, o.step) for o in outputs] == [(info.model_id, 0)]

    ws, runyard_run = _runyard_run("models")
    files = runyard_run.get_file_names()
    assert f"models/{info.model_id}/MLmodel" in files
    assert any(f.startswith(f"models/{info.model_id}/model.") for f in files)
    ws.close()


def test_sklearn_autolog_defaults_log_the_model_and_the_dataset(tracking: Tracking) -> None:
    x, y = _iris()
    mlflow.set_experiment("autolog")
    mlflow.sklearn.autolog()
    try:
        with mlflow.start_run() as run:
            model = linear_model.LogisticRegression(max_iter=200, C=0.5).fit(x, y)
    finally:
        mlflow.sklearn.autolog(disable=True)

    client = MlflowClient()
    got = client.get_run(run.info.run_id)
    (dataset_input,) = got.inputs.dataset_inputs
    assert dataset_input.dataset.name == "dataset"
    assert dataset_input.dataset.digest
    assert '"features_shape": [150, 4]' in dataset_input.dataset.profile
    assert {t.key: t.value for t in dataset_input.tags} == {"mlflow.data.context": "train"}
    (output,) = got.outputs.model_outputs
    assert 0.5 < got.data.metrics["training_accuracy_score"] <= 1.0
    assert len(client.get_metric_history(run.info.run_id, "training_accuracy_score")) == 1

    (logged,) = client.search_logged_models([run.info.experiment_id])
    assert logged.model_id == output.model_id
    assert (logged.name, str(logged.status)) == ("model", "READY")
    assert logged.params["C"] == "0.5"
    on_dataset = {m.key: m for m in logged.metrics}["training_accuracy_score"]
    assert on_dataset.dataset_name == "dataset"
    loaded = mlflow.sklearn.load_model(f"models:/{logged.model_id}")
    assert (loaded.predict(x) == model.predict(x)).all()

    ws, runyard_run = _runyard_run("autolog")
    assert runyard_run.get_details()["properties"]["C"] == "0.5"
    assert f"models/{logged.model_id}/MLmodel" in runyard_run.get_file_names()
    ws.close()


def test_search_logged_models_filters_orders_and_pages(tracking: Tracking) -> None:
    mlflow.set_experiment("search")
    client = MlflowClient()
    with mlflow.start_run() as run:
        for name, lr, acc in (("a", "0.1", 0.7), ("b", "0.01", 0.9), ("c", "0.1", 0.8)):
            model = mlflow.initialize_logged_model(
                name=name, params={"lr": lr}, tags={"kind": "cnn"}, model_type="agent"
            )
            mlflow.log_metric("acc", acc, model_id=model.model_id)
            client.finalize_logged_model(model.model_id, "READY")
    exp = [run.info.experiment_id]

    def names(**search: Any) -> list[str]:
        return [m.name for m in client.search_logged_models(exp, **search)]

    assert names() == ["c", "b", "a"]  # newest first
    assert names(filter_string="params.lr = '0.1'") == ["c", "a"]
    assert names(filter_string="metrics.acc > 0.75 AND tags.kind = 'cnn'") == ["c", "b"]
    assert names(filter_string="name = 'b' AND status = 'READY'") == ["b"]
    assert names(filter_string="model_type LIKE 'ag%' AND source_run_id = 'nope'") == []
    ordered = [{"field_name": "metrics.acc", "ascending": False}]
    assert names(order_by=ordered) == ["b", "c", "a"]
    first = client.search_logged_models(exp, order_by=ordered, max_results=2)
    assert [m.name for m in first] == ["b", "c"]
    rest = client.search_logged_models(exp, order_by=ordered, page_token=first.token)
    assert [m.name for m in rest] == ["a"]
    assert rest.token is None
    table = mlflow.search_logged_models(experiment_ids=exp)  # the pandas listing
    assert sorted(table["name"]) == ["a", "b", "c"]
    with pytest.raises(MlflowException) as bad:
        client.search_logged_models(exp, filter_string="params.lr >")
    assert _code(bad.value) == "INVALID_PARAMETER_VALUE"


def test_logged_model_tags_params_status_and_delete(tracking: Tracking) -> None:
    mlflow.set_experiment("details")
    client = MlflowClient()
    with mlflow.start_run():
        model = mlflow.initialize_logged_model(name="m", params={"lr": "0.1"}, tags={"a": "1"})
    model_id = model.model_id
    assert str(model.status) == "PENDING"
    client.set_logged_model_tags(model_id, {"b": "2"})
    client.delete_logged_model_tag(model_id, "a")
    tags = client.get_logged_model(model_id).tags
    assert {k: v for k, v in tags.items() if not k.startswith("mlflow.")} == {"b": "2"}
    assert tags["mlflow.user"]  # the client's context tags are the model's too
    with pytest.raises(MlflowException) as no_tag:
        client.delete_logged_model_tag(model_id, "a")
    assert _code(no_tag.value) == "RESOURCE_DOES_NOT_EXIST"

    client.log_model_params(model_id, {"lr": "0.1", "epochs": "3"})
    with pytest.raises(MlflowException) as changed:
        client.log_model_params(model_id, {"lr": "0.2"})
    assert _code(changed.value) == "INVALID_PARAMETER_VALUE"
    assert client.get_logged_model(model_id).params == {"epochs": "3", "lr": "0.1"}

    assert str(client.finalize_logged_model(model_id, "FAILED").status) == "FAILED"
    with pytest.raises(MlflowException) as final:
        client.finalize_logged_model(model_id, "READY")
    assert _code(final.value) == "INVALID_PARAMETER_VALUE"

    client.delete_logged_model(model_id)
    with pytest.raises(MlflowException) as gone:
        client.get_logged_model(model_id)
    assert _code(gone.value) == "RESOURCE_DOES_NOT_EXIST"
    assert client.search_logged_models([model.experiment_id]) == []


def test_a_logged_model_needs_a_run(tracking: Tracking) -> None:
    x, y = _iris()
    model = linear_model.LogisticRegression(max_iter=200).fit(x, y)
    mlflow.set_experiment("no-run")
    with pytest.raises(MlflowException) as refused:
        mlflow.sklearn.log_model(model, name="model")
    assert _code(refused.value) == "INVALID_PARAMETER_VALUE"
    assert "mlflow.start_run()" in refused.value.message
    with pytest.raises(MlflowException) as unknown:
        MlflowClient().get_logged_model("m-0123456789abcdef0123456789abcdef")
    assert _code(unknown.value) == "RESOURCE_DOES_NOT_EXIST"


def test_a_reader_reads_models_but_cannot_write_them(
    tracking: Tracking, monkeypatch: pytest.MonkeyPatch
) -> None:
    mlflow.set_experiment("guarded")
    with mlflow.start_run() as run:
        model = mlflow.initialize_logged_model(name="m")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", tracking.token(Role.READER))
    reader = MlflowClient()
    assert reader.get_logged_model(model.model_id).name == "m"
    assert [m.model_id for m in reader.search_logged_models([model.experiment_id])] == [
        model.model_id
    ]
    writes = [
        lambda: reader.create_logged_model(model.experiment_id, source_run_id=run.info.run_id),
        lambda: reader.finalize_logged_model(model.model_id, "READY"),
        lambda: reader.set_logged_model_tags(model.model_id, {"t": "1"}),
        lambda: reader.log_model_params(model.model_id, {"p": "1"}),
        lambda: reader.delete_logged_model(model.model_id),
        lambda: reader.log_outputs(run.info.run_id, [LoggedModelOutput(model.model_id, 0)]),
    ]
    for write in writes:
        with pytest.raises(MlflowException) as refused:
            write()
        assert _code(refused.value) == "PERMISSION_DENIED"
    unchanged = reader.get_logged_model(model.model_id)
    assert (str(unchanged.status), unchanged.params) == ("PENDING", {})
    assert "t" not in unchanged.tags
    assert reader.get_run(run.info.run_id).outputs.model_outputs == []
