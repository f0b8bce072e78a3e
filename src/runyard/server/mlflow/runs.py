"""MLflow's run routes: create, get, update, delete, restore, search, and what runs record
(params, tags, metrics, one at a time or in batches), and metric histories.

A run created here is an ordinary runyard run (run type ``mlflow``) with MLflow's fields in
runyard's places (``convert``): params are properties, immutable, so logging a param again
with another value is INVALID_PARAMETER_VALUE, as in MLflow.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from runyard.entities import (
    MetricChunk,
    MetricKind,
    NewRun,
    RunInfo,
    RunLifecycle,
    RunQuery,
    RunStatus,
    ValueType,
)
from runyard.errors import InvalidArgumentError, RunNotFoundError
from runyard.query import render_value
from runyard.server.mlflow import bodies
from runyard.server.mlflow.access import Reader, Writer
from runyard.server.mlflow.convert import (
    ENDED_AS,
    MLFLOW_STATUSES,
    NOTE_TAG,
    PARENT_TAG,
    RUN_NAME_TAG,
    RUN_TYPE,
    USER_TAG,
    metric_json,
    number,
    run_info_json,
    run_json,
    seconds,
)
from runyard.server.mlflow.experiments import experiment_by_id
from runyard.server.mlflow.models import split_model_metrics
from runyard.server.mlflow.search import VIEW_TYPES, all_of, run_filter, run_order_by, view_type
from runyard.server.routes import json
from runyard.store import Store

MAX_SEARCH_RESULTS = 50_000
"""MLflow's limit on search_runs' max_results."""
STORE_PAGE = 5_000
"""The largest page runyard's stores return; a bigger max_results takes several."""
MAX_BATCH_METRICS = 1000
MAX_BATCH_PARAMS = 100
MAX_BATCH_TAGS = 100
MAX_BATCH_ENTRIES = 1000
"""MLflow's limits on one log_batch call (mlflow.utils.validation)."""


def _run(store: Store, workspace: str, info: RunInfo) -> dict[str, Any]:
    io = store.get_run_io([info.run_id])[info.run_id]
    return run_json(info, workspace, store.list_metric_series([info.run_id]), io)


def add_routes(router: APIRouter) -> None:
    @router.post("/runs/create")
    def create_run(payload: bodies.Payload, call: Writer) -> Response:
        experiment = experiment_by_id(
            call.store, bodies.optional_text(payload, "experiment_id") or "0"
        )
        tags = dict(bodies.key_values(payload, "tags"))
        display_name = bodies.optional_text(payload, "run_name") or tags.pop(RUN_NAME_TAG, None)
        tags.pop(RUN_NAME_TAG, None)
        user = bodies.optional_text(payload, "user_id") or tags.get(USER_TAG)
        tags.pop(USER_TAG, None)
        new = NewRun(
            run_id=uuid.uuid4().hex,
            experiment_name=experiment.name,
            status=RunStatus.RUNNING,
            parent_run_id=tags.pop(PARENT_TAG, None) or None,
            run_type=RUN_TYPE,
            display_name=display_name or None,
            description=tags.pop(NOTE_TAG, None) or None,
            tags=tags,
            submitted_by=user or None,
        )
        (created,) = call.store.create_runs([new])
        return json({"run": run_json(created, call.workspace, ())})  # a new run: no metrics

    @router.get("/runs/get")
    def get_run(request: Request, call: Reader) -> Response:
        run_id = bodies.text(request.query_params, "run_id", "run_uuid")
        return json({"run": _run(call.store, call.workspace, call.store.get_run(run_id))})

    @router.post("/runs/update")
    def update_run(payload: bodies.Payload, call: Writer) -> Response:
        """``status`` RUNNING reopens an ended run (``start_run(run_id=...)``); FINISHED,
        FAILED and KILLED end it (Completed, Failed, Canceled: final, as in runyard).
        ``end_time`` is the store's clock. ``run_name`` renames."""
        run_id = bodies.text(payload, "run_id", "run_uuid")
        status = (bodies.optional_text(payload, "status") or "").upper() or None
        if status is not None and status not in MLFLOW_STATUSES:  # before anything is written
            raise InvalidArgumentError(
                f"status must be one of {', '.join(MLFLOW_STATUSES)}, got {status!r}."
            )
        info: RunInfo | None = None
        run_name = bodies.optional_text(payload, "run_name")
        if run_name is not None:
            info = call.store.update_run(run_id, display_name=run_name)
        if status is not None:
            if status in ENDED_AS:
                info = call.store.set_run_status(run_id, ENDED_AS[status])
            elif status == "RUNNING":
                info = call.store.reopen_run(run_id)
        if info is None:  # nothing to change (SCHEDULED, or no field): the run as it is
            info = call.store.get_run(run_id)
        return json({"run_info": run_info_json(info, call.workspace)})

    @router.post("/runs/delete")
    def delete_run(payload: bodies.Payload, call: Writer) -> Response:
        call.store.set_run_deleted(bodies.text(payload, "run_id", "run_uuid"), True)
        return json({})

    @router.post("/runs/restore")
    def restore_run(payload: bodies.Payload, call: Writer) -> Response:
        call.store.set_run_deleted(bodies.text(payload, "run_id", "run_uuid"), False)
        return json({})

    @router.post("/runs/search")
    def search_runs(payload: bodies.Payload, call: Reader) -> Response:
        return json(_search(call.store, call.workspace, payload))

    @router.post("/runs/log-metric")
    def log_metric(payload: bodies.Payload, call: Writer) -> Response:
        run_id = bodies.text(payload, "run_id", "run_uuid")
        point = _point(payload, "")
        models = split_model_metrics(call.store, run_id, [payload])
        if models.run_metrics:
            call.store.log_metrics([_chunk(run_id, bodies.text(payload, "key"), [point])])
        models.record(call.store)
        return json({})

    @router.post("/runs/log-parameter")
    def log_param(payload: bodies.Payload, call: Writer) -> Response:
        run_id = bodies.text(payload, "run_id", "run_uuid")
        key = bodies.text(payload, "key")
        call.store.add_properties(run_id, {key: bodies.value_of(payload, "value")})
        return json({})

    @router.post("/runs/set-tag")
    def set_tag(payload: bodies.Payload, call: Writer) -> Response:
        run_id = bodies.text(payload, "run_id", "run_uuid")
        key = bodies.text(payload, "key")
        _set_tags(call.store, run_id, [(key, bodies.value_of(payload, "value"))])
        return json({})

    @router.post("/runs/delete-tag")
    def delete_tag(payload: bodies.Payload, call: Writer) -> Response:
        run_id = bodies.text(payload, "run_id", "run_uuid")
        key = bodies.text(payload, "key")
        info = call.store.get_run(run_id)
        if key == RUN_NAME_TAG and info.display_name is not None:
            call.store.update_run(run_id, display_name=None)
        elif key == NOTE_TAG and info.description is not None:
            call.store.update_run(run_id, description=None)
        elif key in info.tags:
            call.store.remove_tags(run_id, [key])
        else:
            raise RunNotFoundError(f"Run {run_id!r} has no tag {key!r}; nothing was deleted.")
        return json({})

    @router.post("/runs/log-batch")
    def log_batch(payload: bodies.Payload, call: Writer) -> Response:
        """Params first (a conflicting one refuses the whole batch before anything is
        written), then metrics in one transaction, then tags."""
        run_id = bodies.text(payload, "run_id", "run_uuid")
        params = bodies.key_values(payload, "params")
        tags = bodies.key_values(payload, "tags")
        metrics = payload.get("metrics") or []
        if not isinstance(metrics, list):
            raise InvalidArgumentError("metrics must be a list of metric objects.")
        _check_batch(len(metrics), len(params), len(tags))
        models = split_model_metrics(call.store, run_id, metrics)
        if params:
            call.store.add_properties(run_id, dict(params))
        if models.run_metrics:
            call.store.log_metrics(_chunks(run_id, models.run_metrics))
        models.record(call.store)
        if tags:
            _set_tags(call.store, run_id, tags)
        return json({})

    @router.get("/metrics/get-history")
    def get_metric_history(request: Request, call: Reader) -> Response:
        fields = request.query_params
        run_id = bodies.text(fields, "run_id", "run_uuid")
        key = bodies.text(fields, "metric_key")
        call.store.get_run(run_id)  # 404 for an unknown run, not an empty history
        chunks = [c for c in call.store.read_metrics([run_id], [key])]
        points: list[dict[str, Any]] = []
        for chunk in chunks:
            if chunk.kind is not MetricKind.VECTOR or chunk.value_type is not ValueType.NUMBER:
                continue
            steps = chunk.steps or [None] * len(chunk.values)
            points.extend(
                metric_json(key, v, t, s)
                for v, t, s in zip(chunk.values, chunk.times, steps, strict=True)
                if isinstance(v, int | float)
            )
        return json({"metrics": points})


# -- helpers ---------------------------------------------------------------------------------


def _point(metric: dict[str, Any], where: str) -> tuple[float, float, int]:
    value = number(metric.get("value"), f"{where}value")
    stamp = metric.get("timestamp")
    when = time.time() if stamp is None or stamp == "" else seconds(stamp, f"{where}timestamp")
    step = bodies.integer(metric, "step", 0)
    return value, when, step


def _chunk(run_id: str, key: str, points: Sequence[tuple[float, float, int]]) -> MetricChunk:
    return MetricChunk(
        run_id=run_id,
        name=key,
        kind=MetricKind.VECTOR,
        value_type=ValueType.NUMBER,
        values=[p[0] for p in points],
        times=[p[1] for p in points],
        steps=[p[2] for p in points],
    )


def _chunks(run_id: str, metrics: list[Any]) -> list[MetricChunk]:
    """One chunk per key, each keeping the batch's order of its points."""
    by_key: dict[str, list[tuple[float, float, int]]] = {}
    for i, metric in enumerate(metrics):
        if not isinstance(metric, dict):
            raise InvalidArgumentError(f"metrics[{i}] must be an object {{key, value, ...}}.")
        key = bodies.text(metric, "key")
        by_key.setdefault(key, []).append(_point(metric, f"metrics[{i}]."))
    return [_chunk(run_id, key, points) for key, points in by_key.items()]


def _check_batch(metrics: int, params: int, tags: int) -> None:
    for count, limit, what in (
        (metrics, MAX_BATCH_METRICS, "metrics"),
        (params, MAX_BATCH_PARAMS, "params"),
        (tags, MAX_BATCH_TAGS, "tags"),
        (metrics + params + tags, MAX_BATCH_ENTRIES, "entries in all"),
    ):
        if count > limit:
            raise InvalidArgumentError(
                f"A batch may hold at most {limit} {what}, this one holds {count}: "
                "split it into several log_batch calls."
            )


def _set_tags(store: Store, run_id: str, pairs: Sequence[tuple[str, str]]) -> None:
    """Tags, with the ``mlflow.*`` tags that are run fields written to those fields."""
    plain: dict[str, str | None] = {}
    changes: dict[str, Any] = {}
    for key, value in pairs:
        if key == RUN_NAME_TAG:
            changes["display_name"] = value
        elif key == NOTE_TAG:
            changes["description"] = value
        elif key == PARENT_TAG:
            info = store.get_run(run_id)
            if info.parent_run_id != value:
                raise InvalidArgumentError(
                    f"Run {run_id!r} cannot be given the parent {value!r}: a run's parent is "
                    f"set when it is created (it is {info.parent_run_id!r})."
                )
        else:
            plain[key] = value
    if plain:
        store.set_tags(run_id, plain)
    if changes:
        store.update_run(run_id, **changes)


def _search(store: Store, workspace: str, payload: dict[str, Any]) -> dict[str, Any]:
    experiment_ids = bodies.strings(payload, "experiment_ids")
    if not experiment_ids:
        raise InvalidArgumentError(
            "search_runs needs experiment_ids: the ids of the experiments to search."
        )
    names = [experiment_by_id(store, i).name for i in dict.fromkeys(experiment_ids)]
    limit = bodies.integer(payload, "max_results", 1000)
    if not 1 <= limit <= MAX_SEARCH_RESULTS:
        raise InvalidArgumentError(
            f"max_results must be between 1 and {MAX_SEARCH_RESULTS}, got {limit}."
        )
    scope = None
    if len(names) > 1:
        scope = f"experiment_name IN ({', '.join(render_value(n) for n in names)})"
    query = RunQuery(
        experiment_name=names[0] if len(names) == 1 else None,
        include_children=True,
        filter=all_of(run_filter(bodies.optional_text(payload, "filter")), scope),
        order_by=run_order_by(bodies.strings(payload, "order_by")),
        include_metrics=True,
        lifecycle=RunLifecycle(VIEW_TYPES[view_type(payload.get("run_view_type"))]),
        page_token=bodies.optional_text(payload, "page_token"),
    )
    found: list[dict[str, Any]] = []
    token = query.page_token
    while True:
        wanted = min(limit - len(found), STORE_PAGE)
        page = store.search_runs(replace(query, page_size=wanted, page_token=token))
        ios = store.get_run_io([info.run_id for info in page.runs]) if page.runs else {}
        found.extend(
            run_json(info, workspace, (info.metrics or {}).values(), ios[info.run_id])
            for info in page.runs
        )
        token = page.next_page_token
        if token is None or len(found) >= limit:
            break
    body: dict[str, Any] = {"runs": found}
    if token is not None:
        body["next_page_token"] = token
    return body


__all__ = ["add_routes"]
