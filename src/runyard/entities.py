"""Plain data shared by every layer: statuses, kinds, and the records the store returns.

Also the run-status rules, once for every store: which statuses mean what, and what a status
change, a stop request, a stopped heartbeat or a reopening does to a run (``status_change``,
``stop_change``, ``expiry_change``, ``reopen_change``). The SQL store writes
what they say; the HTTP store's offline guess of a run applies the same to the last ``RunInfo``.

Nothing here talks to a store; every class is frozen, every function pure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from runyard.errors import InvalidArgumentError, RunStateError, UserError


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
        """Final: the run never changes status again (``TERMINAL_STATUSES``)."""
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
"""Final: a run in one of these never changes again (status, times, error), whatever is asked."""

NOT_STARTED_STATUSES = frozenset({RunStatus.NOT_STARTED, RunStatus.QUEUED})
"""A run in one of these has not started: it has no start time, and a submitted run has no
process yet, so a stop request ends it at once. Every other status records the start time."""

STOP_STATUSES = frozenset({RunStatus.CANCELED, RunStatus.FAILED})
"""The statuses a stop request (``Store.request_stop``) may end a run in."""

DEFAULT_STOP_STATUS = RunStatus.CANCELED
"""What a stopped run ends in when no stop request chose (``stop_ends_as``)."""

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


class RunLifecycle(StrEnum):
    """Which runs a search or a count finds (``RunQuery.lifecycle``): deleted runs
    (``Store.set_run_deleted``) are left out unless the query asks for them."""

    ACTIVE = "active"
    """Runs that are not deleted (the default everywhere)."""
    DELETED = "deleted"
    """Deleted runs only."""
    ALL = "all"
    """Both."""

    @classmethod
    def parse(cls, value: object) -> RunLifecycle:
        """The lifecycle named ``value`` (``"active"``, ``"deleted"``, ``"all"``, any case).

        Raises:
            InvalidArgumentError: ``value`` names none of them.
        """
        if isinstance(value, str):
            for lifecycle in cls:
                if lifecycle.value == value.lower():
                    return lifecycle
        names = ", ".join(repr(lifecycle.value) for lifecycle in cls)
        raise InvalidArgumentError(
            f"Unknown run lifecycle {value!r:.40}: use one of {names} (deleted runs are left "
            "out unless asked for)."
        )


class RunType(StrEnum):
    """The run types runyard records itself (``NewRun.run_type``). ``RunInfo.run_type`` stays a
    string: a store may hold others, and users filter on any string."""

    SCRIPT = "azureml.scriptrun"
    """A script submitted with ``Experiment.submit``, run under a supervisor (Azure ML's name,
    so that ported code filtering on it finds these runs)."""


COMPUTE_TARGET_PROPERTY = "_azureml.ComputeTargetType"
"""The run property naming the compute target a run ran on (``local``), as Azure ML names it."""
BATCH_CHILD_TAG = "azureml.batch_child_number"
"""The tag ``create_children(count=n)`` puts on child i (``"0"`` .. ``"n-1"``), as Azure ML."""


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
    deleted_time: float | None = None
    """When the run was deleted (``Store.set_run_deleted``); None while it is not."""
    tags: Mapping[str, str | None] = field(default_factory=dict)
    properties: Mapping[str, str] = field(default_factory=dict)
    metrics: Mapping[str, MetricSeries] | None = None
    """The summary of each metric series by name, when the search asked for them
    (``RunQuery.include_metrics``); None when it did not."""


@dataclass(frozen=True, slots=True)
class TagFilter:
    """Matches runs that have ``key``; with ``match_value``, only when its value is ``value``
    (``None`` matches a value-less tag)."""

    key: str
    value: str | None = None
    match_value: bool = False


@dataclass(frozen=True, slots=True)
class RunQuery:
    """A search over runs; every filter is ANDed. Results come newest first unless
    ``order_by`` says otherwise.

    ``filter`` is an expression of the query grammar (``runyard.query``: MLflow's search
    grammar plus OR and parentheses), ``order_by`` a list of ``"FIELD [ASC|DESC]"`` keys; both
    travel as text and each store parses them, so that every backend (and the server) checks
    them the same way.
    """

    experiment_name: str | None = None
    tags: Sequence[TagFilter] = ()
    properties: Sequence[TagFilter] = ()
    status: RunStatus | None = None
    run_type: str | None = None
    include_children: bool = False
    parent_run_id: str | None = None
    root_run_id: str | None = None
    exclude_run_id: str | None = None
    filter: str | None = None
    order_by: Sequence[str] = ()
    include_metrics: bool = False
    """Fill ``RunInfo.metrics`` with each run's metric summaries."""
    lifecycle: RunLifecycle = RunLifecycle.ACTIVE
    """Deleted runs are left out unless this asks for them (``DELETED``, ``ALL``)."""
    page_size: int = 500
    page_token: str | None = None


@dataclass(frozen=True, slots=True)
class RunPage:
    runs: Sequence[RunInfo]
    next_page_token: str | None = None


@dataclass(frozen=True, slots=True)
class MetricChunk:
    """Consecutive points of one series of one run, in logging order.

    What the pipeline writes (``Store.log_metrics``) and what reads return
    (``Store.read_metrics``: one chunk holding every point of a series). ``steps`` is None when
    no point of a written chunk was given a step; a read always gives one step per point (None
    where a point has none).
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
    """A summary of one series: enough to list it without reading its points.

    ``last_value``, ``last_step`` and ``last_time`` are those of the last point logged (in
    logging order, not the highest step): its value, its step (None when it was logged without
    one) and its time (POSIX seconds, UTC). A series that never had a point has None for all
    three."""

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


@dataclass(frozen=True, slots=True)
class MetricHistory:
    """Every point of one metric series of one run, as stored: ``values[i]`` was logged at
    ``times[i]`` (POSIX seconds, UTC) with step ``steps[i]`` (None where it was given none).
    ``Run.get_metric_history(name)`` returns it."""

    run_id: str
    name: str
    kind: MetricKind
    value_type: ValueType
    values: Sequence[Any]
    steps: Sequence[int | None]
    times: Sequence[float]
    description: str = ""

    def __len__(self) -> int:
        return len(self.values)

    @property
    def last(self) -> Any:
        """The last value logged (None for an empty series)."""
        return self.values[-1] if self.values else None


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


# -- logged models, and what runs use and make (MLflow 3) ---------------------------------------


class LoggedModelStatus(StrEnum):
    """Where a logged model's files stand: being uploaded, all there, or given up."""

    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


MODELS_FOLDER = "models"
"""A logged model's files are its source run's artifacts under ``models/<model_id>/``."""


def model_artifact_path(model_id: str) -> str:
    """The folder of a logged model's files among its source run's artifacts."""
    return f"{MODELS_FOLDER}/{model_id}"


@dataclass(frozen=True, slots=True)
class ModelMetric:
    """A metric value recorded on a logged model: what a run measured of it, at ``step``,
    on a dataset when named (MLflow's model metrics)."""

    key: str
    value: float
    time: float
    step: int = 0
    run_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None


@dataclass(frozen=True, slots=True)
class NewLoggedModel:
    """What ``Store.create_logged_model`` needs: a model that the run ``source_run_id`` made."""

    model_id: str
    source_run_id: str
    name: str
    model_type: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LoggedModelInfo:
    """A logged model as the store holds it. Its files are its source run's artifacts under
    ``artifact_path``; its experiment is the run's. Times are POSIX seconds (UTC)."""

    model_id: str
    experiment_id: str
    experiment_name: str
    source_run_id: str
    name: str
    artifact_path: str
    status: LoggedModelStatus
    created_time: float
    updated_time: float
    model_type: str | None = None
    status_message: str | None = None
    deleted_time: float | None = None
    """When the model was deleted (``Store.delete_logged_model``); None while it is not."""
    tags: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    metrics: Sequence[ModelMetric] = ()


@dataclass(frozen=True, slots=True)
class LoggedModelQuery:
    """A listing of logged models, newest first; every filter given is ANDed."""

    experiment_names: Sequence[str] = ()
    """The experiments to list (empty: every experiment)."""
    source_run_id: str | None = None
    name: str | None = None
    include_deleted: bool = False
    page_size: int = 500
    page_token: str | None = None


@dataclass(frozen=True, slots=True)
class LoggedModelPage:
    models: Sequence[LoggedModelInfo]
    next_page_token: str | None = None


@dataclass(frozen=True, slots=True)
class DatasetInput:
    """A dataset a run used, as MLflow describes one: ``digest`` tells versions of ``name``
    apart; ``source``, ``schema`` and ``profile`` are the client's text (JSON, usually);
    ``tags`` say how the run used it (``mlflow.data.context``: train, eval...)."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ModelOutput:
    """A logged model a run made, at ``step`` of its training."""

    model_id: str
    step: int = 0


@dataclass(frozen=True, slots=True)
class RunIO:
    """What a run used (datasets, logged models) and made (logged models), each in the order
    it was first recorded."""

    datasets: Sequence[DatasetInput] = ()
    model_inputs: Sequence[str] = ()
    """The ids of the logged models the run used."""
    model_outputs: Sequence[ModelOutput] = ()


# -- the run-status rules ----------------------------------------------------------------------


CLEARABLE_FIELDS = frozenset({"end_time", "heartbeat_time", "stop_status"})
"""The ``RunInfo`` fields a ``RunChange`` may set back to None (only ``reopen_change`` does)."""
_SET_FIELDS = ("status", "stop_status", "start_time", "end_time", "error")
"""The fields of ``RunChange`` that give a ``RunInfo`` field its new value."""


@dataclass(frozen=True, slots=True)
class RunChange:
    """What one status change, stop request or reopening does to a run: the new value of each
    field it sets.

    A field left None keeps its value; the fields named in ``cleared`` (some of
    ``CLEARABLE_FIELDS``) become None. Nothing set nor cleared: no change at all.
    """

    status: RunStatus | None = None
    stop_status: RunStatus | None = None
    start_time: float | None = None
    end_time: float | None = None
    error: Mapping[str, Any] | None = None
    cleared: frozenset[str] = frozenset()

    def fields(self) -> dict[str, Any]:
        """The ``RunInfo`` fields this sets or clears, by name, with their new values."""
        given = {name: getattr(self, name) for name in _SET_FIELDS}
        changed = {name: value for name, value in given.items() if value is not None}
        return changed | dict.fromkeys(self.cleared)

    def apply(self, info: RunInfo) -> RunInfo:
        """``info`` with this change made."""
        return dataclasses.replace(info, **self.fields())


def status_change(
    current: RunStatus,
    status: RunStatus,
    *,
    start_time: float | None,
    has_error: bool,
    error: Mapping[str, Any] | None,
    now: float,
) -> RunChange:
    """What moving a run in ``current`` to ``status`` changes (``Store.set_run_status``).

    - A final run (``TERMINAL_STATUSES``) changes in nothing.
    - A CancelRequested run moves only to a final status: a late Running or Finalizing does not
      hide the stop request (the rest of the change is still made).
    - A status outside ``NOT_STARTED_STATUSES`` records the start time ``now``, unless the run
      has one (``start_time``); a final status records the end time ``now``.
    - ``error`` is kept only if the run has none (``has_error``): the first error stands.
    """
    if current.is_terminal:
        return RunChange()
    keeps_stop = current is RunStatus.CANCEL_REQUESTED and not status.is_terminal
    return RunChange(
        status=None if keeps_stop else status,
        start_time=now if status not in NOT_STARTED_STATUSES and start_time is None else None,
        end_time=now if status.is_terminal else None,
        error=_first_error(has_error, error),
    )


def reopen_change(run_id: str, current: RunStatus) -> RunChange:
    """What reopening the run ``run_id``, in ``current``, changes (``Store.reopen_run``).

    For MLflow compatibility only: MLflow's ``start_run(run_id=...)`` resumes a run that ended,
    and the Azure ML SDK has no such call (there, and in every other rule, final is final).

    - A final run (``TERMINAL_STATUSES``) is Running again, its end time cleared; its start
      time, error, metrics and the rest are kept. Its heartbeat time is cleared too: whatever
      reopened it may never heartbeat (an MLflow client does not), and an old heartbeat would
      make the liveness sweep fail the run at once; a process that heartbeats sets it again.
      A stop status left from a stop request is cleared (it means something only while
      CancelRequested).
    - A Running run changes in nothing.

    Raises:
        RunStateError: the run is in any other status (not started, starting, stopping, not
            responding...): it has not ended, so there is nothing to resume.
    """
    if current.is_terminal:
        return RunChange(status=RunStatus.RUNNING, cleared=CLEARABLE_FIELDS)
    if current is RunStatus.RUNNING:
        return RunChange()
    raise RunStateError(
        f"Run {run_id!r} is {current.value}: only a run that ended (Completed, Failed or "
        "Canceled) can be reopened, and a Running one is left as it is. Wait until it ends "
        "(run.wait_for_completion()), or stop it first (run.cancel())."
    )


def check_stop_status(status: RunStatus) -> None:
    """Raise ``UserError`` unless a stop request may end a run in ``status`` (Canceled, Failed)."""
    if status not in STOP_STATUSES:
        raise UserError(f"A run can be stopped as Canceled or Failed, not {status.value}.")


def stop_change(
    current: RunStatus,
    status: RunStatus,
    *,
    has_error: bool,
    error: Mapping[str, Any] | None,
    now: float,
) -> RunChange:
    """What asking a run in ``current`` to stop as ``status`` changes (``Store.request_stop``).

    - A final run changes in nothing.
    - A run that has not started (``NOT_STARTED_STATUSES``) ends at once: ``status``, with the
      end time ``now`` (and no start time).
    - A CancelRequested run keeps its first request's ``stop_status``.
    - Any other run moves to CancelRequested with ``stop_status``; its supervisor stops the
      process and sets the final status (``stop_ends_as``).
    - ``error`` is kept only if the run has none, as for a status change.

    Raises:
        UserError: ``status`` is neither Canceled nor Failed (``STOP_STATUSES``).
    """
    check_stop_status(status)
    if current.is_terminal:
        return RunChange()
    first_error = _first_error(has_error, error)
    if current in NOT_STARTED_STATUSES:
        return RunChange(status=status, end_time=now, error=first_error)
    if current is RunStatus.CANCEL_REQUESTED:
        return RunChange(error=first_error)
    return RunChange(status=RunStatus.CANCEL_REQUESTED, stop_status=status, error=first_error)


def new_run_change(status: RunStatus, now: float) -> RunChange:
    """What creating a run in ``status`` records: as a NotStarted run moved to ``status``, the
    start time ``now`` unless it has not started, the end time ``now`` if it is final."""
    return status_change(
        RunStatus.NOT_STARTED, status, start_time=None, has_error=False, error=None, now=now
    )


def stop_ends_as(info: RunInfo) -> RunStatus:
    """The final status of a run its supervisor stops: what the stop request asked for, else
    ``DEFAULT_STOP_STATUS`` (a stop the supervisor decided itself, or a bare CancelRequested)."""
    return info.stop_status or DEFAULT_STOP_STATUS


SUPERVISED_STATUSES = ACTIVE_STATUSES | {RunStatus.QUEUED}
"""A heartbeating run in one of these has a supervisor (waiting for its turn, or running it):
a heartbeat that stopped long enough ends it (``expiry_change``)."""


def expiry_change(
    current: RunStatus,
    heartbeat_time: float | None,
    *,
    stop_status: RunStatus | None,
    not_responding_before: float,
    fail_before: float,
    has_error: bool,
    dead_error: Mapping[str, Any],
    stopped_error: Mapping[str, Any] | None,
    now: float,
) -> RunChange:
    """What a heartbeat that stopped does to a run (``Store.expire_heartbeats``).

    - A run that never heartbeat (an interactive run) or a final one changes in nothing.
    - A CancelRequested run whose last heartbeat is older than ``not_responding_before`` ends as
      its stop request asked (``stop_ends_as``), with the end time ``now`` and the error
      ``stopped_error``: its supervisor, which would have ended it, is gone, and nothing else
      would end it before the dead-run time.
    - A run in ``SUPERVISED_STATUSES`` whose last heartbeat is older than ``fail_before`` ends
      Failed, with the end time ``now`` and the error ``dead_error``.
    - A Running run whose last heartbeat is older than ``not_responding_before`` becomes
      NotResponding (a heartbeat that comes back makes it Running again).
    - An error is kept only if the run has none, as for a status change.
    """
    if heartbeat_time is None or current.is_terminal:
        return RunChange()
    silent = heartbeat_time < not_responding_before
    if current is RunStatus.CANCEL_REQUESTED and silent:
        ends_as = stop_status or DEFAULT_STOP_STATUS
        return RunChange(status=ends_as, end_time=now, error=_first_error(has_error, stopped_error))
    if current in SUPERVISED_STATUSES and heartbeat_time < fail_before:
        return RunChange(
            status=RunStatus.FAILED, end_time=now, error=_first_error(has_error, dead_error)
        )
    if current is RunStatus.RUNNING and silent:
        return RunChange(status=RunStatus.NOT_RESPONDING)
    return RunChange()


def apply_status(
    info: RunInfo, status: RunStatus, error: Mapping[str, Any] | None, now: float
) -> RunInfo:
    """``info`` after ``set_run_status(status, error)`` at ``now``, by ``status_change``."""
    change = status_change(
        info.status,
        status,
        start_time=info.start_time,
        has_error=info.error is not None,
        error=error,
        now=now,
    )
    return change.apply(info)


def apply_stop(
    info: RunInfo, status: RunStatus, error: Mapping[str, Any] | None, now: float
) -> RunInfo:
    """``info`` after ``request_stop(status, error)`` at ``now``, by ``stop_change``.

    Raises:
        UserError: ``status`` is neither Canceled nor Failed.
    """
    change = stop_change(
        info.status, status, has_error=info.error is not None, error=error, now=now
    )
    return change.apply(info)


def _first_error(has_error: bool, error: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The error to keep: ``error`` if the run has none yet (the first error stands)."""
    return dict(error) if error is not None and not has_error else None


# -- registered models (Azure ML's model registry; store/sql/registry.py) -----------------------


@dataclass(frozen=True, slots=True)
class NewModelVersion:
    """What ``Store.create_model_version`` needs: the files of a new version of model ``name``,
    either named as blobs stored already (``files``: a local file or folder uploaded) or copied
    from the artifacts of the run ``run_id`` under ``run_path`` (a file, or a folder's prefix).

    Every file path starts with the model's root: the one file's name (``model.pkl``), or the
    folder's name (``model/weights.bin``): what ``Model.download`` recreates.
    """

    name: str
    files: Sequence[SnapshotFile] = ()
    run_id: str | None = None
    """The run that made the model (with ``run_path``: whose artifacts are copied)."""
    run_path: str | None = None
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    properties: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ModelVersionInfo:
    """A registered model version as the store holds it: its files (their bytes are blobs,
    ``Store.open_blob``) never change. Times are POSIX seconds (UTC)."""

    name: str
    version: int
    created_time: float
    root: str
    """The file name (a one-file model) or folder name every file path starts with."""
    files: Sequence[SnapshotFile] = ()
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    properties: Mapping[str, str] = field(default_factory=dict)
    run_id: str | None = None
    experiment_name: str | None = None

    @property
    def id(self) -> str:
        """Azure's model id, ``name:version``."""
        return f"{self.name}:{self.version}"


@dataclass(frozen=True, slots=True)
class ModelVersionQuery:
    """A listing of registered model versions, by name then newest version first; every
    filter given is ANDed (tag and property filters as ``RunQuery``'s)."""

    name: str | None = None
    tags: Sequence[TagFilter] = ()
    properties: Sequence[TagFilter] = ()
    run_id: str | None = None
    latest: bool = False
    """Only the latest version of each name (of those matching the other filters)."""


@dataclass(frozen=True, slots=True)
class RegisteredModelInfo:
    """A registered model name (MLflow's registered model): it exists from its first version
    or from ``Store.create_registered_model``, with a description, tags and aliases of its own
    (each alias names one of its versions). Times are POSIX seconds (UTC); ``updated_time``
    moves with each change of the name and each new version."""

    name: str
    created_time: float
    updated_time: float
    description: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    aliases: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RegisteredModelUpdate:
    """What ``Store.update_registered_model`` changes; what is left empty stays as it is."""

    description: str | None = None
    """A new description ("" clears it); None leaves it."""
    tags: Mapping[str, str] = field(default_factory=dict)
    remove_tags: Sequence[str] = ()
    aliases: Mapping[str, int] = field(default_factory=dict)
    """Aliases to point at these versions (moved when they exist)."""
    remove_aliases: Sequence[str] = ()


@dataclass(frozen=True, slots=True)
class EnvironmentInfo:
    """A registered environment (``Store.register_environment``): one version of a name.

    ``definition`` is the environment as Azure ML serialises it (``name``, ``version``,
    ``python``, ``environmentVariables``, ``docker``...), a JSON object the store keeps as it
    was given; ``version`` counts the registrations of the name, "1", "2"... (strings, as
    Azure's). Times are POSIX seconds (UTC)."""

    name: str
    version: str
    definition: Mapping[str, Any]
    created_time: float


@dataclass(frozen=True, slots=True)
class ComputeTargetInfo:
    """A compute target attached to a workspace (``Store.attach_compute``): a name, the kind of
    runner behind it (``ray``...) and that runner's configuration (``{"address": ...}`` for
    Ray), a JSON object kept as given. ``local`` is never stored: every workspace has it."""

    name: str
    kind: str
    config: Mapping[str, Any]
    created_time: float
