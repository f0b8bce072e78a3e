"""The Store contract for logged models (MLflow 3's) and for what runs use and make: datasets
and models. Mixed into ``StoreContract``, so it runs on every backend (SQLite, PostgreSQL, S3
artifacts, HTTP)."""

from __future__ import annotations

import dataclasses
import io
import math
import time

import pytest

from runyard.entities import (
    DatasetInput,
    LoggedModelInfo,
    LoggedModelQuery,
    LoggedModelStatus,
    ModelMetric,
    ModelOutput,
    NewLoggedModel,
    NewRun,
    RunIO,
)
from runyard.errors import (
    InvalidArgumentError,
    InvalidNameError,
    LimitExceededError,
    LoggedModelExistsError,
    LoggedModelNotFoundError,
    PropertyConflictError,
    RunNotFoundError,
)
from runyard.limits import MAX_VALUE_LENGTH
from runyard.store.base import Store

CLOCK_SLACK = 1.0
IRIS = DatasetInput(
    name="iris",
    digest="a1b2c3d4",
    source_type="code",
    source='{"tags": {"mlflow.source.name": "train.py"}}',
    schema='{"mlflow_colspec": [{"type": "double", "name": "x"}]}',
    profile='{"num_rows": 150}',
    tags={"mlflow.data.context": "train"},
)


def _model(
    model_id: str, run_id: str = "r", name: str = "model", **fields: object
) -> NewLoggedModel:
    return NewLoggedModel(model_id, run_id, name, **fields)  # type: ignore[arg-type]


def _ids(store: Store, **query: object) -> list[str]:
    page = store.search_logged_models(LoggedModelQuery(**query))  # type: ignore[arg-type]
    assert page.next_page_token is None
    return [m.model_id for m in page.models]


class ModelContract:
    def _runs(self, store: Store) -> None:
        """r and s in experiment ``e``, t in ``other``."""
        store.create_runs([NewRun("r", "e"), NewRun("s", "e"), NewRun("t", "other")])

    # -- creating and reading ------------------------------------------------------------------

    def test_create_logged_model_is_pending_in_its_runs_experiment(self, store: Store) -> None:
        self._runs(store)
        before = time.time()
        created = store.create_logged_model(
            _model(
                "m-1",
                model_type="classifier",
                tags={"mlflow.source.name": "train.py", "empty": ""},
                params={"C": "0.5", "max_iter": "200"},
            )
        )
        run = store.get_run("r")
        assert created.model_id == "m-1"
        assert created.source_run_id == "r"
        assert (created.experiment_id, created.experiment_name) == (run.experiment_id, "e")
        assert created.name == "model"
        assert created.model_type == "classifier"
        assert created.status is LoggedModelStatus.PENDING
        assert created.status_message is None
        assert created.artifact_path == "models/m-1"
        assert before - CLOCK_SLACK <= created.created_time <= time.time() + CLOCK_SLACK
        assert created.updated_time == created.created_time
        assert created.deleted_time is None
        assert dict(created.tags) == {"empty": "", "mlflow.source.name": "train.py"}
        assert list(created.params) == ["C", "max_iter"]
        assert created.metrics == ()
        assert store.get_logged_model("m-1") == created

    def test_create_logged_model_refuses_what_it_cannot_keep(self, store: Store) -> None:
        self._runs(store)
        with pytest.raises(RunNotFoundError):
            store.create_logged_model(_model("m-1", run_id="nope"))
        for bad_id in ("", "a/b", "..", "m " * 3, "x" * 65):
            with pytest.raises(InvalidNameError, match="model id"):
                store.create_logged_model(_model(bad_id))
        for bad_name in ("", "a/b", "v1.2", "50%", "it's", "run:1"):
            with pytest.raises(InvalidNameError, match="model name"):
                store.create_logged_model(_model("m-1", name=bad_name))
        with pytest.raises(LimitExceededError):
            store.create_logged_model(_model("m-1", tags={"k": "v" * (MAX_VALUE_LENGTH + 1)}))
        with pytest.raises(InvalidArgumentError):
            store.create_logged_model(_model("m-1", params={"k": None}))
        assert _ids(store) == []
        store.create_logged_model(_model("m-1"))
        with pytest.raises(LoggedModelExistsError, match="m-1"):
            store.create_logged_model(_model("m-1", run_id="s", name="other"))
        assert store.get_logged_model("m-1").source_run_id == "r"

    def test_create_logged_model_with_a_request_id_is_applied_once(self, store: Store) -> None:
        self._runs(store)
        first = store.create_logged_model(_model("m-1"), request_id="client-1")
        again = store.create_logged_model(_model("m-1"), request_id="client-1")
        assert again == first
        assert _ids(store) == ["m-1"]

    def test_get_logged_model_of_an_unknown_id(self, store: Store) -> None:
        self._runs(store)
        for model_id in ("m-unknown", "", "a/b", "..", "\x00"):
            with pytest.raises(LoggedModelNotFoundError):
                store.get_logged_model(model_id)

    # -- finishing and deleting ----------------------------------------------------------------

    def test_update_logged_model_finishes_it_once(self, store: Store) -> None:
        self._runs(store)
        created = store.create_logged_model(_model("m-1"))
        ready = store.update_logged_model("m-1", LoggedModelStatus.READY)
        assert ready.status is LoggedModelStatus.READY
        assert ready.updated_time >= created.updated_time
        assert store.update_logged_model("m-1", LoggedModelStatus.READY) == ready
        with pytest.raises(InvalidArgumentError, match="final"):
            store.update_logged_model("m-1", LoggedModelStatus.FAILED, "too late")
        with pytest.raises(InvalidArgumentError, match="pending"):
            store.update_logged_model("m-1", LoggedModelStatus.PENDING)
        assert store.get_logged_model("m-1") == ready
        store.create_logged_model(_model("m-2"))
        failed = store.update_logged_model("m-2", LoggedModelStatus.FAILED, "upload broke off")
        assert failed.status is LoggedModelStatus.FAILED
        assert failed.status_message == "upload broke off"
        with pytest.raises(LoggedModelNotFoundError):
            store.update_logged_model("m-3", LoggedModelStatus.READY)
        with pytest.raises(InvalidArgumentError):
            store.update_logged_model("m-2", "done")  # type: ignore[arg-type]

    def test_delete_logged_model_is_soft_and_keeps_its_files(self, store: Store) -> None:
        self._runs(store)
        created = store.create_logged_model(_model("m-1"))
        path = f"{created.artifact_path}/MLmodel"
        store.put_artifact("r", path, io.BytesIO(b"flavors: {}"))
        deleted = store.delete_logged_model("m-1")
        assert deleted.deleted_time is not None
        assert store.get_logged_model("m-1") == deleted
        assert store.delete_logged_model("m-1").deleted_time == deleted.deleted_time
        assert _ids(store) == []
        assert _ids(store, include_deleted=True) == ["m-1"]
        assert [a.path for a in store.list_artifacts("r")] == [path]
        with pytest.raises(LoggedModelNotFoundError):
            store.delete_logged_model("m-2")

    # -- listing -------------------------------------------------------------------------------

    def test_search_logged_models_newest_first_by_experiment_run_and_name(
        self, store: Store
    ) -> None:
        self._runs(store)
        for model_id, run_id, name in (
            ("m-1", "r", "model"),
            ("m-2", "s", "model"),
            ("m-3", "r", "best_estimator"),
            ("m-4", "t", "model"),
        ):
            store.create_logged_model(_model(model_id, run_id, name))
        assert _ids(store) == ["m-4", "m-3", "m-2", "m-1"]
        assert _ids(store, experiment_names=["e"]) == ["m-3", "m-2", "m-1"]
        assert _ids(store, experiment_names=["e", "other"]) == ["m-4", "m-3", "m-2", "m-1"]
        assert _ids(store, experiment_names=["nope"]) == []
        assert _ids(store, source_run_id="r") == ["m-3", "m-1"]
        assert _ids(store, source_run_id="r", name="model") == ["m-1"]
        assert _ids(store, name="model", experiment_names=["e"]) == ["m-2", "m-1"]
        found = store.search_logged_models(LoggedModelQuery(source_run_id="r")).models
        assert found[0] == store.get_logged_model("m-3")

    def test_search_logged_models_pages(self, store: Store) -> None:
        self._runs(store)
        for i in range(5):
            store.create_logged_model(_model(f"m-{i}"))
        seen: list[str] = []
        token: str | None = None
        while True:
            page = store.search_logged_models(LoggedModelQuery(page_size=2, page_token=token))
            assert len(page.models) <= 2
            seen += [m.model_id for m in page.models]
            token = page.next_page_token
            if token is None:
                break
        assert seen == ["m-4", "m-3", "m-2", "m-1", "m-0"]
        with pytest.raises(InvalidArgumentError, match="page token"):
            store.search_logged_models(LoggedModelQuery(page_token="not-a-token"))
        with pytest.raises(InvalidArgumentError, match="page_size"):
            store.search_logged_models(LoggedModelQuery(page_size=0))

    # -- tags, params, metric values -----------------------------------------------------------

    def test_logged_model_tags_merge_and_delete(self, store: Store) -> None:
        self._runs(store)
        store.create_logged_model(_model("m-1", tags={"a": "1", "b": "2"}))
        store.set_logged_model_tags("m-1", {"b": "two", "c": "3"})
        assert dict(store.get_logged_model("m-1").tags) == {"a": "1", "b": "two", "c": "3"}
        store.delete_logged_model_tag("m-1", "a")
        assert dict(store.get_logged_model("m-1").tags) == {"b": "two", "c": "3"}
        with pytest.raises(LoggedModelNotFoundError, match="no tag 'a'"):
            store.delete_logged_model_tag("m-1", "a")
        with pytest.raises(LoggedModelNotFoundError):
            store.set_logged_model_tags("m-2", {"a": "1"})
        with pytest.raises(InvalidNameError):
            store.set_logged_model_tags("m-1", {"": "1"})
        assert dict(store.get_logged_model("m-1").tags) == {"b": "two", "c": "3"}

    def test_logged_model_params_are_immutable(self, store: Store) -> None:
        self._runs(store)
        store.create_logged_model(_model("m-1", params={"C": "0.5"}))
        store.add_logged_model_params("m-1", {"C": "0.5", "max_iter": "200"})
        with pytest.raises(PropertyConflictError, match="'C'"):
            store.add_logged_model_params("m-1", {"penalty": "l2", "C": "1.0"})
        assert dict(store.get_logged_model("m-1").params) == {"C": "0.5", "max_iter": "200"}
        with pytest.raises(LoggedModelNotFoundError):
            store.add_logged_model_params("m-2", {"C": "1"})

    def test_logged_model_metrics_are_recorded_once_each(self, store: Store) -> None:
        self._runs(store)
        store.create_logged_model(_model("m-1"))
        values = [
            ModelMetric("accuracy", 0.9, 1000.5, 0, "r", "iris", "a1b2c3d4"),
            ModelMetric("accuracy", 0.95, 1001.0, 1, "r", "iris", "a1b2c3d4"),
            ModelMetric("loss", math.nan, 1000.5),
            ModelMetric("loss", math.inf, 1000.5, step=2**40),
        ]
        store.add_logged_model_metrics("m-1", values)
        store.add_logged_model_metrics("m-1", values[:3])  # recorded already: not twice
        got = store.get_logged_model("m-1").metrics
        assert len(got) == 4
        assert got[0] == values[0] and got[1] == values[1] and got[3] == values[3]
        assert math.isnan(got[2].value) and dataclasses.replace(got[2], value=0.0) == (
            dataclasses.replace(values[2], value=0.0)
        )
        with pytest.raises(RunNotFoundError):
            store.add_logged_model_metrics("m-1", [ModelMetric("acc", 1.0, 1.0, run_id="nope")])
        with pytest.raises(LoggedModelNotFoundError):
            store.add_logged_model_metrics("m-2", values)
        with pytest.raises(InvalidArgumentError):
            store.add_logged_model_metrics("m-1", [ModelMetric("acc", "high", 1.0)])  # type: ignore[arg-type]
        assert len(store.get_logged_model("m-1").metrics) == 4

    # -- what runs use and make ----------------------------------------------------------------

    def test_run_inputs_keep_the_first_record_of_a_dataset(self, store: Store) -> None:
        self._runs(store)
        store.create_logged_model(_model("m-1", run_id="t"))
        assert store.get_run_io(["r"]) == {"r": RunIO()}
        retagged = dataclasses.replace(IRIS, tags={"mlflow.data.context": "eval"})
        newer = dataclasses.replace(IRIS, digest="e5f6a7b8", schema=None, profile=None, tags={})
        store.log_run_inputs("r", [IRIS, retagged], ["m-1"])
        store.log_run_inputs("r", [retagged, newer], ["m-1"])
        got = store.get_run_io(["r", "s"])
        assert list(got) == ["r", "s"]
        assert got["r"].datasets == (IRIS, newer)
        assert got["r"].model_inputs == ("m-1",)
        assert got["r"].model_outputs == ()
        assert got["s"] == RunIO()

    def test_run_inputs_refuse_unknown_runs_and_models(self, store: Store) -> None:
        self._runs(store)
        with pytest.raises(RunNotFoundError):
            store.log_run_inputs("nope", [IRIS])
        with pytest.raises(LoggedModelNotFoundError, match="m-9"):
            store.log_run_inputs("r", [IRIS], ["m-9"])
        with pytest.raises(InvalidNameError):
            store.log_run_inputs("r", [dataclasses.replace(IRIS, digest="")])
        with pytest.raises(LimitExceededError):
            store.log_run_inputs("r", [dataclasses.replace(IRIS, name="n" * 501)])
        assert store.get_run_io(["r"]) == {"r": RunIO()}
        with pytest.raises(RunNotFoundError):
            store.get_run_io(["r", "nope"])

    def test_run_outputs_keep_the_first_step(self, store: Store) -> None:
        self._runs(store)
        store.create_logged_model(_model("m-1"))
        store.create_logged_model(_model("m-2", name="best_estimator"))
        store.log_run_outputs("r", [ModelOutput("m-1", 3)])
        store.log_run_outputs("r", [ModelOutput("m-1", 7), ModelOutput("m-2")])
        assert store.get_run_io(["r"])["r"].model_outputs == (
            ModelOutput("m-1", 3),
            ModelOutput("m-2", 0),
        )
        with pytest.raises(LoggedModelNotFoundError):
            store.log_run_outputs("s", [ModelOutput("m-1"), ModelOutput("m-9")])
        assert store.get_run_io(["s"])["s"] == RunIO()
        with pytest.raises(RunNotFoundError):
            store.log_run_outputs("nope", [ModelOutput("m-1")])

    def test_logged_model_files_are_its_runs_artifacts(self, store: Store) -> None:
        self._runs(store)
        model: LoggedModelInfo = store.create_logged_model(_model("m-1"))
        for name, data in (("MLmodel", b"flavors: {}"), ("model.pkl", b"\x80\x04")):
            store.put_artifact("r", f"{model.artifact_path}/{name}", io.BytesIO(data))
        listed = store.list_artifacts("r", model.artifact_path)
        assert [a.path for a in listed] == ["models/m-1/MLmodel", "models/m-1/model.pkl"]
        with store.open_artifact("r", "models/m-1/model.pkl") as stream:
            assert stream.read() == b"\x80\x04"
