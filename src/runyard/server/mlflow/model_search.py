"""MLflow's search_logged_models in runyard's terms: its filter, datasets and sort keys.

A workspace holds few logged models next to its runs (one or two per training run), so the
models of the experiments searched are read from the store (``Store.search_logged_models``)
and filtered and sorted here, in memory, as MLflow's own file store does. The filter is
MLflow's logged-model grammar: clauses joined by AND, each ``FIELD OP VALUE`` where FIELD is
an attribute (``name``, ``model_id``, ``model_type``, ``status``, ``source_run_id``,
``creation_timestamp``, ``last_updated_timestamp``), ``metrics.KEY``, ``params.KEY`` or
``tags.KEY``. A clause ``name = '...'`` or ``source_run_id = '...'`` also narrows what is read
(``runs:/<run_id>/<name>`` URIs are resolved with ``name = '<name>'``).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runyard.entities import LoggedModelInfo, LoggedModelStatus, ModelMetric
from runyard.errors import InvalidArgumentError, InvalidQueryError
from runyard.query.lexer import T, Token, tokenize
from runyard.server.mlflow.convert import millis
from runyard.server.mlflow.search import COMPARE

MODEL_STATUS = {
    LoggedModelStatus.PENDING: "PENDING",
    LoggedModelStatus.READY: "READY",
    LoggedModelStatus.FAILED: "FAILED",
}
"""A model's status as MLflow's entity names it (what filters compare with)."""

_TEXT_ATTRIBUTES = ("name", "model_id", "model_type", "status", "source_run_id")
_TIME_ATTRIBUTES = {
    "creation_timestamp": "created_time",
    "creation_time": "created_time",
    "last_updated_timestamp": "updated_time",
    "last_updated_time": "updated_time",
}
_TEXT_OPS = ("=", "!=", "LIKE", "ILIKE")
_NUMBER_OPS = ("=", "!=", "<", "<=", ">", ">=")
_ATTRIBUTES_HELP = (
    "name, model_id, model_type, status, source_run_id, creation_timestamp, last_updated_timestamp"
)
_FIELDS_HELP = f"{_ATTRIBUTES_HELP}, metrics.KEY, params.KEY or tags.KEY"

Dataset = tuple[str, str | None]
"""A dataset of the search: its name, and its digest when given."""


@dataclass(frozen=True)
class Clause:
    kind: str
    """``attribute``, ``metrics``, ``params`` or ``tags``."""
    key: str
    op: str
    value: Any


@dataclass(frozen=True)
class ModelFilter:
    """A parsed filter: its clauses, and the datasets its metric clauses look at."""

    clauses: Sequence[Clause] = ()
    datasets: Sequence[Dataset] = ()
    exact: Mapping[str, str] = field(default_factory=dict)
    """``name`` and ``source_run_id`` when a clause fixes them (what the store narrows to)."""

    def __call__(self, model: LoggedModelInfo) -> bool:
        # Datasets but no metric clause: the models with a metric value on one of them.
        if (
            self.datasets
            and not any(c.kind == "metrics" for c in self.clauses)
            and not any(_on_datasets(m, self.datasets) for m in model.metrics)
        ):
            return False
        return all(_test(clause, model, self.datasets) for clause in self.clauses)


def datasets_of(value: Any) -> list[Dataset]:
    """The ``datasets`` of a search request: ``[{dataset_name, dataset_digest}]``."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidArgumentError("datasets must be a list of {dataset_name, dataset_digest}.")
    found: list[Dataset] = []
    for item in value:
        name = item.get("dataset_name") if isinstance(item, dict) else None
        digest = item.get("dataset_digest") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name or not isinstance(digest, str | None):
            raise InvalidArgumentError(
                f"Each dataset of a search needs a dataset_name (and may have a "
                f"dataset_digest), got {item!r:.80}."
            )
        found.append((name, digest or None))
    return found


def model_filter(text: str | None, datasets: Sequence[Dataset] = ()) -> ModelFilter:
    """The filter of MLflow's search_logged_models.

    Raises:
        InvalidQueryError: the filter does not parse; the message names the column.
    """
    if not text or not text.strip():
        return ModelFilter((), tuple(datasets))
    tokens = tokenize(text)
    clauses: list[Clause] = []
    i = 0
    while True:
        clause, i = _clause(tokens, i)
        clauses.append(clause)
        if tokens[i].type is T.END:
            break
        if not tokens[i].is_word("AND"):
            raise _fail(tokens[i], "expected AND (logged model filters take AND only)")
        i += 1
    exact = {
        c.key: c.value
        for c in clauses
        if c.kind == "attribute" and c.op == "=" and c.key in ("name", "source_run_id")
    }
    return ModelFilter(tuple(clauses), tuple(datasets), exact)


def _clause(tokens: list[Token], i: int) -> tuple[Clause, int]:
    start = tokens[i]
    if start.type not in (T.WORD, T.QUOTED_NAME):
        raise _fail(start, f"expected {_FIELDS_HELP}")
    i += 1
    kind, key = "attribute", start.text
    prefix = start.text.lower()
    if tokens[i].type is T.DOT:
        kinds = {"metric": "metrics", "param": "params", "tag": "tags", "attribute": "attribute"}
        kind = kinds.get(prefix.removesuffix("s"), "")
        name = tokens[i + 1]
        if not kind or name.type not in (T.WORD, T.QUOTED_NAME, T.STRING):
            raise _fail(start, f"expected {_FIELDS_HELP}")
        key, i = name.text, i + 2
        while tokens[i].type is T.DOT and tokens[i + 1].type in (T.WORD, T.QUOTED_NAME):
            key, i = f"{key}.{tokens[i + 1].text}", i + 2
    if kind == "attribute":
        key = key.lower()
        if key not in _TEXT_ATTRIBUTES and key not in _TIME_ATTRIBUTES:
            raise _fail(start, f"unknown field {start.text!r}: use {_FIELDS_HELP}")
    numeric = kind == "metrics" or key in _TIME_ATTRIBUTES
    op_token = tokens[i]
    op = op_token.text.upper() if op_token.type in (T.OP, T.WORD) else ""
    op = "!=" if op == "<>" else "=" if op == "==" else op
    allowed = _NUMBER_OPS if numeric else _TEXT_OPS
    if op not in allowed:
        raise _fail(op_token, f"expected one of {', '.join(allowed)}")
    value = tokens[i + 1]
    if numeric and value.type is not T.NUMBER:
        raise _fail(value, f"{start.text} takes a number")
    if not numeric and value.type is not T.STRING:
        raise _fail(value, "expected a quoted string")
    literal: Any = float(value.text) if numeric else value.text
    return Clause(kind, key, op, literal), i + 2


def _fail(token: Token, message: str) -> InvalidQueryError:
    return InvalidQueryError(
        f"filter: {message} at column {token.column}", source="filter", column=token.column
    )


def _on_datasets(metric: ModelMetric, datasets: Sequence[Dataset]) -> bool:
    return any(
        metric.dataset_name == name and (digest is None or metric.dataset_digest == digest)
        for name, digest in datasets
    )


def _metric(model: LoggedModelInfo, key: str, datasets: Sequence[Dataset]) -> float | None:
    """The model's value of metric ``key`` (its first recorded, on ``datasets`` when given)."""
    for metric in model.metrics:
        if metric.key == key and (not datasets or _on_datasets(metric, datasets)):
            return None if math.isnan(metric.value) else metric.value
    return None


def value_of(model: LoggedModelInfo, kind: str, key: str, datasets: Sequence[Dataset]) -> Any:
    """What a clause or a sort key compares: None when the model has none."""
    if kind == "metrics":
        return _metric(model, key, datasets)
    if kind == "params":
        return model.params.get(key)
    if kind == "tags":
        return model.tags.get(key)
    if key in _TIME_ATTRIBUTES:
        return millis(getattr(model, _TIME_ATTRIBUTES[key]))
    if key == "status":
        return MODEL_STATUS[model.status]
    return getattr(model, key)


def _test(clause: Clause, model: LoggedModelInfo, datasets: Sequence[Dataset]) -> bool:
    value = value_of(model, clause.kind, clause.key, datasets)
    return value is not None and COMPARE[clause.op](value, clause.value)


# -- sorting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SortKey:
    kind: str
    key: str
    ascending: bool
    datasets: Sequence[Dataset]


def sort_keys(value: Any) -> list[SortKey]:
    """The ``order_by`` of a search request: ``[{field_name, ascending, dataset_name,
    dataset_digest}]``; a field is an attribute or ``metrics.KEY``."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidArgumentError("order_by must be a list of {field_name, ascending} objects.")
    keys: list[SortKey] = []
    for item in value:
        name = item.get("field_name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name:
            raise InvalidArgumentError(f"Each order_by key needs a field_name, got {item!r:.80}.")
        assert isinstance(item, dict)
        kind, _, key = name.partition(".")
        if key and kind in ("metrics", "metric"):
            kind = "metrics"
        else:
            kind, key = "attribute", name.lower().removeprefix("attributes.")
            if key not in _TEXT_ATTRIBUTES and key not in _TIME_ATTRIBUTES:
                raise InvalidArgumentError(
                    f"order_by field {name!r}: use an attribute ({_ATTRIBUTES_HELP}) or "
                    "metrics.KEY."
                )
        dataset = item.get("dataset_name")
        datasets: list[Dataset] = []
        if dataset:
            datasets = [(str(dataset), item.get("dataset_digest") or None)]
        keys.append(SortKey(kind, key, item.get("ascending", True) is not False, datasets))
    return keys


def sort_models(models: list[LoggedModelInfo], keys: Sequence[SortKey]) -> None:
    """Sort in place: by ``keys``, models without a value last; newest first by default."""
    order = [*keys, SortKey("attribute", "creation_timestamp", False, ())]
    for key in reversed([*order, SortKey("attribute", "model_id", True, ())]):
        models.sort(key=functools.partial(_sort_value, key), reverse=not key.ascending)


def _sort_value(key: SortKey, model: LoggedModelInfo) -> tuple[bool, Any]:
    value = value_of(model, key.kind, key.key, key.datasets)
    # Missing values last in either direction.
    return (value is None) != (not key.ascending), value if value is not None else 0
