"""The JSON shapes of the HTTP API, shared by the server and the HTTP store.

Pure Python (no FastAPI, no httpx), so the client imports it without the server's dependencies.
Entities travel as JSON objects with their dataclass field names; statuses and kinds as their
string values. Metric points travel packed: values, steps and times in the encodings of
``runyard.store.codec``, base64 inside the JSON. JSON here allows ``NaN`` and ``Infinity``
(Python's ``json`` writes and reads them), since metric summaries can hold them.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from runyard.entities import (
    ArtifactInfo,
    ComputeTargetInfo,
    DatasetInput,
    EnvironmentInfo,
    ExperimentInfo,
    LoggedModelInfo,
    LoggedModelPage,
    LoggedModelStatus,
    MetricChunk,
    MetricKind,
    MetricSeries,
    ModelMetric,
    ModelOutput,
    ModelVersionInfo,
    NewRun,
    RegisteredModelInfo,
    RunInfo,
    RunIO,
    RunPage,
    RunQuery,
    RunStatus,
    SnapshotFile,
    ValueType,
)
from runyard.errors import InvalidArgumentError
from runyard.store import codec

API_PREFIX = "/api/v1"
REQUEST_ID_HEADER = "X-Runyard-Request-Id"
"""Names a write so that the store applies it once however often it is sent (a client id and a
sequence number); routes pass it to the Store verbs that take a ``request_id``."""
JSON_TYPE = "application/json"
BINARY_TYPE = "application/octet-stream"


def _plain(value: Any) -> Any:
    """What JSON cannot write as it is: other mappings become objects, other sequences arrays."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, Sequence):
        return list(value)
    raise TypeError(f"{type(value).__name__} cannot be sent as JSON")


_encoder = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=True, default=_plain
)
_ascii_encoder = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=True, allow_nan=True, default=_plain
)


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON; NaN and infinities are written as ``NaN`` and ``Infinity``.

    A string that is not Unicode (a lone UTF-16 surrogate) cannot be UTF-8: it is written as
    a JSON escape (``"\\ud800"``), so that the receiver can refuse it with a clear error
    instead of the sender failing to encode it.
    """
    text = _encoder.encode(value)
    try:
        return text.encode()
    except UnicodeEncodeError:
        return _ascii_encoder.encode(value).encode()


def loads(data: bytes | str) -> Any:
    return json.loads(data)


def to_json(entity: Any) -> dict[str, Any]:
    """A frozen entity as a JSON object (nested dataclasses and mappings become objects)."""
    return dataclasses.asdict(entity)


def _fields(cls: type, data: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of ``data`` that are fields of ``cls``: a newer server may send more."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in data.items() if k in names}


# -- experiments and runs -------------------------------------------------------------------------


def experiment_from_json(data: Mapping[str, Any]) -> ExperimentInfo:
    return ExperimentInfo(**_fields(ExperimentInfo, data))


def run_from_json(data: Mapping[str, Any]) -> RunInfo:
    fields = _fields(RunInfo, data)
    fields["status"] = RunStatus(fields["status"])
    if fields.get("stop_status") is not None:
        fields["stop_status"] = RunStatus(fields["stop_status"])
    if fields.get("metrics") is not None:
        fields["metrics"] = {
            name: series_from_json(series) for name, series in fields["metrics"].items()
        }
    return RunInfo(**fields)


def page_to_json(page: RunPage) -> dict[str, Any]:
    return {"runs": [to_json(r) for r in page.runs], "next_page_token": page.next_page_token}


def page_from_json(data: Mapping[str, Any]) -> RunPage:
    return RunPage([run_from_json(r) for r in data["runs"]], data.get("next_page_token"))


def new_run_to_json(run: NewRun) -> dict[str, Any]:
    return to_json(run)


def query_to_json(query: RunQuery) -> dict[str, Any]:
    return to_json(query)


def artifact_from_json(data: Mapping[str, Any]) -> ArtifactInfo:
    return ArtifactInfo(**_fields(ArtifactInfo, data))


def snapshot_file_from_json(data: Mapping[str, Any]) -> SnapshotFile:
    return SnapshotFile(**_fields(SnapshotFile, data))


# -- registered environments ----------------------------------------------------------------------


def environment_from_json(data: Mapping[str, Any]) -> EnvironmentInfo:
    fields = _fields(EnvironmentInfo, data)
    fields["version"] = str(fields["version"])
    return EnvironmentInfo(**fields)


def compute_from_json(data: Mapping[str, Any]) -> ComputeTargetInfo:
    return ComputeTargetInfo(**_fields(ComputeTargetInfo, data))


# -- logged models and what runs use and make ------------------------------------------------------


def logged_model_from_json(data: Mapping[str, Any]) -> LoggedModelInfo:
    fields = _fields(LoggedModelInfo, data)
    fields["status"] = LoggedModelStatus(fields["status"])
    fields["metrics"] = tuple(
        ModelMetric(**_fields(ModelMetric, m)) for m in fields.get("metrics") or ()
    )
    return LoggedModelInfo(**fields)


def logged_model_page_to_json(page: LoggedModelPage) -> dict[str, Any]:
    return {"models": [to_json(m) for m in page.models], "next_page_token": page.next_page_token}


def logged_model_page_from_json(data: Mapping[str, Any]) -> LoggedModelPage:
    models = [logged_model_from_json(m) for m in data["models"]]
    return LoggedModelPage(models, data.get("next_page_token"))


def model_version_from_json(data: Mapping[str, Any]) -> ModelVersionInfo:
    fields = _fields(ModelVersionInfo, data)
    fields["files"] = tuple(snapshot_file_from_json(f) for f in fields.get("files") or ())
    return ModelVersionInfo(**fields)


def registered_model_from_json(data: Mapping[str, Any]) -> RegisteredModelInfo:
    fields = _fields(RegisteredModelInfo, data)
    fields["aliases"] = {str(k): int(v) for k, v in (fields.get("aliases") or {}).items()}
    return RegisteredModelInfo(**fields)


def run_io_from_json(data: Mapping[str, Any]) -> RunIO:
    return RunIO(
        datasets=tuple(DatasetInput(**_fields(DatasetInput, d)) for d in data.get("datasets", ())),
        model_inputs=tuple(data.get("model_inputs", ())),
        model_outputs=tuple(
            ModelOutput(**_fields(ModelOutput, o)) for o in data.get("model_outputs", ())
        ),
    )


# -- metrics ---------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise InvalidArgumentError(
            f"Packed metric data must be a base64 string, got {type(text).__name__}."
        )
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as exc:
        raise InvalidArgumentError(f"Packed metric data is not valid base64: {exc}.") from None


def pack_values(values: Sequence[Any]) -> dict[str, str]:
    """``{"encoding", "data"}``: the values packed by ``codec.encode``, base64."""
    encoding, data = codec.encode(values)
    return {"encoding": encoding, "data": _b64(data)}


def unpack_values(packed: object) -> list[Any]:
    """The values of ``pack_values``.

    Raises:
        InvalidArgumentError: ``packed`` is not ``{"encoding", "data"}`` of values packed by
            ``codec`` (whatever it holds instead: nothing else is raised).
    """
    if not isinstance(packed, Mapping) or not {"encoding", "data"} <= packed.keys():
        raise InvalidArgumentError(
            f'Packed metric values must be {{"encoding", "data"}}, got {packed!r:.80}.'
        )
    data = _unb64(packed["data"])
    encoding = packed["encoding"]
    if not isinstance(encoding, str):
        raise InvalidArgumentError(f"A metric encoding is a string, got {encoding!r:.40}.")
    try:
        return codec.decode(encoding, data)
    except ValueError as exc:  # a length that is no multiple of 8, bad JSON, a new encoding
        raise InvalidArgumentError(f"Packed metric values cannot be read: {exc}") from None


def pack_times(times: Sequence[float]) -> str:
    return _b64(codec.encode_times(times))


def unpack_times(packed: object) -> list[float]:
    """The times of ``pack_times``; InvalidArgumentError (only) if they cannot be unpacked."""
    data = _unb64(packed)
    try:
        return codec.decode_times(data)
    except ValueError as exc:
        raise InvalidArgumentError(f"Packed metric times cannot be read: {exc}") from None


def chunk_to_json(chunk: MetricChunk) -> dict[str, Any]:
    return {
        "run_id": chunk.run_id,
        "name": chunk.name,
        "kind": chunk.kind.value,
        "value_type": chunk.value_type.value,
        "description": chunk.description,
        "values": pack_values(chunk.values),
        "times": pack_times(chunk.times),
        "steps": None if chunk.steps is None else pack_values(chunk.steps),
    }


def chunk_from_json(data: Mapping[str, Any]) -> MetricChunk:
    """The chunk of ``chunk_to_json``. Its shape only is checked here (the store checks the
    rest: ``runyard.store.checks``).

    Raises:
        InvalidArgumentError: ``data`` is not the JSON of a chunk (nothing else is raised).
    """
    try:
        steps = data.get("steps")
        return MetricChunk(
            run_id=data["run_id"],
            name=data["name"],
            kind=MetricKind(data["kind"]),
            value_type=ValueType(data["value_type"]),
            values=unpack_values(data["values"]),
            times=unpack_times(data["times"]),
            steps=None if steps is None else unpack_values(steps),
            description=data.get("description") or "",
        )
    except InvalidArgumentError:
        raise
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise InvalidArgumentError(
            f"Invalid metric chunk ({type(exc).__name__}: {exc}): send the JSON of "
            "runyard.store.wire.chunk_to_json."
        ) from None


def series_from_json(data: Mapping[str, Any]) -> MetricSeries:
    fields = _fields(MetricSeries, data)
    fields["kind"] = MetricKind(fields["kind"])
    fields["value_type"] = ValueType(fields["value_type"])
    return MetricSeries(**fields)
