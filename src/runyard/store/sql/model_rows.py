"""Logged models and run inputs in SQL: the checks of what the verbs are given, and rows turned
into entities (a page of models with their tags, params and metric values in one query each).

The verbs are ``store/sql/models.py``; the tables ``store/sql/schema.py``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Row, select

from runyard.entities import (
    DatasetInput,
    LoggedModelInfo,
    LoggedModelQuery,
    LoggedModelStatus,
    ModelMetric,
    ModelOutput,
    NewLoggedModel,
    model_artifact_path,
)
from runyard.errors import (
    InvalidArgumentError,
    InvalidNameError,
    LimitExceededError,
    LoggedModelNotFoundError,
)
from runyard.limits import (
    MAX_DATASET_DIGEST_LENGTH,
    MAX_DATASET_NAME_LENGTH,
    MAX_DATASET_PROFILE_LENGTH,
    MAX_DATASET_SCHEMA_LENGTH,
    MAX_DATASET_SOURCE_LENGTH,
    MAX_DATASET_SOURCE_TYPE_LENGTH,
    MAX_KEY_LENGTH,
    MAX_MODEL_ID_LENGTH,
    MAX_MODEL_NAME_LENGTH,
    MAX_MODEL_PARAMS,
    MAX_MODEL_TAGS,
    MAX_MODEL_TYPE_LENGTH,
    check_chars,
    check_int64,
    check_key_values,
    check_metric_name,
    check_text,
)
from runyard.store.sql.dialect import by_code_point
from runyard.store.sql.schema import (
    experiments,
    logged_model_metrics,
    logged_model_params,
    logged_model_tags,
    logged_models,
    runs,
)

MODEL_ID_RE = re.compile(rf"[\w\-.]{{1,{MAX_MODEL_ID_LENGTH}}}")
MODEL_NAME_FORBIDDEN = ("/", ":", ".", "%", '"', "'")
"""Characters a model name may not hold (MLflow's rule: ``runs:/<run_id>/<name>`` finds it)."""
MAX_PAGE_SIZE = 5000
IN_LIST_SIZE = 5000
"""Most values bound in one IN (...): PostgreSQL takes at most 65,535 parameters a statement."""


# -- checks ----------------------------------------------------------------------------------


def check_model_id(model_id: object) -> str:
    if (
        not isinstance(model_id, str)
        or not MODEL_ID_RE.fullmatch(model_id)
        or model_id in (".", "..")
    ):
        raise InvalidNameError(
            f"Invalid model id {model_id!r:.80}: use 1 to {MAX_MODEL_ID_LENGTH} letters, digits, "
            "'_', '-' or '.' (not '.' or '..' alone)."
        )
    return model_id


def is_model_id(model_id: object) -> bool:
    """Whether ``model_id`` could name a model (one that cannot is not worth a query)."""
    return isinstance(model_id, str) and MODEL_ID_RE.fullmatch(model_id) is not None


def check_new_model(model: NewLoggedModel) -> None:
    check_model_id(model.model_id)
    name = model.name
    if not isinstance(name, str) or not name or any(c in name for c in MODEL_NAME_FORBIDDEN):
        raise InvalidNameError(
            f"Invalid model name {name!r:.80}: give a non-empty name without any of "
            f"{' '.join(MODEL_NAME_FORBIDDEN)}."
        )
    check_text("model name", name, MAX_MODEL_NAME_LENGTH)
    check_text("model type", model.model_type, MAX_MODEL_TYPE_LENGTH)
    check_values("model tag", model.tags, MAX_MODEL_TAGS)
    check_values("model param", model.params, MAX_MODEL_PARAMS)


def check_values(what: str, items: Mapping[str, str], max_count: int) -> None:
    """Tags or params of a model: as a run's tags, but every value is a string."""
    for key, value in items.items():
        if not isinstance(value, str):
            raise InvalidArgumentError(
                f"The value of {what} {key!r:.80} must be a string, got {value!r:.60}."
            )
    check_key_values(what, items)
    if len(items) > max_count:
        raise_too_many(what, len(items), max_count)


def raise_too_many(what: str, count: int, limit: int) -> None:
    raise LimitExceededError(
        f"A logged model can hold at most {limit} {what}s; this call would make it {count}."
    )


def check_status(status: object) -> LoggedModelStatus:
    for known in LoggedModelStatus:
        if status == known.value:
            return known
    names = ", ".join(repr(s.value) for s in LoggedModelStatus)
    raise InvalidArgumentError(f"Unknown model status {status!r:.40}: use one of {names}.")


def check_metrics(metrics: Sequence[ModelMetric]) -> None:
    for metric in metrics:
        check_metric_name(metric.key)
        if isinstance(metric.value, bool) or not isinstance(metric.value, int | float):
            raise InvalidArgumentError(
                f"The value of model metric {metric.key!r} must be a number, got "
                f"{metric.value!r:.60}."
            )
        if not isinstance(metric.time, int | float) or not math.isfinite(metric.time):
            raise InvalidArgumentError(
                f"The time of model metric {metric.key!r} must be a finite number of seconds, "
                f"got {metric.time!r:.60}."
            )
        check_int64(f"step of model metric {metric.key!r}", metric.step)
        check_text("dataset name", metric.dataset_name, MAX_DATASET_NAME_LENGTH)
        check_text("dataset digest", metric.dataset_digest, MAX_DATASET_DIGEST_LENGTH)
        if metric.run_id is not None:
            check_text("run id", metric.run_id, MAX_KEY_LENGTH)


def check_datasets(datasets: Sequence[DatasetInput]) -> None:
    for dataset in datasets:
        if not isinstance(dataset.name, str) or not dataset.name:
            raise InvalidNameError(f"A dataset needs a name, got {dataset.name!r:.60}.")
        if not isinstance(dataset.digest, str) or not dataset.digest:
            raise InvalidNameError(
                f"Dataset {dataset.name!r:.80} needs a digest (what tells its versions apart)."
            )
        check_text("dataset name", dataset.name, MAX_DATASET_NAME_LENGTH)
        check_text("dataset digest", dataset.digest, MAX_DATASET_DIGEST_LENGTH)
        check_text("dataset source type", dataset.source_type, MAX_DATASET_SOURCE_TYPE_LENGTH)
        for what, text, limit in (
            ("source", dataset.source, MAX_DATASET_SOURCE_LENGTH),
            ("schema", dataset.schema, MAX_DATASET_SCHEMA_LENGTH),
            ("profile", dataset.profile, MAX_DATASET_PROFILE_LENGTH),
        ):
            check_text(f"{what} of dataset {dataset.name!r:.80}", text, limit)
        if dataset.source_type is None or dataset.source is None:
            raise InvalidArgumentError(
                f"Dataset {dataset.name!r:.80} needs a source type and a source."
            )
        check_values("dataset tag", dataset.tags, MAX_MODEL_TAGS)


def check_outputs(outputs: Sequence[ModelOutput]) -> None:
    for output in outputs:
        check_int64(f"step of model {output.model_id!r:.80}", output.step)


def check_query(query: LoggedModelQuery) -> int | None:
    """Check the query; return the pk its page token starts after (None: the first page)."""
    if type(query.page_size) is not int or not 1 <= query.page_size <= MAX_PAGE_SIZE:
        raise InvalidArgumentError(
            f"page_size must be an integer from 1 to {MAX_PAGE_SIZE}, got {query.page_size!r:.40}."
        )
    if not isinstance(query.include_deleted, bool):
        raise InvalidArgumentError(
            f"include_deleted must be True or False, got {query.include_deleted!r:.40}."
        )
    for what, text in (("source run id", query.source_run_id), ("model name", query.name)):
        if text is not None:
            if not isinstance(text, str):
                raise InvalidArgumentError(f"The {what} must be a string, got {text!r:.60}.")
            check_chars(what, text)
    for name in query.experiment_names:
        if not isinstance(name, str):
            raise InvalidArgumentError(f"An experiment name must be a string, got {name!r:.60}.")
        check_chars("experiment name", name)
    return token_pk(query.page_token)


def page_token(pk: int) -> str:
    return base64.urlsafe_b64encode(f"m{pk}".encode()).decode()


def token_pk(token: str | None) -> int | None:
    if token is None:
        return None
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        if text.startswith("m") and text[1:].isascii() and text[1:].isdigit():
            return int(text[1:])
    except (AttributeError, binascii.Error, UnicodeError, ValueError):
        pass
    raise InvalidArgumentError(
        "The page token is not one this store gave: pass back the next_page_token of the "
        "previous page unchanged."
    )


def no_model(model_id: str) -> LoggedModelNotFoundError:
    return LoggedModelNotFoundError(
        f"Logged model {model_id!r:.80} was not found in this workspace. Check the model id "
        "(MLflow's ModelInfo.model_id, or models:/<model_id>)."
    )


# -- rows -> entities ------------------------------------------------------------------------

MODEL_COLUMNS = (
    logged_models.c.pk,
    logged_models.c.model_id,
    logged_models.c.name,
    logged_models.c.model_type,
    logged_models.c.status,
    logged_models.c.status_message,
    logged_models.c.created_time,
    logged_models.c.updated_time,
    logged_models.c.deleted_time,
    runs.c.run_id,
    experiments.c.experiment_id,
    experiments.c.name.label("experiment_name"),
)


def model_select() -> Any:
    """SELECT of every model column joined with its run and experiment."""
    return select(*MODEL_COLUMNS).select_from(
        logged_models.join(runs, logged_models.c.run_pk == runs.c.pk).join(
            experiments, logged_models.c.experiment_pk == experiments.c.pk
        )
    )


def _chunks(pks: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(pks), IN_LIST_SIZE):
        yield list(pks[start : start + IN_LIST_SIZE])


def load_models(conn: Connection, rows: Sequence[Row[Any]]) -> list[LoggedModelInfo]:
    """The models of ``rows`` (of ``model_select``), each with its tags, params and metric
    values, in the order of ``rows``."""
    pks = [row.pk for row in rows]
    tags: dict[int, dict[str, str]] = {pk: {} for pk in pks}
    params: dict[int, dict[str, str]] = {pk: {} for pk in pks}
    metrics: dict[int, list[ModelMetric]] = {pk: [] for pk in pks}
    for part in _chunks(pks):
        for table, found in ((logged_model_tags, tags), (logged_model_params, params)):
            stmt = (
                select(table.c.model_pk, table.c.key, table.c.value)
                .where(table.c.model_pk.in_(part))
                .order_by(by_code_point(conn, table.c.key))
            )
            for pk, key, value in conn.execute(stmt):
                found[pk][key] = value
        stmt = (
            select(logged_model_metrics, runs.c.run_id)
            .select_from(
                logged_model_metrics.outerjoin(runs, logged_model_metrics.c.run_pk == runs.c.pk)
            )
            .where(logged_model_metrics.c.model_pk.in_(part))
            .order_by(logged_model_metrics.c.pk)
        )
        for row in conn.execute(stmt):
            metrics[row.model_pk].append(metric_from_row(row))
    return [
        LoggedModelInfo(
            model_id=row.model_id,
            experiment_id=row.experiment_id,
            experiment_name=row.experiment_name,
            source_run_id=row.run_id,
            name=row.name,
            artifact_path=model_artifact_path(row.model_id),
            status=LoggedModelStatus(row.status),
            created_time=row.created_time,
            updated_time=row.updated_time,
            model_type=row.model_type,
            status_message=row.status_message,
            deleted_time=row.deleted_time,
            tags=tags[row.pk],
            params=params[row.pk],
            metrics=tuple(metrics[row.pk]),
        )
        for row in rows
    ]


def metric_from_row(row: Any) -> ModelMetric:
    return ModelMetric(
        key=row.key,
        value=math.nan if row.value is None else row.value,
        time=row.time,
        step=row.step,
        run_id=row.run_id,
        dataset_name=row.dataset_name,
        dataset_digest=row.dataset_digest,
    )


def metric_identity(metric: ModelMetric) -> tuple[Any, ...]:
    """What makes two recorded values the same (NaN equal to NaN)."""
    value = None if math.isnan(metric.value) else float(metric.value)
    return (
        metric.key,
        value,
        float(metric.time),
        metric.step,
        metric.run_id,
        metric.dataset_name,
        metric.dataset_digest,
    )


def dataset_from_row(row: Any) -> DatasetInput:
    return DatasetInput(
        name=row.name,
        digest=row.digest,
        source_type=row.source_type,
        source=row.source,
        schema=row.schema,
        profile=row.profile,
        tags=json.loads(row.tags_json),
    )
