"""Request bodies and documented responses of the API (pydantic, for validation and OpenAPI).

Bodies that carry entities use the entity dataclasses themselves (``NewRun``, ``RunQuery``,
``SnapshotFile``), so the API cannot drift from the store. Responses are written by
``wire`` and declared here only for the OpenAPI document.

Types are strict: a boolean is ``true`` or ``false`` (not ``0``), an integer is not ``1.5``
nor ``"1"``, a number is not ``true`` (pydantic's lax mode would turn ``{"archived": 0}`` into
False). Model fields say so with pydantic's strict types; the entity dataclasses, which know
nothing of pydantic, get the same rule from ``strict_json``.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

from pydantic import (
    BaseModel,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

from runyard.entities import (
    ArtifactInfo,
    ComputeTargetInfo,
    DatasetInput,
    EnvironmentInfo,
    ExperimentInfo,
    LoggedModelInfo,
    LoggedModelQuery,
    LoggedModelStatus,
    MetricKind,
    ModelMetric,
    ModelOutput,
    ModelVersionInfo,
    ModelVersionQuery,
    NewLoggedModel,
    NewModelVersion,
    NewRun,
    RegisteredModelInfo,
    RegisteredModelUpdate,
    RunInfo,
    RunIO,
    RunQuery,
    RunStatus,
    SnapshotFile,
    ValueType,
)
from runyard.server.control import Role
from runyard.store.codec import Encoding

# -- strict JSON types for the entity dataclasses --------------------------------------------------


_SCALARS: dict[Any, tuple[tuple[type, ...], str]] = {
    bool: ((bool,), "true or false"),
    int: ((int,), "an integer"),
    float: ((int, float), "a number"),
}


def _json_type_problem(hint: Any, value: Any, where: str) -> str | None:
    """What is wrong with the JSON ``value`` given for a field of type ``hint`` (None: nothing
    that this looks at; pydantic checks the rest)."""
    if hint in _SCALARS:
        kinds, wanted = _SCALARS[hint]
        return None if type(value) in kinds else f"{where}: expected {wanted}, got {value!r:.40}"
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if value is None or len(options) != 1:
            return None
        return _json_type_problem(options[0], value, where)
    if origin in (list, tuple, Sequence) and args and isinstance(value, list):
        found = (_json_type_problem(args[0], v, f"{where}.{i}") for i, v in enumerate(value))
        return next((problem for problem in found if problem), None)
    if dataclasses.is_dataclass(hint) and isinstance(value, Mapping):
        return _dataclass_problem(hint, value, where)
    return None


def _dataclass_problem(cls: Any, value: Mapping[str, Any], where: str) -> str | None:
    hints = get_type_hints(cls)
    found = (
        _json_type_problem(hints[f.name], value[f.name], f"{where}.{f.name}")
        for f in dataclasses.fields(cls)
        if f.name in value
    )
    return next((problem for problem in found if problem), None)


def strict_json(cls: type) -> WrapValidator:
    """Validation of the dataclass ``cls`` in which its ``bool``, ``int`` and ``float`` fields
    (nested dataclasses' too) take only JSON values of their type: ``Annotated[cls,
    strict_json(cls)]``."""

    def check(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        if isinstance(value, Mapping):
            problem = _dataclass_problem(cls, value, cls.__name__)
            if problem:
                raise ValueError(problem)
        return handler(value)

    return WrapValidator(check)


StrictRunQuery = Annotated[RunQuery, strict_json(RunQuery)]
StrictSnapshotFile = Annotated[SnapshotFile, strict_json(SnapshotFile)]
Age = Annotated[
    StrictFloat,
    Field(allow_inf_nan=False, description="seconds (negative: a time after the server's now)"),
]

# -- experiments -----------------------------------------------------------------------------------


class NameBody(BaseModel):
    name: str


class ArchivedBody(BaseModel):
    archived: StrictBool


class ExperimentTagsBody(BaseModel):
    tags: dict[str, str | None] = Field(default_factory=dict)
    remove: list[str] = Field(default_factory=list)


class ExperimentList(BaseModel):
    experiments: list[ExperimentInfo]


class CreateExperimentBody(BaseModel):
    """``Store.create_experiment``: ``experiment_id`` null for a new uuid4."""

    name: str
    experiment_id: str | None = None
    tags: dict[str, str | None] = Field(default_factory=dict)


# -- runs ------------------------------------------------------------------------------------------


class CreateRunsBody(BaseModel):
    runs: list[NewRun]


class RunList(BaseModel):
    runs: list[RunInfo]


class RunPageBody(BaseModel):
    runs: list[RunInfo]
    next_page_token: str | None = None


class CountBody(BaseModel):
    count: int


class UpdateRunBody(BaseModel):
    """Only the fields present change; a field set to null is cleared."""

    display_name: str | None = None
    description: str | None = None
    run_definition: dict[str, Any] | None = None


class StatusBody(BaseModel):
    status: RunStatus
    error: dict[str, Any] | None = None


class TagsBody(BaseModel):
    tags: dict[str, str | None]


class PropertiesBody(BaseModel):
    properties: dict[str, str]


class DeletedBody(BaseModel):
    """``true``: delete the run (soft: it keeps everything); ``false``: restore it."""

    deleted: StrictBool


# -- supervision -----------------------------------------------------------------------------------


class ClaimBody(BaseModel):
    """``stale_age``: seconds; a queued run whose heartbeat is older holds no place. Ages, not
    times, so that the client's and the server's clocks need not agree."""

    target: str
    max_active: Annotated[StrictInt, Field(ge=0)]
    stale_age: Age


class StopBody(BaseModel):
    status: RunStatus
    error: dict[str, Any] | None = None


class ErrorRecordBody(BaseModel):
    error: dict[str, Any]


class ExpireBody(BaseModel):
    """Ages in seconds: heartbeats older than ``not_responding_age`` make a Running run
    NotResponding and end a CancelRequested run as asked (with ``stopped_error``), older than
    ``fail_age`` make an active or queued run Failed (with ``error``)."""

    not_responding_age: Age
    fail_age: Age
    error: dict[str, Any]
    stopped_error: dict[str, Any] | None = None


# -- metrics ---------------------------------------------------------------------------------------


class PackedValues(BaseModel):
    """Values packed by ``runyard.store.codec``: ``f64``/``i64`` little-endian or ``json``."""

    encoding: Encoding
    data: str = Field(description="base64 of the packed bytes")


class PackedChunk(BaseModel):
    """Consecutive points of one series (``MetricChunk``); ``steps`` absent when no point has
    one (a read gives them always)."""

    run_id: str
    name: str
    kind: MetricKind
    value_type: ValueType
    description: str = ""
    values: PackedValues
    times: str = Field(description="base64 of little-endian doubles (POSIX seconds)")
    steps: PackedValues | None = None


class LogMetricsBody(BaseModel):
    chunks: list[PackedChunk]


class RunIdsBody(BaseModel):
    run_ids: list[str]
    names: list[str] | None = None


class MetricSeriesDoc(BaseModel):
    run_id: str
    name: str
    kind: MetricKind
    value_type: ValueType
    count: int
    last_value: Any = None
    min_value: float | None = None
    max_value: float | None = None
    description: str = ""
    last_step: int | None = None
    last_time: float | None = None


class SeriesList(BaseModel):
    series: list[MetricSeriesDoc]


class MetricChunkList(BaseModel):
    metrics: list[PackedChunk]


# -- logs, artifacts, snapshots --------------------------------------------------------------------


class LogList(BaseModel):
    logs: dict[str, int]


class ArtifactList(BaseModel):
    artifacts: list[ArtifactInfo]


class DigestsBody(BaseModel):
    digests: list[str]


class MissingBody(BaseModel):
    missing: list[str]


class SnapshotBody(BaseModel):
    snapshot_id: str
    files: list[StrictSnapshotFile]


class SnapshotFiles(BaseModel):
    files: list[SnapshotFile]


# -- logged models, and what runs use and make -----------------------------------------------------

StrictLoggedModelQuery = Annotated[LoggedModelQuery, strict_json(LoggedModelQuery)]


class NewLoggedModelBody(BaseModel):
    model: Annotated[NewLoggedModel, strict_json(NewLoggedModel)]


class LoggedModelPageBody(BaseModel):
    models: list[LoggedModelInfo]
    next_page_token: str | None = None


class ModelStatusBody(BaseModel):
    status: LoggedModelStatus
    status_message: str | None = None


class ModelTagsBody(BaseModel):
    tags: dict[str, str]


class ModelParamsBody(BaseModel):
    params: dict[str, str]


class ModelMetricsBody(BaseModel):
    metrics: list[Annotated[ModelMetric, strict_json(ModelMetric)]]


class RunInputsBody(BaseModel):
    datasets: list[DatasetInput] = Field(default_factory=list)
    model_ids: list[str] = Field(default_factory=list)


class RunOutputsBody(BaseModel):
    outputs: list[Annotated[ModelOutput, strict_json(ModelOutput)]]


class RunIOBody(BaseModel):
    runs: dict[str, RunIO]


# -- registered models -----------------------------------------------------------------------------

StrictModelVersionQuery = Annotated[ModelVersionQuery, strict_json(ModelVersionQuery)]


class NewModelVersionBody(BaseModel):
    model: Annotated[NewModelVersion, strict_json(NewModelVersion)]


class ModelVersionList(BaseModel):
    versions: list[ModelVersionInfo]


class ModelVersionTagsBody(BaseModel):
    tags: dict[str, str] = Field(default_factory=dict)
    remove: list[str] = Field(default_factory=list)


class ModelVersionPropertiesBody(BaseModel):
    properties: dict[str, str]


class ModelVersionDescriptionBody(BaseModel):
    description: str | None = None


class NewRegisteredModelBody(BaseModel):
    name: str
    description: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)


StrictRegisteredModelUpdate = Annotated[RegisteredModelUpdate, strict_json(RegisteredModelUpdate)]


class RegisteredModelList(BaseModel):
    models: list[RegisteredModelInfo]


# -- workspaces and tokens -------------------------------------------------------------------------


class WorkspaceDoc(BaseModel):
    name: str
    created_time: float
    role: Role | None = Field(None, description="the caller's role in the workspace")


class WorkspaceList(BaseModel):
    workspaces: list[WorkspaceDoc]


class NewTokenBody(BaseModel):
    role: Role
    name: str | None = None


class TokenDoc(BaseModel):
    token_id: str
    name: str | None
    workspace: str
    role: Role
    created_time: float
    revoked_time: float | None = None


class NewTokenDoc(TokenDoc):
    token: str = Field(description="the secret: shown once, never stored by the server")


class TokenList(BaseModel):
    tokens: list[TokenDoc]


class EnvironmentBody(BaseModel):
    """``Store.register_environment``: the name and the environment's definition."""

    name: str
    definition: dict[str, Any]


class EnvironmentListBody(BaseModel):
    environments: list[EnvironmentInfo]


class ComputeTargetBody(BaseModel):
    """``Store.attach_compute``: the name, the kind (``ray``) and the runner's configuration."""

    name: str
    kind: str
    config: dict[str, Any]


class ComputeTargetListBody(BaseModel):
    targets: list[ComputeTargetInfo]
