"""runyard's entities in MLflow's JSON, and MLflow's values in runyard's terms.

The mapping (docs/mlflow.md): MLflow params are runyard properties, tags are tags, and four
``mlflow.*`` tags are fields of the run (``RUN_FIELD_TAGS``); statuses map as ``MLFLOW_STATUS``
says; times are milliseconds in MLflow and POSIX seconds in runyard; a run's artifacts are
reached through the server (``mlflow-artifacts:/<workspace>/<run_id>/artifacts``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from runyard.entities import (
    DatasetInput,
    ExperimentInfo,
    MetricKind,
    MetricSeries,
    RunInfo,
    RunIO,
    RunStatus,
    ValueType,
)
from runyard.errors import InvalidArgumentError

RUN_NAME_TAG = "mlflow.runName"
PARENT_TAG = "mlflow.parentRunId"
NOTE_TAG = "mlflow.note.content"
USER_TAG = "mlflow.user"
RUN_FIELD_TAGS = {
    RUN_NAME_TAG: "display_name",
    PARENT_TAG: "parent_run_id",
    NOTE_TAG: "description",
    USER_TAG: "submitted_by",
}
"""The ``mlflow.*`` tags that are fields of a runyard run: read from the field, written to it."""

RUN_TYPE = "mlflow"
"""The run type of runs created through the MLflow API."""

MLFLOW_STATUS = {
    RunStatus.NOT_STARTED: "SCHEDULED",
    RunStatus.QUEUED: "SCHEDULED",
    RunStatus.UNAPPROVED: "SCHEDULED",
    RunStatus.PREPARING: "SCHEDULED",
    RunStatus.PROVISIONING: "SCHEDULED",
    RunStatus.STARTING: "SCHEDULED",
    RunStatus.RUNNING: "RUNNING",
    RunStatus.FINALIZING: "RUNNING",
    RunStatus.CANCEL_REQUESTED: "RUNNING",
    RunStatus.NOT_RESPONDING: "RUNNING",
    RunStatus.PAUSING: "RUNNING",
    RunStatus.PAUSED: "RUNNING",
    RunStatus.COMPLETED: "FINISHED",
    RunStatus.FAILED: "FAILED",
    RunStatus.CANCELED: "KILLED",
}
"""Each runyard status as MLflow's five (RUNNING, SCHEDULED, FINISHED, FAILED, KILLED)."""

MLFLOW_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
STATUSES_OF_MLFLOW: dict[str, tuple[RunStatus, ...]] = {
    name: tuple(s for s, mapped in MLFLOW_STATUS.items() if mapped == name)
    for name in MLFLOW_STATUSES
}
"""Every runyard status an MLflow status stands for (a filter on RUNNING matches them all)."""

ENDED_AS = {
    "FINISHED": RunStatus.COMPLETED,
    "FAILED": RunStatus.FAILED,
    "KILLED": RunStatus.CANCELED,
}
"""The final runyard status of MLflow's update_run(status=...)."""


def millis(seconds: float | None) -> int | None:
    """POSIX seconds as MLflow's whole milliseconds, rounded down (so that a filter on a time
    MLflow showed selects the same runs: ``search.time_comparison``)."""
    return None if seconds is None else math.floor(seconds * 1000)


def seconds(ms: Any, what: str) -> float:
    """MLflow milliseconds (a number or its text) as POSIX seconds."""
    try:
        value = float(ms)
    except (TypeError, ValueError):
        raise InvalidArgumentError(
            f"{what} must be milliseconds since the epoch, got {ms!r}."
        ) from None
    if not math.isfinite(value):
        raise InvalidArgumentError(f"{what} must be a finite number of milliseconds, got {ms!r}.")
    return value / 1000.0


def number(value: Any, what: str) -> float:
    """A double as MLflow's JSON sends it: a number, or "NaN", "Infinity", "-Infinity"."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidArgumentError(f"{what} must be a number, got {value!r}.")
    try:
        return float(value)
    except ValueError:
        raise InvalidArgumentError(f"{what} must be a number, got {value!r}.") from None


def double(value: float) -> float | str:
    """A double as proto3 JSON writes it (NaN and the infinities as text)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def is_numeric(series: MetricSeries) -> bool:
    """Whether MLflow sees this series: one number per point (runyard's tables, strings and
    images have no MLflow equivalent)."""
    return series.kind is MetricKind.VECTOR and series.value_type in (
        ValueType.NUMBER,
        ValueType.BOOL,
    )


def artifact_uri(workspace: str, run_id: str) -> str:
    return f"mlflow-artifacts:/{workspace}/{run_id}/artifacts"


def key_values(items: Mapping[str, str | None]) -> list[dict[str, str]]:
    """``[{"key", "value"}]`` in key order; a value-less runyard tag has the value ""."""
    return [{"key": k, "value": "" if v is None else v} for k, v in sorted(items.items())]


def run_tags(info: RunInfo) -> dict[str, str | None]:
    """The run's tags as MLflow shows them: its own, and the ``mlflow.*`` tags of its fields."""
    tags: dict[str, str | None] = dict(info.tags)
    for tag, field in RUN_FIELD_TAGS.items():
        value = getattr(info, field)
        if value is not None:
            tags[tag] = value
    return tags


def run_info_json(info: RunInfo, workspace: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "run_id": info.run_id,
        "run_uuid": info.run_id,
        "run_name": info.display_name or "",
        "experiment_id": info.experiment_id,
        "user_id": info.submitted_by or "",
        "status": MLFLOW_STATUS.get(info.status, "RUNNING"),
        "start_time": millis(info.start_time if info.start_time is not None else info.created_time),
        "artifact_uri": artifact_uri(workspace, info.run_id),
        "lifecycle_stage": "deleted" if info.deleted_time is not None else "active",
    }
    if info.end_time is not None:
        out["end_time"] = millis(info.end_time)
    return out


def metric_json(key: str, value: Any, timestamp: float | None, step: int | None) -> dict[str, Any]:
    return {
        "key": key,
        "value": double(float(value)),
        "timestamp": millis(timestamp) or 0,
        "step": step or 0,
    }


def latest_metrics(info: RunInfo, series: Iterable[MetricSeries]) -> list[dict[str, Any]]:
    """The last point logged of each numeric series: its value, step (0 when it had none, as
    MLflow's default step) and timestamp. A summary without a last time (none is expected of a
    series with points) takes the run's last known time."""
    when = info.end_time or info.start_time or info.created_time
    return [
        metric_json(s.name, s.last_value, when if s.last_time is None else s.last_time, s.last_step)
        for s in sorted(series, key=lambda s: s.name)
        if is_numeric(s) and s.count and isinstance(s.last_value, int | float)
    ]


def run_json(
    info: RunInfo, workspace: str, series: Iterable[MetricSeries], io: RunIO | None = None
) -> dict[str, Any]:
    io = io or RunIO()
    return {
        "info": run_info_json(info, workspace),
        "data": {
            "metrics": latest_metrics(info, series),
            "params": key_values(info.properties),
            "tags": key_values(run_tags(info)),
        },
        "inputs": {
            "dataset_inputs": [dataset_input_json(d) for d in io.datasets],
            "model_inputs": [{"model_id": m} for m in io.model_inputs],
        },
        "outputs": {
            "model_outputs": [{"model_id": o.model_id, "step": o.step} for o in io.model_outputs]
        },
    }


def dataset_input_json(dataset: DatasetInput) -> dict[str, Any]:
    """A dataset a run used, as MLflow's ``DatasetInput`` message."""
    described = {
        name: getattr(dataset, name)
        for name in ("name", "digest", "source_type", "source", "schema", "profile")
        if getattr(dataset, name) is not None
    }
    return {"tags": key_values(dataset.tags), "dataset": described}


def experiment_json(info: ExperimentInfo, workspace: str) -> dict[str, Any]:
    created = millis(info.created_time)
    return {
        "experiment_id": info.experiment_id,
        "name": info.name,
        "artifact_location": f"mlflow-artifacts:/{workspace}/experiments/{info.experiment_id}",
        "lifecycle_stage": "deleted" if info.archived_time is not None else "active",
        "creation_time": created,
        "last_update_time": millis(info.archived_time) or created,
        "tags": key_values(info.tags),
    }
