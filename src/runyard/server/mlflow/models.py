"""MLflow 3's logged models and run inputs/outputs: what ``log_model``, autologging and
``load_model("models:/<model_id>")`` call.

A logged model is a runyard logged model (``Store.create_logged_model``) of the run that made
it: its ``artifact_uri`` is ``mlflow-artifacts:/<workspace>/<run_id>/artifacts/models/<model_id>``,
so the client uploads and downloads its files through the artifact proxy, as the run's
artifacts (``Run.get_file_names()`` lists them). A model without a source run is refused:
runyard keeps files with runs. Datasets (``log_inputs``) and the models a run made
(``log_outputs``) are recorded with the run (``Store.log_run_inputs``, ``log_run_outputs``) and
come back in ``get_run``'s ``inputs`` and ``outputs``. Metric values logged with a model's id
are recorded on the model too (``split_model_metrics``, used by ``runs.py``).
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from runyard.entities import (
    DatasetInput,
    LoggedModelInfo,
    LoggedModelQuery,
    LoggedModelStatus,
    ModelMetric,
    ModelOutput,
    NewLoggedModel,
)
from runyard.errors import InvalidArgumentError, LoggedModelNotFoundError
from runyard.server.mlflow import bodies
from runyard.server.mlflow.access import Reader, Writer
from runyard.server.mlflow.convert import artifact_uri, double, key_values, millis, number, seconds
from runyard.server.mlflow.experiments import experiment_by_id
from runyard.server.mlflow.model_search import (
    datasets_of,
    model_filter,
    sort_keys,
    sort_models,
)
from runyard.server.mlflow.search import offset_token, token_offset
from runyard.server.routes import json
from runyard.store import Store

PROTO_STATUS = {
    LoggedModelStatus.PENDING: "LOGGED_MODEL_PENDING",
    LoggedModelStatus.READY: "LOGGED_MODEL_READY",
    LoggedModelStatus.FAILED: "LOGGED_MODEL_UPLOAD_FAILED",
}
"""A model's status as MLflow's protocol names it."""
_STATUS_OF: dict[object, LoggedModelStatus] = {
    **{name: status for status, name in PROTO_STATUS.items()},
    **{number: status for number, status in enumerate(LoggedModelStatus, start=1)},
    **{str(number): status for number, status in enumerate(LoggedModelStatus, start=1)},
    **{status.value.upper(): status for status in LoggedModelStatus},
}
"""MLflow's status names and enum numbers (1 pending, 2 ready, 3 failed) as runyard's."""
DEFAULT_SEARCH_RESULTS = 100
MAX_SEARCH_RESULTS = 50_000
STORE_PAGE = 5_000


def model_json(model: LoggedModelInfo, workspace: str) -> dict[str, Any]:
    """A logged model as MLflow's ``LoggedModel`` message."""
    info: dict[str, Any] = {
        "model_id": model.model_id,
        "experiment_id": model.experiment_id,
        "name": model.name,
        "creation_timestamp_ms": millis(model.created_time),
        "last_updated_timestamp_ms": millis(model.updated_time),
        "artifact_uri": f"{artifact_uri(workspace, model.source_run_id)}/{model.artifact_path}",
        "status": PROTO_STATUS[model.status],
        "source_run_id": model.source_run_id,
        "tags": key_values(model.tags),
    }
    if model.model_type is not None:
        info["model_type"] = model.model_type
    if model.status_message is not None:
        info["status_message"] = model.status_message
    metrics = [_metric_json(model.model_id, m) for m in model.metrics]
    return {"info": info, "data": {"params": key_values(model.params), "metrics": metrics}}


def _metric_json(model_id: str, metric: ModelMetric) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": metric.key,
        "value": double(metric.value),
        "timestamp": millis(metric.time),
        "step": metric.step,
        "model_id": model_id,
    }
    for name in ("run_id", "dataset_name", "dataset_digest"):
        if getattr(metric, name) is not None:
            out[name] = getattr(metric, name)
    return out


def add_routes(router: APIRouter) -> None:
    model_path = "/logged-models/{model_id}"

    @router.post("/logged-models")
    def create_logged_model(payload: bodies.Payload, call: Writer) -> Response:
        """Pending, in its source run's experiment; its name defaults to its id."""
        run_id = bodies.optional_text(payload, "source_run_id")
        if run_id is None:
            raise InvalidArgumentError(
                "runyard keeps a logged model's files with the run that made it, and this "
                "model has no source run: log it inside a run (with mlflow.start_run(): ...) "
                "or give log_model a run_id."
            )
        run = call.store.get_run(run_id)
        experiment_id = bodies.optional_text(payload, "experiment_id")
        if experiment_id is not None and experiment_id != run.experiment_id:
            named = experiment_by_id(call.store, experiment_id)
            if named.experiment_id != run.experiment_id:
                raise InvalidArgumentError(
                    f"A logged model belongs to its source run's experiment: run {run_id!r} is "
                    f"in experiment {run.experiment_id!r} ({run.experiment_name}), not "
                    f"{experiment_id!r}."
                )
        model_id = f"m-{uuid.uuid4().hex}"
        created = call.store.create_logged_model(
            NewLoggedModel(
                model_id=model_id,
                source_run_id=run_id,
                name=bodies.optional_text(payload, "name") or model_id,
                model_type=bodies.optional_text(payload, "model_type"),
                tags=dict(bodies.key_values(payload, "tags")),
                params=dict(bodies.key_values(payload, "params")),
            )
        )
        return json({"model": model_json(created, call.workspace)})

    @router.get(model_path)
    def get_logged_model(model_id: str, request: Request, call: Reader) -> Response:
        """A deleted model is not found unless ``allow_deleted=true``."""
        model = call.store.get_logged_model(model_id)
        allow_deleted = request.query_params.get("allow_deleted", "").lower() == "true"
        if model.deleted_time is not None and not allow_deleted:
            raise _deleted(model_id)
        return json({"model": model_json(model, call.workspace)})

    @router.patch(model_path)
    def finalize_logged_model(model_id: str, payload: bodies.Payload, call: Writer) -> Response:
        """READY or UPLOAD_FAILED, once (a finished model's status is final)."""
        status = _STATUS_OF.get(payload.get("status"))
        if status is None:
            raise InvalidArgumentError(
                f"status must be LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED, got "
                f"{payload.get('status')!r:.40}."
            )
        model = call.store.update_logged_model(model_id, status)
        return json({"model": model_json(model, call.workspace)})

    @router.delete(model_path)
    def delete_logged_model(model_id: str, call: Writer) -> Response:
        """A soft delete: the model's files stay with its run."""
        call.store.delete_logged_model(model_id)
        return json({})

    @router.patch(model_path + "/tags")
    def set_logged_model_tags(model_id: str, payload: bodies.Payload, call: Writer) -> Response:
        call.store.set_logged_model_tags(model_id, dict(bodies.key_values(payload, "tags")))
        return json({"model": model_json(call.store.get_logged_model(model_id), call.workspace)})

    @router.delete(model_path + "/tags/{tag_key:path}")
    def delete_logged_model_tag(model_id: str, tag_key: str, call: Writer) -> Response:
        call.store.delete_logged_model_tag(model_id, tag_key)
        return json({})

    @router.post(model_path + "/params")
    def log_logged_model_params(model_id: str, payload: bodies.Payload, call: Writer) -> Response:
        """Params are immutable, as a run's: another value is INVALID_PARAMETER_VALUE."""
        call.store.add_logged_model_params(model_id, dict(bodies.key_values(payload, "params")))
        return json({})

    @router.post("/logged-models/search")
    def search_logged_models(payload: bodies.Payload, call: Reader) -> Response:
        return json(_search(call.store, call.workspace, payload))

    @router.post("/runs/log-inputs")
    def log_inputs(payload: bodies.Payload, call: Writer) -> Response:
        """Datasets (one per name and digest, the first record kept) and models used."""
        run_id = bodies.text(payload, "run_id")
        datasets = [_dataset(item, i) for i, item in enumerate(_objects(payload, "datasets"))]
        models = [bodies.text(item, "model_id") for item in _objects(payload, "models")]
        call.store.log_run_inputs(run_id, datasets, models)
        return json({})

    @router.post("/runs/outputs")
    def log_outputs(payload: bodies.Payload, call: Writer) -> Response:
        """The models a run made, each at its step (the first record kept)."""
        run_id = bodies.text(payload, "run_id")
        outputs = [
            ModelOutput(bodies.text(item, "model_id"), bodies.integer(item, "step", 0))
            for item in _objects(payload, "models")
        ]
        call.store.log_run_outputs(run_id, outputs)
        return json({})


# -- helpers ---------------------------------------------------------------------------------


def _deleted(model_id: str) -> LoggedModelNotFoundError:
    return LoggedModelNotFoundError(
        f"Logged model {model_id!r} was deleted (get it with allow_deleted=True)."
    )


def _objects(payload: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = payload.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise InvalidArgumentError(f"{name} must be a list of objects.")
    return value


def _dataset(item: dict[str, Any], index: int) -> DatasetInput:
    """A ``DatasetInput`` message: ``{tags: [{key, value}], dataset: {name, digest, ...}}``."""
    dataset = item.get("dataset")
    if not isinstance(dataset, dict):
        raise InvalidArgumentError(f"datasets[{index}] needs a dataset object.")
    return DatasetInput(
        name=bodies.text(dataset, "name"),
        digest=bodies.text(dataset, "digest"),
        source_type=bodies.text(dataset, "source_type"),
        source=bodies.text(dataset, "source"),
        schema=bodies.optional_text(dataset, "schema"),
        profile=bodies.optional_text(dataset, "profile"),
        tags=dict(bodies.key_values(item, "tags")),
    )


def _all_models(store: Store, query: LoggedModelQuery) -> Iterator[LoggedModelInfo]:
    token: str | None = None
    while True:
        page = store.search_logged_models(
            LoggedModelQuery(
                experiment_names=query.experiment_names,
                source_run_id=query.source_run_id,
                name=query.name,
                page_size=STORE_PAGE,
                page_token=token,
            )
        )
        yield from page.models
        token = page.next_page_token
        if token is None:
            return


def _search(store: Store, workspace: str, payload: dict[str, Any]) -> dict[str, Any]:
    experiment_ids = bodies.strings(payload, "experiment_ids")
    if not experiment_ids:
        raise InvalidArgumentError(
            "search_logged_models needs experiment_ids: the ids of the experiments to search."
        )
    names = [experiment_by_id(store, i).name for i in dict.fromkeys(experiment_ids)]
    test = model_filter(
        bodies.optional_text(payload, "filter"), datasets_of(payload.get("datasets"))
    )
    keys = sort_keys(payload.get("order_by"))
    limit = bodies.integer(payload, "max_results", DEFAULT_SEARCH_RESULTS)
    if not 1 <= limit <= MAX_SEARCH_RESULTS:
        raise InvalidArgumentError(
            f"max_results must be between 1 and {MAX_SEARCH_RESULTS}, got {limit}."
        )
    offset = token_offset(bodies.optional_text(payload, "page_token"))
    query = LoggedModelQuery(
        experiment_names=names,
        name=test.exact.get("name"),
        source_run_id=test.exact.get("source_run_id"),
    )
    found = [m for m in _all_models(store, query) if test(m)]
    sort_models(found, keys)
    body: dict[str, Any] = {
        "models": [model_json(m, workspace) for m in found[offset : offset + limit]]
    }
    if offset + limit < len(found):
        body["next_page_token"] = offset_token(offset + limit)
    return body


# -- metric values logged with a model's id (log_metric, log_batch) ---------------------------


@dataclass
class ModelPoints:
    """The metrics of a ``log_metric`` or ``log_batch`` call, split: those to append to the run,
    and the values to record on logged models (``record``, once the run's are written)."""

    run_metrics: list[Any]
    by_model: dict[str, list[ModelMetric]] = field(default_factory=dict)

    def record(self, store: Store) -> None:
        for model_id, values in self.by_model.items():
            store.add_logged_model_metrics(model_id, values)


def split_model_metrics(store: Store, run_id: str, metrics: Sequence[Any]) -> ModelPoints:
    """Split the metric objects of a call by whether they name a model (``model_id``).

    Those that do are recorded on the model (MLflow's model metrics), and appended to the run
    unless it has the same point already (key, value, timestamp and step): when it logs a
    model, MLflow's client logs the run's metrics of that step again with the model's id, and
    MLflow keeps a point once.

    Raises:
        LoggedModelNotFoundError: a model id names no model (checked before anything is
            written).
        InvalidArgumentError: a value, timestamp or step of such a metric is malformed.
    """
    named = [m for m in metrics if isinstance(m, dict) and m.get("model_id")]
    if not named:
        return ModelPoints(list(metrics))
    points = ModelPoints([])
    for i, metric in enumerate(named):
        model_id = bodies.text(metric, "model_id")
        if model_id not in points.by_model:
            store.get_logged_model(model_id)
            points.by_model[model_id] = []
        stamp = metric.get("timestamp")
        points.by_model[model_id].append(
            ModelMetric(
                key=bodies.text(metric, "key"),
                value=number(metric.get("value"), f"metrics[{i}].value"),
                time=time.time() if stamp in (None, "") else seconds(stamp, "timestamp"),
                step=bodies.integer(metric, "step", 0),
                run_id=run_id,
                dataset_name=bodies.optional_text(metric, "dataset_name"),
                dataset_digest=bodies.optional_text(metric, "dataset_digest"),
            )
        )
    keys = sorted({m.key for values in points.by_model.values() for m in values})
    have: set[tuple[str, Any, int, int]] = set()
    for chunk in store.read_metrics([run_id], keys):
        steps = chunk.steps or [None] * len(chunk.values)
        for value, when, step in zip(chunk.values, chunk.times, steps, strict=True):
            if isinstance(value, int | float):
                have.add((chunk.name, _same(value), millis(when) or 0, step or 0))
    for metric in metrics:
        if isinstance(metric, dict) and metric.get("model_id"):
            stamp = metric.get("timestamp")
            point = (
                metric.get("key"),
                _same(number(metric.get("value"), "value")),
                millis(seconds(stamp, "timestamp")) if stamp not in (None, "") else None,
                bodies.integer(metric, "step", 0),
            )
            if point in have:
                continue
        points.run_metrics.append(metric)
    return points


def _same(value: float) -> Any:
    """A value as compared for sameness (NaN the same as NaN)."""
    return "NaN" if isinstance(value, float) and math.isnan(value) else float(value)


__all__ = ["ModelPoints", "add_routes", "model_json", "split_model_metrics"]
