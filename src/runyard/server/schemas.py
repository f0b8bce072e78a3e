"""Request bodies and documented responses of the API (pydantic, for validation and OpenAPI).

Bodies that carry entities use the entity dataclasses themselves (``NewRun``, ``RunQuery``,
``SnapshotFile``), so the API cannot drift from the store. Responses are written by
``wire`` and declared here only for the OpenAPI document.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from runyard.entities import (
    ArtifactInfo,
    ExperimentInfo,
    MetricKind,
    NewRun,
    RunInfo,
    RunStatus,
    SnapshotFile,
    ValueType,
)
from runyard.server.control import Role
from runyard.store.codec import Encoding

# -- experiments -----------------------------------------------------------------------------------


class NameBody(BaseModel):
    name: str


class ArchivedBody(BaseModel):
    archived: bool


class ExperimentTagsBody(BaseModel):
    tags: dict[str, str | None] = Field(default_factory=dict)
    remove: list[str] = Field(default_factory=list)


class ExperimentList(BaseModel):
    experiments: list[ExperimentInfo]


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


# -- supervision -----------------------------------------------------------------------------------


class ClaimBody(BaseModel):
    """``stale_age``: seconds; a queued run whose heartbeat is older holds no place. Ages, not
    times, so that the client's and the server's clocks need not agree."""

    target: str
    max_active: int
    stale_age: float


class StopBody(BaseModel):
    status: RunStatus
    error: dict[str, Any] | None = None


class ErrorRecordBody(BaseModel):
    error: dict[str, Any]


class ExpireBody(BaseModel):
    """Ages in seconds: heartbeats older than ``not_responding_age`` make a Running run
    NotResponding and end a CancelRequested run as asked (with ``stopped_error``), older than
    ``fail_age`` make an active or queued run Failed (with ``error``)."""

    not_responding_age: float
    fail_age: float
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
    files: list[SnapshotFile]


class SnapshotFiles(BaseModel):
    files: list[SnapshotFile]


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
