"""Plain data shared by every layer: statuses, kinds, and the records the store returns.

Nothing here talks to a store; every class is frozen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class RunStatus(StrEnum):
    """Every status a run can have (reference §2)."""

    NOT_STARTED = "NotStarted"
    QUEUED = "Queued"
    PREPARING = "Preparing"
    PROVISIONING = "Provisioning"
    STARTING = "Starting"
    RUNNING = "Running"
    CANCEL_REQUESTED = "CancelRequested"
    CANCELED = "Canceled"
    FINALIZING = "Finalizing"
    COMPLETED = "Completed"
    FAILED = "Failed"
    UNAPPROVED = "Unapproved"
    NOT_RESPONDING = "NotResponding"
    PAUSING = "Pausing"
    PAUSED = "Paused"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES

    @classmethod
    def parse(cls, value: str) -> RunStatus:
        """The status named ``value``, case-insensitively; raises ``ValueError`` listing them."""
        for status in cls:
            if status.value.lower() == value.lower():
                return status
        names = ", ".join(s.value for s in cls)
        raise ValueError(f"Unknown run status {value!r}. Use one of: {names}.")


TERMINAL_STATUSES = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELED})
"""A run in one of these never changes status again."""

RUNNING_STATUSES = frozenset(
    {
        RunStatus.NOT_STARTED,
        RunStatus.QUEUED,
        RunStatus.PREPARING,
        RunStatus.PROVISIONING,
        RunStatus.STARTING,
        RunStatus.RUNNING,
        RunStatus.UNAPPROVED,
        RunStatus.NOT_RESPONDING,
        RunStatus.PAUSING,
        RunStatus.PAUSED,
    }
)
"""The SDK's "still running" set: ``wait_for_completion`` keeps waiting while in it."""

POST_PROCESSING_STATUSES = frozenset({RunStatus.CANCEL_REQUESTED, RunStatus.FINALIZING})

ACTIVE_STATUSES = frozenset(
    {
        RunStatus.PREPARING,
        RunStatus.PROVISIONING,
        RunStatus.STARTING,
        RunStatus.RUNNING,
        RunStatus.FINALIZING,
        RunStatus.CANCEL_REQUESTED,
        RunStatus.NOT_RESPONDING,
    }
)
"""A supervised run in one of these holds a slot of its target's queue."""


class MetricKind(StrEnum):
    """How a metric series was logged; decides the shape ``get_metrics`` returns."""

    VECTOR = "vector"  # log() and log_list(): one value per point
    TABLE = "table"  # log_row() and log_table(): one dict per row
    IMAGE = "image"  # log_image(): the artifact's URI
    CONFUSION_MATRIX = "confusion_matrix"
    ACCURACY_TABLE = "accuracy_table"
    RESIDUALS = "residuals"
    PREDICTIONS = "predictions"

    @property
    def is_artifact(self) -> bool:
        return self not in (MetricKind.VECTOR, MetricKind.TABLE)


class ValueType(StrEnum):
    """What the points of a vector series hold; a series never mixes them."""

    NUMBER = "number"
    BOOL = "bool"
    STRING = "string"
    NONE = "none"  # only None so far: any other type may still follow
    ROW = "row"  # a table row: a dict of column to scalar
    ARTIFACT = "artifact"  # an artifact URI


class ViewType(StrEnum):
    """Which experiments ``Experiment.list`` returns."""

    ACTIVE_ONLY = "ActiveOnly"
    ARCHIVED_ONLY = "ArchivedOnly"
    ALL = "All"


class RunType(StrEnum):
    """The run types runyard records itself (``NewRun.run_type``). ``RunInfo.run_type`` stays a
    string: a store may hold others, and users filter on any string."""

    SCRIPT = "runyard.scriptrun"
    """A script submitted with ``Experiment.submit``, run under a supervisor."""


@dataclass(frozen=True, slots=True)
class ExperimentInfo:
    experiment_id: str
    name: str
    created_time: float
    archived_time: float | None = None
    tags: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NewRun:
    """What ``Store.create_runs`` needs to create one run."""

    run_id: str
    experiment_name: str
    status: RunStatus = RunStatus.RUNNING
    parent_run_id: str | None = None
    run_type: str | None = None
    display_name: str | None = None
    description: str | None = None
    target: str = "local"
    tags: Mapping[str, str | None] = field(default_factory=dict)
    properties: Mapping[str, str] = field(default_factory=dict)
    run_definition: Mapping[str, Any] | None = None
    submitted_by: str | None = None


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One run as the store holds it. Times are POSIX seconds (UTC)."""

    run_id: str
    experiment_id: str
    experiment_name: str
    number: int
    status: RunStatus
    created_time: float
    parent_run_id: str | None = None
    root_run_id: str | None = None
    run_type: str | None = None
    display_name: str | None = None
    description: str | None = None
    target: str = "local"
    start_time: float | None = None
    end_time: float | None = None
    heartbeat_time: float | None = None
    error: Mapping[str, Any] | None = None
    run_definition: Mapping[str, Any] | None = None
    submitted_by: str | None = None
    stop_status: RunStatus | None = None
    """The status a requested stop ends in (Canceled or Failed), while CancelRequested."""
    tags: Mapping[str, str | None] = field(default_factory=dict)
    properties: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TagFilter:
    """Matches runs that have ``key``; with ``match_value``, only when its value is ``value``
    (``None`` matches a value-less tag)."""

    key: str
    value: str | None = None
    match_value: bool = False


@dataclass(frozen=True, slots=True)
class RunQuery:
    """A search over runs; every filter is ANDed. Results come newest first."""

    experiment_name: str | None = None
    tags: Sequence[TagFilter] = ()
    properties: Sequence[TagFilter] = ()
    status: RunStatus | None = None
    run_type: str | None = None
    include_children: bool = False
    parent_run_id: str | None = None
    root_run_id: str | None = None
    exclude_run_id: str | None = None
    page_size: int = 500
    page_token: str | None = None


@dataclass(frozen=True, slots=True)
class RunPage:
    runs: Sequence[RunInfo]
    next_page_token: str | None = None


@dataclass(frozen=True, slots=True)
class MetricChunk:
    """Consecutive points of one series of one run, written in one go.

    ``steps`` is None when no point of the chunk was given a step.
    """

    run_id: str
    name: str
    kind: MetricKind
    value_type: ValueType
    values: Sequence[Any]
    times: Sequence[float]
    steps: Sequence[int | None] | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class MetricSeries:
    """A summary of one series: enough to list it without reading its points."""

    run_id: str
    name: str
    kind: MetricKind
    value_type: ValueType
    count: int
    last_value: Any = None
    min_value: float | None = None
    max_value: float | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class MetricData:
    """Every point of one series, in logging order."""

    run_id: str
    name: str
    kind: MetricKind
    value_type: ValueType
    values: Sequence[Any]
    steps: Sequence[int | None]
    times: Sequence[float]
    description: str = ""


@dataclass(frozen=True, slots=True)
class ArtifactInfo:
    run_id: str
    path: str
    size: int
    created_time: float


@dataclass(frozen=True, slots=True)
class SnapshotFile:
    path: str
    digest: str
    size: int
