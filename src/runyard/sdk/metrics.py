"""A run's metric logging: every ``log_*`` call, checked here and queued to the pipeline,
and ``get_metrics`` shaped as the Azure ML SDK returns it (reference §6)."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.entities import MetricChunk, MetricKind, ValueType
from runyard.errors import InvalidArgumentError, MetricValueError, UserError
from runyard.limits import MAX_METRIC_NAMES_PER_RUN
from runyard.logging.values import (
    INT64_MAX,
    INT64_MIN,
    check_int,
    check_metric_name,
    check_step,
    coerce_list,
    coerce_log_value,
    coerce_row,
    merge_types,
    table_rows,
)

if TYPE_CHECKING:
    from runyard.logging.pipeline import MetricPipeline
    from runyard.sdk.run import Run
    from runyard.store.base import Store

_NUMBER = ValueType.NUMBER
_VECTOR = MetricKind.VECTOR
_time = time.time

_IMAGE_MAGIC = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"GIF87a",
    b"GIF89a",
    b"BM",
)


def artifact_uri(run_id: str, path: str) -> str:
    """How an image or JSON metric points at its artifact."""
    return f"runyard://artifacts/{run_id}/{path}"


class MetricLogger:
    """Holds what the run knows of its series, so that most ``log`` calls touch no store."""

    def __init__(self, run: Run, *, new_run: bool) -> None:
        self._run = run
        self._run_id = run.id
        self._workspace = run.experiment.workspace
        self._pipeline: MetricPipeline | None = None  # started with the first series
        self._kinds: dict[str, MetricKind] = {}
        self._vector_types: dict[str, ValueType] = {}
        self._keys: dict[tuple[str, MetricKind, ValueType], int] = {}
        self._number_keys: dict[str, int] = {}  # the fast path: numeric series
        self._loaded = new_run  # a run created here has no series elsewhere yet

    # -- the hot path --------------------------------------------------------------------------

    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        if step is not None:
            step = check_step(step)
        kind = type(value)
        if kind is float or (kind is int and INT64_MIN <= value <= INT64_MAX):
            key = self._number_keys.get(name)
            if key is None:
                key = self._key(name, _VECTOR, _NUMBER, description)
        else:
            value, vtype = coerce_log_value(check_int(value) if kind is int else value)
            key = self._keys.get((name, _VECTOR, vtype))
            if key is None:
                key = self._key(name, _VECTOR, vtype, description)
        pipeline = self._pipeline
        assert pipeline is not None  # set by the first _key
        pipeline.append(key, value, step, _time())

    # -- series bookkeeping --------------------------------------------------------------------

    def _load(self) -> None:
        if self._loaded:
            return
        for series in self._workspace.store.list_metric_series([self._run_id]):
            self._kinds[series.name] = series.kind
            if series.kind is MetricKind.VECTOR:
                self._vector_types[series.name] = series.value_type
        self._loaded = True

    def _key(self, name: str, kind: MetricKind, vtype: ValueType, description: str) -> int:
        """Admit a new (name, kind, type) combination and register it with the pipeline."""
        self._admit(name, kind, vtype)
        if self._pipeline is None:
            self._pipeline = self._workspace.pipeline
        key = self._pipeline.register(self._run_id, name, kind, vtype, description)
        self._keys[(name, kind, vtype)] = key
        if kind is MetricKind.VECTOR and vtype is ValueType.NUMBER:
            self._number_keys[name] = key
        return key

    def _admit(self, name: str, kind: MetricKind, vtype: ValueType) -> None:
        """Check that ``name`` may take a ``kind`` point of type ``vtype``; remember it."""
        check_metric_name(name)
        self._load()
        known = self._kinds.get(name)
        if known is None:
            if len(self._kinds) >= MAX_METRIC_NAMES_PER_RUN:
                raise MetricValueError(
                    f"A run can hold at most {MAX_METRIC_NAMES_PER_RUN} metric names; {name!r} "
                    "would be one more. Log values under fewer names (log_row takes columns)."
                )
        elif known is not kind and not (known.is_artifact and kind.is_artifact):
            raise MetricValueError(
                f"Metric {name!r} was logged as a {known.value} metric; it cannot take a "
                f"{kind.value} value. Use another name."
            )
        if kind is MetricKind.VECTOR:
            current = self._vector_types.get(name, ValueType.NONE)
            self._vector_types[name] = merge_types(name, current, vtype)
        self._kinds.setdefault(name, kind)

    def _queue(
        self, name: str, kind: MetricKind, vtype: ValueType, values: Sequence[Any], description: str
    ) -> None:
        key = self._keys.get((name, kind, vtype))
        if key is None:
            key = self._key(name, kind, vtype, description)
        pipeline = self._pipeline
        assert pipeline is not None
        append = pipeline.append
        now = _time()
        for value in values:
            append(key, value, None, now)

    # -- the other log calls -------------------------------------------------------------------

    def log_list(self, name: str, value: Iterable[Any], description: str = "") -> None:
        values, vtype = coerce_list(check_metric_name(name), value)
        if not values:
            return
        self._queue(name, MetricKind.VECTOR, vtype, values, description)

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        row = coerce_row(kwargs)
        self._queue(name, MetricKind.TABLE, ValueType.ROW, [row], description or "")

    def log_table(self, name: str, value: Mapping[str, Any], description: str = "") -> None:
        rows = table_rows(value)
        if not rows:
            return
        self._queue(name, MetricKind.TABLE, ValueType.ROW, rows, description)

    def log_image(
        self, name: str, path: str | None = None, plot: Any = None, description: str = ""
    ) -> None:
        check_metric_name(name)
        if path is not None and plot is not None:
            raise UserError(
                "Invalid parameters, path and plot were both provided, only one at a time is "
                "supported"
            )
        if path is None and plot is None:
            raise UserError("Invalid parameters, one of path and plot is required as input")
        self._admit(name, MetricKind.IMAGE, ValueType.ARTIFACT)
        if path is not None:
            source = Path(path)
            if not source.is_file() or not source.read_bytes()[:8].startswith(_IMAGE_MAGIC):
                raise MetricValueError(
                    f"Argument [{path}] is malformed: log_image needs a PNG, JPEG, GIF or BMP file."
                )
            artifact = source.name if source.is_absolute() else str(path)
            with source.open("rb") as handle:
                info = self._run.upload_file(artifact, handle)
        else:
            buffer = io.BytesIO()
            try:
                plot.savefig(buffer, format="png")
            except AttributeError:
                raise InvalidArgumentError(
                    "plot must be a matplotlib figure or pyplot (something with savefig)."
                ) from None
            buffer.seek(0)
            info = self._run.upload_file(f"{name}_{int(time.time())}.png", buffer)
        uri = artifact_uri(self._run_id, info.path)
        self._queue(name, MetricKind.IMAGE, ValueType.ARTIFACT, [uri], description)

    def log_json(
        self, name: str, kind: MetricKind, value: Mapping[str, Any] | str, description: str
    ) -> None:
        """confusion_matrix, accuracy_table, residuals and predictions: a JSON artifact."""
        check_metric_name(name)
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise MetricValueError("Invalid JSON provided") from None
        if not isinstance(value, Mapping):
            raise MetricValueError(
                f"{kind.value} needs a dict (or a JSON object string), got {type(value).__name__}."
            )
        self._admit(name, kind, ValueType.ARTIFACT)
        body = json.dumps({"schema_type": kind.value, **value}).encode()
        info = self._run.upload_file(name, io.BytesIO(body))
        self._queue(
            name, kind, ValueType.ARTIFACT, [artifact_uri(self._run_id, info.path)], description
        )


def shape_metrics(series: Sequence[MetricChunk], store: Store | None = None) -> dict[str, Any]:
    """One run's metrics as ``get_metrics`` returns them: one value a scalar, several a list,
    rows a dict of columns, image and JSON metrics their first value: its artifact URI, or,
    with ``store`` (``populate=True``), the artifact's content read from it (``populated``)."""
    shaped: dict[str, Any] = {}
    for data in series:
        if not data.values:
            continue
        if data.kind is MetricKind.VECTOR:
            values = list(data.values)
            shaped[data.name] = values[0] if len(values) == 1 else values
        elif data.kind is MetricKind.TABLE:
            columns: dict[str, list[Any]] = {}
            for index, row in enumerate(data.values):
                for column in row:
                    columns.setdefault(column, [None] * index)
                for column, cells in columns.items():
                    cells.append(row.get(column))
            if len(data.values) == 1:
                shaped[data.name] = {c: cells[0] for c, cells in columns.items()}
            else:
                shaped[data.name] = columns
        elif store is not None:
            shaped[data.name] = populated(store, data.run_id, data.kind, data.values[0])
        else:
            shaped[data.name] = data.values[0]
    return shaped


def populated(store: Store, run_id: str, kind: MetricKind, uri: str) -> Any:
    """The content of an image or JSON metric's artifact: the image's bytes, the parsed JSON
    (a dict) of a confusion matrix, accuracy table, residuals or predictions."""
    path = uri.removeprefix(artifact_uri(run_id, ""))
    with store.open_artifact(run_id, path) as stream:
        data = stream.read()
    return data if kind is MetricKind.IMAGE else json.loads(data)
