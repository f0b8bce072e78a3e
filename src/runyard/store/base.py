"""The Store interface: everything runyard keeps, behind small verbs.

Each verb's docstring is its contract; ``tests/store/contract.py`` checks every backend against
it. A verb either does all it says or raises and writes nothing. Backends: ``store.sql`` (SQLite
and PostgreSQL) and ``store.http`` (a tracking server); the SDK only ever holds a ``Store``.

Exactly once: the writes whose repetition is not harmless (``create_runs``, ``log_metrics``,
``append_log``, ``create_experiment``, ``rename_experiment``) take a ``request_id``. A request id
the store has applied already is ignored, so a retried request is applied exactly once. The id is
recorded in the transaction of the write, so a write that failed left no id behind and can be
retried with the same one.
"""

from __future__ import annotations

import abc
import contextlib
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

from runyard.entities import (
    ArtifactInfo,
    ComputeTargetInfo,
    DatasetInput,
    EnvironmentInfo,
    ExperimentInfo,
    LoggedModelInfo,
    LoggedModelPage,
    LoggedModelQuery,
    LoggedModelStatus,
    MetricChunk,
    MetricSeries,
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
    RunPage,
    RunQuery,
    RunStatus,
    SnapshotFile,
    ViewType,
)
from runyard.errors import ArtifactExistsError, UserError
from runyard.limits import check_new_artifact_path

UNSET: Any = object()
"""Marks an argument of ``update_run`` that was not given."""

MAX_REQUEST_ID_LENGTH = 128


def check_request_id(request_id: str | None) -> None:
    """Raise UserError unless ``request_id`` is None or 1 to 128 printable ASCII characters."""
    if request_id is None:
        return
    if (
        not isinstance(request_id, str)
        or not 0 < len(request_id) <= MAX_REQUEST_ID_LENGTH
        or not (request_id.isascii() and request_id.isprintable())
    ):
        raise UserError(
            f"Invalid request id {request_id!r}: use 1 to {MAX_REQUEST_ID_LENGTH} printable "
            "ASCII characters, new for every request (a client id and a sequence number, say)."
        )


class Store(abc.ABC):
    """Where experiments, runs, metrics, artifacts and snapshots live."""

    uri: str
    """The tracking URI this store was opened from."""

    # -- experiments ---------------------------------------------------------------------------

    @abc.abstractmethod
    def get_or_create_experiment(self, name: str) -> ExperimentInfo:
        """Return the experiment ``name``, creating it when missing (safe under concurrency).

        Raises:
            InvalidNameError: the name breaks the experiment naming rule.
        """

    @abc.abstractmethod
    def get_experiment(self, name: str) -> ExperimentInfo:
        """Return the experiment ``name``.

        Raises:
            ExperimentNotFoundError: there is none.
        """

    @abc.abstractmethod
    def list_experiments(
        self, view_type: ViewType = ViewType.ACTIVE_ONLY, name: str | None = None
    ) -> list[ExperimentInfo]:
        """Experiments by name, filtered by archive state (and by exact name when given)."""

    @abc.abstractmethod
    def set_experiment_archived(self, name: str, archived: bool) -> ExperimentInfo:
        """Archive (hide from ActiveOnly listings) or reactivate an experiment."""

    @abc.abstractmethod
    def set_experiment_tags(
        self, name: str, tags: Mapping[str, str | None], remove: Iterable[str] = ()
    ) -> ExperimentInfo:
        """Merge ``tags`` into the experiment's tags, then drop the keys in ``remove``."""

    # Experiments by id, created (never got) and renamed: what MLflow's experiment calls need.

    @abc.abstractmethod
    def get_experiment_by_id(self, experiment_id: str) -> ExperimentInfo:
        """Return the experiment whose id is ``experiment_id``, archived or not.

        Raises:
            ExperimentNotFoundError: there is none (the message names the id).
        """

    @abc.abstractmethod
    def create_experiment(
        self,
        name: str,
        *,
        experiment_id: str | None = None,
        tags: Mapping[str, str | None] | None = None,
        request_id: str | None = None,
    ) -> ExperimentInfo:
        """Create the experiment ``name`` and return it as stored; an existing one is never
        returned (``get_or_create_experiment`` does that). Of concurrent calls creating one
        name (or id), exactly one succeeds; the others raise ``ExperimentExistsError``.

        Args:
            name: the new experiment's name, by the rule of ``get_or_create_experiment``.
            experiment_id: its id, 1 to 36 ASCII letters, digits, '-' or '_' (MLflow's
                ``Default`` experiment has the id "0"); None: a new uuid4.
            tags: its tags (a value of None is a value-less tag).
            request_id: a request id the store has applied already is ignored, so a retried
                request is applied exactly once: the experiment that request created is
                returned (as it is now) instead of an ``ExperimentExistsError``.

        Raises:
            InvalidNameError: the name breaks the naming rule (or a tag key is empty).
            InvalidArgumentError: ``experiment_id`` breaks its rule.
            LimitExceededError: a tag key or value is too long, or there are too many tags.
            ExperimentExistsError: an experiment of that name or id exists, archived ones
                included; nothing is created.
            UserError: the request id is not 1 to 128 printable ASCII characters (or was
                applied to another write).
        """

    @abc.abstractmethod
    def rename_experiment(
        self, name: str, new_name: str, *, request_id: str | None = None
    ) -> ExperimentInfo:
        """Rename the experiment ``name`` to ``new_name``; return it as it now is.

        It keeps its id, runs, tags and archive state. Its runs are found under the new name
        at once (``RunQuery.experiment_name``, ``RunInfo.experiment_name``), and no longer
        under the old one. Renaming an experiment to its own name changes nothing.

        Args:
            request_id: a request id the store has applied already is ignored, so a retried
                request is applied exactly once: the experiment is returned (as it is now)
                instead of an ``ExperimentNotFoundError`` for its old name.

        Raises:
            InvalidNameError: ``new_name`` breaks the naming rule of
                ``get_or_create_experiment``.
            ExperimentNotFoundError: there is no experiment ``name``.
            ExperimentExistsError: another experiment is named ``new_name``, archived or not;
                nothing changes.
            UserError: the request id is not 1 to 128 printable ASCII characters (or was
                applied to another write).
        """

    @abc.abstractmethod
    def delete_experiment(self, experiment_id: str) -> None:
        """Delete the experiment of id ``experiment_id``, which must have no run (deleted runs
        count: they can be restored); its name is free again.

        Raises:
            ExperimentNotFoundError: there is no such experiment.
            ExperimentNotEmptyError: it has runs; nothing changes.
        """

    # -- runs ----------------------------------------------------------------------------------

    @abc.abstractmethod
    def create_runs(
        self, runs: Sequence[NewRun], *, request_id: str | None = None, heartbeat: bool = False
    ) -> list[RunInfo]:
        """Create every run in one transaction and return them in the same order.

        Each run gets the next ``number`` of its experiment (the experiment is created when
        missing). A run whose status is not NotStarted/Queued gets a start time now. A child's
        root is its parent's root (or the parent itself).

        Args:
            request_id: a request id the store has applied already is ignored, so a retried
                request is applied exactly once: the runs that request created are returned (as
                they are now) instead of a duplicate-id error.
            heartbeat: also heartbeat the runs, as ``heartbeat`` right after would (for a
                process that keeps the runs it creates alive); best effort, as ``heartbeat``
                is: a heartbeat the store cannot take now is dropped, the runs are created.

        Raises:
            UserError: a run id exists already, a parent is missing, a tag or property breaks a
                limit, or the request id is not 1 to 128 printable ASCII characters (or was
                applied to other runs). Nothing is created then.
        """

    @abc.abstractmethod
    def get_run(self, run_id: str) -> RunInfo:
        """The run with its tags and properties (each in key order, by code point).

        Raises:
            RunNotFoundError: there is none.
        """

    @abc.abstractmethod
    def update_run(
        self,
        run_id: str,
        *,
        display_name: str | None = UNSET,
        description: str | None = UNSET,
        run_definition: Mapping[str, Any] | None = UNSET,
    ) -> RunInfo:
        """Change the fields given; the rest stay."""

    @abc.abstractmethod
    def set_run_status(
        self, run_id: str, status: RunStatus, error: Mapping[str, Any] | None = None
    ) -> RunInfo:
        """Move the run to ``status`` and return it as it now is.

        A run in a terminal status (Completed, Failed, Canceled) never changes: the call returns
        it unchanged, and its first error stands. A CancelRequested run only moves to a terminal
        status (a late "Running" or "Finalizing" does not hide the stop request). Moving to a
        running status records the start time once; moving to a terminal one records the end
        time. ``error`` is stored only if the run has none yet.
        """

    @abc.abstractmethod
    def reopen_run(self, run_id: str) -> RunInfo:
        """Resume a run that ended: make it Running again, and return it as it now is.

        For MLflow compatibility: MLflow's ``start_run(run_id=...)`` resumes an ended run. The
        Azure ML SDK has no such call, and everywhere else a final status is final. The rule:
        ``runyard.entities.reopen_change``. A run in a final status (Completed, Failed,
        Canceled) becomes Running with no end time; its start time, error, tags, properties,
        metrics and the rest are kept, but its heartbeat time and stop status are cleared
        (whatever reopened it may never heartbeat). A Running run is returned unchanged, so
        doing it twice is doing it once.

        Raises:
            RunNotFoundError: there is none.
            RunStateError: the run is in any other status (NotStarted, Queued, Starting,
                CancelRequested, NotResponding...); nothing changes.
        """

    @abc.abstractmethod
    def heartbeat(self, run_id: str) -> None:
        """Record that the process driving the run is alive now.

        A NotResponding run becomes Running again.
        """

    @abc.abstractmethod
    def claim_queued_run(
        self, run_id: str, target: str, max_active: int, stale_before: float
    ) -> RunInfo:
        """Move a Queued run to Starting when it is its target's turn; return the run as it is.

        It is the run's turn when it is the oldest Queued run of ``target`` whose heartbeat is
        not older than ``stale_before`` (a queued run whose supervisor died holds no place), and
        fewer than ``max_active`` heartbeating runs of ``target`` are active (Preparing to
        Finalizing, CancelRequested, NotResponding). A run not Queued is returned unchanged.
        Decisions for one target are serialised, so two runs never take the last slot.
        """

    @abc.abstractmethod
    def request_stop(
        self, run_id: str, status: RunStatus, error: Mapping[str, Any] | None = None
    ) -> RunInfo:
        """Ask a submitted run to stop and end as ``status`` (Canceled or Failed).

        A run that has not started (NotStarted, Queued) ends at once. A started one moves to
        CancelRequested and remembers ``status`` as its ``stop_status``; its supervisor stops the
        process and sets the final status. A finished run is unchanged, and a second request
        does not change the first one's status. ``error`` is stored if the run has none.

        Raises:
            UserError: ``status`` is neither Canceled nor Failed.
        """

    @abc.abstractmethod
    def record_error(self, run_id: str, error: Mapping[str, Any]) -> None:
        """Store ``error`` as the run's error if it has none; the status does not change."""

    @abc.abstractmethod
    def expire_heartbeats(
        self,
        not_responding_before: float,
        fail_before: float,
        error: Mapping[str, Any],
        stopped_error: Mapping[str, Any] | None = None,
    ) -> list[RunInfo]:
        """Act on runs whose heartbeat stopped, in one transaction; return the runs changed.

        A CancelRequested run whose last heartbeat is older than ``not_responding_before`` ends
        as its stop request asked (its ``stop_status``, else Canceled), with ``stopped_error``
        if it has no error: its supervisor is gone. Any other heartbeating run that is Queued or
        active and whose last heartbeat is older than ``fail_before`` becomes Failed (with
        ``error`` if it has none). A Running run whose last heartbeat is older than
        ``not_responding_before`` becomes NotResponding. Runs that never heartbeat (interactive
        runs) are never touched. The rules: ``runyard.entities.expiry_change``.
        """

    @abc.abstractmethod
    def set_tags(self, run_id: str, tags: Mapping[str, str | None]) -> None:
        """Merge ``tags`` into the run's tags (a value of None is a value-less tag).

        Raises:
            LimitExceededError: the run would hold more tags than allowed, or a key or value is too
                long. Nothing is written then.
        """

    @abc.abstractmethod
    def remove_tags(self, run_id: str, keys: Iterable[str]) -> None:
        """Drop these tag keys from the run; missing keys are ignored."""

    @abc.abstractmethod
    def add_properties(self, run_id: str, properties: Mapping[str, str]) -> None:
        """Add properties, which are immutable once set.

        A key that exists with the same value is accepted.

        Raises:
            PropertyConflictError: a key exists with another value; names the key, the stored
                value and the refused one. Nothing of the call is written.
        """

    @abc.abstractmethod
    def search_runs(self, query: RunQuery) -> RunPage:
        """One page of the runs matching ``query``, newest first, with tags and properties.

        ``next_page_token`` is None on the last page; pass it back in ``query.page_token``.
        Unless ``include_children`` (or a parent or root filter), only top-level runs match.
        """

    @abc.abstractmethod
    def count_runs(self, query: RunQuery) -> int:
        """How many runs ``search_runs(query)`` would return over all its pages."""

    # -- deleting runs -------------------------------------------------------------------------

    @abc.abstractmethod
    def set_run_deleted(self, run_id: str, deleted: bool) -> RunInfo:
        """Delete the run (``deleted``), or restore a deleted one; return it as it now is.

        A soft delete: the run keeps everything (metrics, tags, properties, artifacts, logs,
        children) and only gets a ``deleted_time``, so restoring it brings it back whole.
        Searches and counts leave deleted runs out unless their query asks for them
        (``RunQuery.lifecycle``); ``get_run`` still returns a deleted run, with its
        ``deleted_time`` set. Deleting neither changes the status nor depends on it (a running
        run may be deleted and goes on logging). The children of a run are not deleted with it:
        each run is deleted on its own. Idempotent: deleting a deleted run keeps its first
        ``deleted_time``, restoring a run that is not deleted changes nothing.

        Raises:
            RunNotFoundError: there is no such run.
            InvalidArgumentError: ``deleted`` is not True or False.
        """

    # -- logged models, and what runs use and make (MLflow 3) ------------------------------------
    # A logged model is a model a run made: its files are that run's artifacts under
    # ``models/<model_id>/`` (``LoggedModelInfo.artifact_path``, written with ``put_artifact``),
    # its experiment is that run's. What MLflow's ``log_model`` and autologging record.

    @abc.abstractmethod
    def create_logged_model(
        self, model: NewLoggedModel, *, request_id: str | None = None
    ) -> LoggedModelInfo:
        """Record the model ``model.source_run_id`` made, Pending, with its tags and params.

        Args:
            request_id: a request id the store has applied already is ignored, so a retried
                request is applied exactly once: the model that request created is returned
                (as it is now) instead of a ``LoggedModelExistsError``.

        Raises:
            RunNotFoundError: there is no such run. Nothing is created.
            InvalidNameError: the model id is not 1 to 64 letters, digits, '_', '-' or '.' (nor
                '.' or '..'), or the name is empty or holds '/', ':', '.', '%', '"' or "'".
            LimitExceededError: the name, the type, a tag or a param is too long, or there are
                too many tags or params.
            LoggedModelExistsError: the model id is taken.
            UserError: the request id is not 1 to 128 printable ASCII characters (or was
                applied to another write).
        """

    @abc.abstractmethod
    def get_logged_model(self, model_id: str) -> LoggedModelInfo:
        """The model with its tags, params (each in key order) and metric values (in the order
        recorded); a deleted one too, with its ``deleted_time``.

        Raises:
            LoggedModelNotFoundError: there is none.
        """

    @abc.abstractmethod
    def update_logged_model(
        self, model_id: str, status: LoggedModelStatus, status_message: str | None = None
    ) -> LoggedModelInfo:
        """Finish the model: Ready (its files are all there) or Failed (``status_message`` may
        say why); return it as it now is. A Pending model takes either; a finished model is
        final: the same status again changes nothing (its first message stands).

        Raises:
            LoggedModelNotFoundError: there is none.
            InvalidArgumentError: ``status`` is Pending, or differs from a finished model's;
                nothing changes.
            LimitExceededError: the message is longer than 5,000 characters.
        """

    @abc.abstractmethod
    def search_logged_models(self, query: LoggedModelQuery) -> LoggedModelPage:
        """One page of the models ``query`` asks for, newest first, complete as
        ``get_logged_model`` returns them; deleted ones only if ``query.include_deleted``.

        ``next_page_token`` is None on the last page; pass it back in ``query.page_token``.

        Raises:
            InvalidArgumentError: the page size is not 1 to 5,000, or the page token is not one
                this store gave. (An unknown experiment or run matches nothing.)
        """

    @abc.abstractmethod
    def delete_logged_model(self, model_id: str) -> LoggedModelInfo:
        """Delete the model and return it: a soft delete, as MLflow's. It gets a
        ``deleted_time`` and leaves listings; its files stay with its run (runyard never
        deletes a run's artifacts). Deleting a deleted model keeps its first ``deleted_time``.

        Raises:
            LoggedModelNotFoundError: there is none.
        """

    @abc.abstractmethod
    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, str]) -> None:
        """Merge ``tags`` into the model's tags (a key given twice keeps its last value).

        Raises:
            LoggedModelNotFoundError: there is none.
            InvalidNameError, LimitExceededError: a key or value breaks a tag's rules, or the
                model would hold more than 1,000 tags. Nothing is written then.
        """

    @abc.abstractmethod
    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Drop the tag ``key`` of the model.

        Raises:
            LoggedModelNotFoundError: there is no such model, or it has no tag ``key``.
        """

    @abc.abstractmethod
    def add_logged_model_params(self, model_id: str, params: Mapping[str, str]) -> None:
        """Add params, immutable once set, as a run's properties: a key that exists with the
        same value is accepted.

        Raises:
            LoggedModelNotFoundError: there is none.
            PropertyConflictError: a key exists with another value; nothing of the call is
                written.
            InvalidNameError, LimitExceededError: a key or value breaks a tag's rules, or the
                model would hold more than 1,000 params.
        """

    @abc.abstractmethod
    def add_logged_model_metrics(self, model_id: str, metrics: Sequence[ModelMetric]) -> None:
        """Record metric values on the model, in order; a value recorded already (the same
        key, value, time, step, run and dataset) is not recorded twice.

        Raises:
            LoggedModelNotFoundError: there is none.
            RunNotFoundError: a value names a run that does not exist.
            InvalidNameError, LimitExceededError, InvalidArgumentError: a key, a step or a
                dataset breaks its rules, or the model would hold more than 100,000 values.
                Nothing is written then.
        """

    @abc.abstractmethod
    def log_run_inputs(
        self, run_id: str, datasets: Sequence[DatasetInput] = (), model_ids: Sequence[str] = ()
    ) -> None:
        """Record datasets and logged models the run used. A dataset is one per name and
        digest: recorded again (in this call or a later one), it is kept as first recorded,
        tags included; a model used again is recorded once.

        Raises:
            RunNotFoundError: there is no such run.
            LoggedModelNotFoundError: a model id names no model.
            InvalidNameError, LimitExceededError: a dataset's name, digest or texts break their
                limits, a tag breaks a tag's rules, or the run would hold more than 1,000
                datasets. Nothing is written then.
        """

    @abc.abstractmethod
    def log_run_outputs(self, run_id: str, outputs: Sequence[ModelOutput]) -> None:
        """Record logged models the run made, each at its step; a model recorded as an output
        of the run already keeps its first step.

        Raises:
            RunNotFoundError: there is no such run.
            LoggedModelNotFoundError: a model id names no model. Nothing is written then.
            InvalidArgumentError: a step is not a 64-bit integer.
        """

    @abc.abstractmethod
    def get_run_io(self, run_ids: Sequence[str]) -> dict[str, RunIO]:
        """What each run used and made, by run id (every run asked for: an empty ``RunIO`` for
        one that recorded nothing).

        Raises:
            RunNotFoundError: a run id names no run.
        """

    # -- registered models (Azure ML's model registry) -----------------------------------------
    # A model name has versions counted from 1. A version's files are blobs (``open_blob``) named
    # by a manifest that never changes: they are copies, so that a version outlives its run.

    @abc.abstractmethod
    def create_model_version(
        self, model: NewModelVersion, *, request_id: str | None = None
    ) -> ModelVersionInfo:
        """Register the next version of ``model.name`` (1 for a new name) and return it.

        Of concurrent registrations of one name, each gets its own version. A version's
        number is never given again, not even after it is deleted. The files are either
        ``model.files``, blobs stored already (``put_blob``), or the artifacts of the run
        ``model.run_id`` under ``model.run_path``: an artifact (a one-file model named by its
        file name) or a folder of them (named by the folder's name), whose bytes are copied
        into blobs.

        Args:
            request_id: a request id the store has applied already is ignored, so a retried
                request is applied exactly once: the version that request created is
                returned (as it is now).

        Raises:
            InvalidNameError: the name breaks Azure's rule (1 to 255 letters, digits, '-', '_',
                '.', starting with a letter or digit), or a file path is not relative.
            InvalidArgumentError: not exactly one of files and run path is given.
            LimitExceededError: a tag, property or the description is too long, or too many.
            RunNotFoundError: the run does not exist.
            ModelPathNotFoundError: the run has no artifact at or under ``run_path``.
            UserError: a file's blob is not stored (put_blob it, then register again), or the
                request id is not 1 to 128 printable ASCII characters.
            Nothing is registered then.
        """

    @abc.abstractmethod
    def get_model_version(self, name: str, version: int | None = None) -> ModelVersionInfo:
        """The version ``version`` of the model ``name``; its latest one when None.

        Raises:
            RegisteredModelNotFoundError: there is no such model or version.
            InvalidNameError, InvalidArgumentError: the name or version is malformed.
        """

    @abc.abstractmethod
    def search_model_versions(self, query: ModelVersionQuery) -> list[ModelVersionInfo]:
        """The versions ``query`` asks for, by name, then newest version first.

        Raises:
            InvalidNameError, InvalidArgumentError: a filter is malformed.
        """

    @abc.abstractmethod
    def set_model_version_tags(
        self, name: str, version: int, tags: Mapping[str, str], remove: Iterable[str] = ()
    ) -> ModelVersionInfo:
        """Merge ``tags`` into the version's tags, then drop the keys in ``remove`` (missing
        keys are ignored); return the version as it now is.

        Raises:
            RegisteredModelNotFoundError: there is no such version.
            InvalidNameError, LimitExceededError: a tag breaks its rules, or the version would
                hold more than 1,000 tags. Nothing is written then.
        """

    @abc.abstractmethod
    def add_model_version_properties(
        self, name: str, version: int, properties: Mapping[str, str]
    ) -> ModelVersionInfo:
        """Add properties, immutable once set (a key that exists with the same value is
        accepted); return the version as it now is.

        Raises:
            RegisteredModelNotFoundError: there is no such version.
            PropertyConflictError: a key exists with another value; nothing is written.
            InvalidNameError, LimitExceededError: a property breaks its rules, or too many.
        """

    @abc.abstractmethod
    def delete_model_version(self, name: str, version: int) -> None:
        """Delete the version with its file list. Its bytes stay in the workspace's blob store
        (content-addressed, shared with snapshots and other versions). The model's other
        versions keep their numbers.

        Raises:
            RegisteredModelNotFoundError: there is no such version.
        """

    @abc.abstractmethod
    def set_model_version_description(
        self, name: str, version: int, description: str | None
    ) -> ModelVersionInfo:
        """Replace the version's description (None or "" clears it); return the version.

        Raises:
            RegisteredModelNotFoundError: there is no such version.
            LimitExceededError: the description is too long.
        """

    # A model name of its own (MLflow's registered model): made by its first version or by
    # create_registered_model, with a description, tags and aliases (each naming a version).

    @abc.abstractmethod
    def create_registered_model(
        self, name: str, description: str | None = None, tags: Mapping[str, str] | None = None
    ) -> RegisteredModelInfo:
        """Make the model name ``name`` with no version yet (its versions count from 1).

        Raises:
            RegisteredModelExistsError: the name exists (with or without versions).
            InvalidNameError, LimitExceededError: the name, description or a tag breaks its
                rule. Nothing is written then.
        """

    @abc.abstractmethod
    def get_registered_model(self, name: str) -> RegisteredModelInfo:
        """The model name ``name``.

        Raises:
            RegisteredModelNotFoundError: there is none.
            InvalidNameError: the name is malformed.
        """

    @abc.abstractmethod
    def list_registered_models(self) -> list[RegisteredModelInfo]:
        """Every model name of the workspace, by name."""

    @abc.abstractmethod
    def update_registered_model(
        self, name: str, update: RegisteredModelUpdate
    ) -> RegisteredModelInfo:
        """Change the name's description, tags (merged, then ``remove_tags`` dropped) and
        aliases (set, then ``remove_aliases`` dropped; missing keys are ignored) at once;
        return the name as it now is.

        Raises:
            RegisteredModelNotFoundError: there is no such name, or an alias names a version
                it does not have.
            InvalidNameError, InvalidArgumentError, LimitExceededError: a field breaks its
                rule, or the name would hold more than 1,000 tags. Nothing is written then.
        """

    @abc.abstractmethod
    def delete_registered_model(self, name: str) -> None:
        """Delete the name with every version (as ``delete_model_version``), its tags and
        aliases. A name registered again afterwards counts its versions from 1 again.

        Raises:
            RegisteredModelNotFoundError: there is no such name.
        """

    # -- metrics -------------------------------------------------------------------------------

    @abc.abstractmethod
    def log_metrics(self, chunks: Sequence[MetricChunk], *, request_id: str | None = None) -> None:
        """Append every chunk to its series in one transaction (in the order given).

        A series is created by its first chunk, with that chunk's kind, value type and
        description.

        Args:
            request_id: a request id the store has applied already is ignored, so a retried
                request is applied exactly once (its points are not appended twice).

        Raises:
            RunNotFoundError: a chunk names a run that does not exist. Nothing is written.
            UserError: the request id is not 1 to 128 printable ASCII characters.
        """

    @abc.abstractmethod
    def list_metric_series(self, run_ids: Sequence[str]) -> list[MetricSeries]:
        """The summary of every series of these runs: count, min and max value, and the value,
        step and time of the last point logged (``MetricSeries``)."""

    @abc.abstractmethod
    def read_metrics(
        self, run_ids: Sequence[str], names: Sequence[str] | None = None
    ) -> list[MetricChunk]:
        """Every point of these runs' series (all, or only ``names``), in logging order: one
        chunk per series, with one step per point (None where a point has none)."""

    # -- logs ----------------------------------------------------------------------------------

    @abc.abstractmethod
    def append_log(
        self, run_id: str, name: str, data: bytes, *, request_id: str | None = None
    ) -> None:
        """Append bytes to the run's log ``name`` (e.g. ``user_logs/std_log.txt``).

        Args:
            request_id: a request id the store has applied already is ignored, so a retried
                request is applied exactly once (its bytes are not appended twice).

        Raises:
            UserError: the request id is not 1 to 128 printable ASCII characters.
        """

    @abc.abstractmethod
    def read_log(self, run_id: str, name: str, offset: int = 0) -> bytes:
        """The log's bytes from ``offset`` on (empty when there are none yet)."""

    @abc.abstractmethod
    def list_logs(self, run_id: str) -> dict[str, int]:
        """The run's logs: name to size in bytes, sorted by name."""

    # -- artifacts -----------------------------------------------------------------------------

    @abc.abstractmethod
    def put_artifact(self, run_id: str, path: str, source: BinaryIO) -> ArtifactInfo:
        """Store the bytes of ``source`` as the run's artifact ``path``.

        The artifact appears whole (listed, readable) when this returns, or never; a path is
        written once. While the bytes are read the path is reserved: another upload of it (or of
        a path that would make it both a file and a folder) is refused. An upload that makes
        no progress for ``settings.upload_stale_seconds()`` (300 s by default), or whose
        process is known to have ended (killed, crashed: a process of the machine that finds
        it), is abandoned: the next upload of the path takes it over and removes what it left,
        so a dead upload never blocks its path. An upload taken over while still alive fails
        when it resumes, and nothing of it is kept.

        Raises:
            InvalidNameError: the path is absolute, empty or climbs with ``..``.
            ArtifactExistsError: the path is already written (artifact paths are written once),
                a live upload holds it, or this upload was taken over.
        """

    def put_new_artifacts(self, run_id: str, files: Mapping[str, str | os.PathLike[str]]) -> None:
        """Store each local file of ``files`` (artifact path: file path) as the run's artifact
        at that path, unless the path is written already: such a path keeps what it holds.
        Safe to repeat, and for two processes uploading the same folder (``outputs/`` when a run
        ends): each path is written once.

        A store whose backend cannot be reached may keep the files and store them later, in
        order with the run's other changes: the HTTP store does so while its server is away,
        with copies of the files in its journal (the local files may go as soon as this returns).
        This default lists the run's artifacts, then calls ``put_artifact`` for the others.

        Raises:
            InvalidNameError: a path is absolute, empty or climbs with ``..`` (LimitExceededError:
                too long); nothing is written.
            RunNotFoundError: there is no such run; nothing is written.
            OSError: a file cannot be read (the files before it may be stored).
        """
        wanted = {check_new_artifact_path(path): Path(file) for path, file in files.items()}
        if not wanted:
            return
        prefix = os.path.commonpath(list(wanted))
        have = {a.path for a in self.list_artifacts(run_id, prefix or None)}
        for path, file in sorted(wanted.items()):
            if path in have:
                continue
            # Written meanwhile by another process ending the same run: it is there.
            with contextlib.suppress(ArtifactExistsError), file.open("rb") as source:
                self.put_artifact(run_id, path, source)

    @abc.abstractmethod
    def list_artifacts(self, run_id: str, prefix: str | None = None) -> list[ArtifactInfo]:
        """The run's artifacts (those under ``prefix`` when given), sorted by path."""

    @abc.abstractmethod
    def open_artifact(self, run_id: str, path: str) -> BinaryIO:
        """A binary stream of the artifact; the caller closes it.

        Raises:
            ArtifactNotFoundError: the run has no such artifact.
        """

    # -- snapshots (content-addressed) -----------------------------------------------------------

    @abc.abstractmethod
    def missing_blobs(self, digests: Iterable[str]) -> set[str]:
        """Which of these sha256 digests the store does not hold yet."""

    @abc.abstractmethod
    def put_blob(self, digest: str, source: BinaryIO) -> None:
        """Store a blob under its sha256 digest.

        Raises:
            UserError: the content does not hash to ``digest``.
        """

    @abc.abstractmethod
    def open_blob(self, digest: str) -> BinaryIO:
        """A binary stream of the blob; raises SnapshotNotFoundError if it is missing."""

    @abc.abstractmethod
    def create_snapshot(self, snapshot_id: str, files: Sequence[SnapshotFile]) -> None:
        """Record a snapshot's manifest; every blob it names must be stored already."""

    @abc.abstractmethod
    def get_snapshot(self, snapshot_id: str) -> list[SnapshotFile]:
        """The snapshot's manifest, sorted by path; raises SnapshotNotFoundError."""

    # -- lifecycle -----------------------------------------------------------------------------

    # -- environments (Azure ML's Environment.register / get / list) -----------------------------

    @abc.abstractmethod
    def register_environment(self, name: str, definition: Mapping[str, Any]) -> EnvironmentInfo:
        """Register ``definition`` (a JSON object) as the next version of the environment
        ``name``: "1" for a new name, then "2", "3"... When it equals the latest version's
        definition, nothing is written and that version is returned (so a retry registers once).

        Raises:
            InvalidNameError: the name is not 1 to 255 printable characters without '/'.
            InvalidArgumentError: the definition is not a JSON object.
            LimitExceededError: the definition's JSON is over 100,000 characters.
        """

    @abc.abstractmethod
    def get_environment(self, name: str, version: str | None = None) -> EnvironmentInfo:
        """The environment ``name`` at ``version`` (None: its latest).

        Raises:
            EnvironmentNotFoundError: no such name, or no such version of it.
        """

    @abc.abstractmethod
    def list_environments(self, name: str | None = None) -> list[EnvironmentInfo]:
        """Without ``name``: the latest version of every environment, by name. With it: every
        version of that environment, newest first (none: an empty list)."""

    # -- compute targets (Azure ML's ComputeTarget.attach / ws.compute_targets / detach) --------

    @abc.abstractmethod
    def attach_compute(self, name: str, kind: str, config: Mapping[str, Any]) -> ComputeTargetInfo:
        """Attach the compute target ``name`` of ``kind`` (``ray``) with ``config`` (a JSON
        object, the runner's settings). The same name, kind and config again: nothing is
        written, the target is returned (a retry attaches once).

        Raises:
            InvalidNameError: the name is not 1 to 64 letters, digits, '-' or '_' starting with
                a letter, or is ``local``.
            InvalidArgumentError: an unknown kind, a config that is not a JSON object, or
                one the kind's runner cannot use (``ray``: ``address``, an http(s) URL).
            LimitExceededError: the config's JSON is over 10,000 characters.
            ComputeTargetExistsError: the name is attached already with another kind or config.
        """

    @abc.abstractmethod
    def get_compute(self, name: str) -> ComputeTargetInfo:
        """The attached compute target ``name``.

        Raises:
            ComputeTargetNotFoundError: none of that name.
        """

    @abc.abstractmethod
    def list_compute(self) -> list[ComputeTargetInfo]:
        """The attached compute targets, by name (``local`` is not stored: it always exists)."""

    @abc.abstractmethod
    def detach_compute(self, name: str) -> None:
        """Detach the compute target ``name`` (its runs stay, with their target's name).

        Raises:
            ComputeTargetNotFoundError: none of that name.
        """

    def close(self) -> None:  # noqa: B027 - optional hook: stores without resources keep it
        """Release connections and files; the store is unusable after."""
