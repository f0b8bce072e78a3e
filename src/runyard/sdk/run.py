"""Run: one execution of training code, with its status, metrics, tags, properties and files.

This module is the core of a run: attaching to one (``Run.__new__``, ``run_from_info``,
``iterate_runs``), creating runs, its identity, status and lifecycle (start, complete, fail,
cancel, the with-block), deleting. Its other calls come from one base class per concern:
``TagCalls`` (sdk/run_tags.py), ``MetricCalls`` (sdk/run_metrics.py), ``FileCalls``
(sdk/run_files.py: artifacts and snapshots) and ``ChildCalls`` (sdk/run_children.py).
"""

from __future__ import annotations

import builtins
import dataclasses
import getpass
import os
import time
import uuid
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from runyard.capture import snapshot
from runyard.capture.error import build_error
from runyard.capture.git import git_properties
from runyard.entities import COMPUTE_TARGET_PROPERTY, NewRun, RunInfo, RunQuery, RunStatus, RunType
from runyard.errors import RunAlreadyEndedWarning, RunNotFoundError, UserError
from runyard.runners.liveness import sweep_dead_runs
from runyard.sdk import lifetime, waiting
from runyard.sdk.details import detailed_status, run_details
from runyard.sdk.display import run_ui_url
from runyard.sdk.environment import Environment
from runyard.sdk.files import RunFiles
from runyard.sdk.filters import tag_values
from runyard.sdk.metrics import MetricLogger
from runyard.sdk.run_children import ChildCalls, ChildSpec
from runyard.sdk.run_files import FileCalls
from runyard.sdk.run_metrics import MetricCalls
from runyard.sdk.run_tags import TagCalls
from runyard.sdk.tee import OutputTee

if TYPE_CHECKING:
    from runyard.sdk.experiment import Experiment
    from runyard.sdk.model import Model
    from runyard.sdk.workspace import Workspace

OUTPUTS = "outputs"


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


def run_from_info(
    workspace: Workspace, info: RunInfo, experiments: dict[str, Experiment] | None = None
) -> Run:
    """A Run object for a stored run (``experiments`` caches Experiment objects by id).

    The experiment is looked up by id, never created: one renamed since ``info`` was read is
    found under its new name (by name, the old one would make a new, empty experiment)."""
    # It imports this module: a Run makes Experiments, so it comes late.
    from runyard.sdk.experiment import Experiment

    cache = experiments if experiments is not None else {}
    experiment = cache.get(info.experiment_id)
    if experiment is None:
        found = workspace.store.get_experiment_by_id(info.experiment_id)
        experiment = cache[info.experiment_id] = Experiment(workspace, found.name, _info=found)
    return Run(experiment, info.run_id, _info=info)  # a ScriptRun for a script run


def iterate_runs(
    workspace: Workspace, query: RunQuery, experiment: Experiment | None = None
) -> Iterator[Run]:
    """Every run matching ``query``, page by page, as Run objects (lazily)."""
    token: str | None = None
    experiments: dict[str, Experiment] = {}
    if experiment is not None:
        experiments[experiment.id] = experiment
    sweep_dead_runs(workspace.store)  # a dead run is not listed as Running
    while True:
        page = workspace.store.search_runs(dataclasses.replace(query, page_token=token))
        for info in page.runs:
            yield run_from_info(workspace, info, experiments)
        token = page.next_page_token
        if token is None:
            return


class Run(TagCalls, MetricCalls, FileCalls, ChildCalls):
    """A run of an experiment.

    ``experiment.start_logging()`` starts one; ``Run(experiment, run_id)`` or
    ``Run.get(workspace, run_id)`` attaches to an existing one. However it is obtained, the
    object of a submitted script's run is a ``ScriptRun`` (``Run(experiment, run_id)`` too),
    so the same run behaves the same through any of them.
    """

    _prefetched: RunInfo | None = None

    def __new__(cls, *args: Any, **kwargs: Any) -> Run:
        """A ``ScriptRun`` for a submitted script's run when ``Run`` itself is called."""
        experiment = kwargs.get("experiment", args[0] if args else None)
        run_id = kwargs.get("run_id", args[1] if len(args) > 1 else None)
        if cls is not Run or experiment is None or run_id is None:
            return super().__new__(cls)  # __init__ says what is missing
        info: RunInfo = kwargs.get("_info") or experiment.workspace.store.get_run(run_id)
        # It imports this module (a ScriptRun is a Run), so it comes late.
        from runyard.sdk.script_run import ScriptRun

        run = super().__new__(ScriptRun if info.run_type == RunType.SCRIPT else Run)
        run._prefetched = info  # read once: __init__ takes it
        return run

    def __init__(
        self, experiment: Experiment, run_id: str, outputs: str | None = None, **kwargs: Any
    ) -> None:
        """Attach to the run ``run_id`` of ``experiment``.

        Raises:
            RunNotFoundError: the experiment has no such run.
        """
        self._experiment = experiment
        self._store = experiment.workspace.store
        info: RunInfo = kwargs.get("_info") or self._prefetched or self._store.get_run(run_id)
        self._prefetched = None
        if info.experiment_id != experiment.id:  # by id: an experiment's name may change
            raise RunNotFoundError(
                f"Run {run_id!r} belongs to experiment {info.experiment_name!r}, not "
                f"{experiment.name!r}. Use Run.get(workspace, run_id) to find it anywhere."
            )
        self._info = info
        self._outputs: Path | None = Path(outputs).resolve() if outputs else None
        self._metrics = MetricLogger(self, new_run=bool(kwargs.get("_new")))
        self._files = RunFiles(self._store, info.run_id)
        self._parent: Run | None = None
        self._tees: list[OutputTee] = []  # of open with-blocks: they copy output to the log

    # -- creating ------------------------------------------------------------------------------

    @classmethod
    def get(cls, workspace: Workspace, run_id: str) -> Run:
        """The run ``run_id`` of any experiment of ``workspace``.

        Raises:
            RunNotFoundError: there is none.
        """
        return run_from_info(workspace, workspace.store.get_run(run_id))

    @staticmethod
    def list(
        experiment: Experiment,
        type: str | None = None,
        tags: str | Mapping[str, Any] | None = None,
        properties: str | Mapping[str, Any] | None = None,
        status: str | RunStatus | None = None,
        include_children: bool = False,
        **kwargs: Any,
    ) -> Iterator[Run]:
        """The runs of ``experiment``, lazily, newest first: ``experiment.get_runs`` with a
        ``status`` filter (only top-level runs unless ``include_children``). Keyword arguments
        ``filter``, ``order_by`` and ``lifecycle`` are passed on.

        Raises:
            InvalidFilterTypeError: ``tags`` or ``properties`` is neither a str nor a dict (a
                ValueError, "Unknown filter type for run tags: <type> ...").
            InvalidArgumentError: an unknown status.
        """
        return experiment.get_runs(
            type=type,
            tags=tags,
            properties=properties,
            include_children=include_children,
            status=status,
            **kwargs,
        )

    @staticmethod
    def get_submitted_run(**kwargs: Any) -> Any:
        """Azure's deprecated name of ``Run.get_context()``."""
        return Run.get_context(**kwargs)

    @staticmethod
    def get_context(allow_offline: bool = True, **_: Any) -> Any:
        """The run of the submitted script this process runs (the same object every call).

        Outside a submitted run: an offline run that prints what it would log, or, with
        ``allow_offline=False``, RunEnvironmentError.
        """
        from runyard.sdk.context import (
            get_context,  # it imports this module: a SubmittedRun is a Run
        )

        return get_context(allow_offline)

    @classmethod
    def _start_logging(
        cls,
        experiment: Experiment,
        *,
        outputs: Any = None,
        snapshot_directory: str | os.PathLike[str] | None = ".",
        run_id: str | None = None,
        display_name: str | None = None,
        description: str | None = None,
        tags: Mapping[str, Any] | None = None,
        name: str | None = None,
        **_: Any,
    ) -> Run:
        lifetime.prepare(experiment.workspace)
        outputs_dir = _outputs_dir(outputs)
        properties: dict[str, str] = {COMPUTE_TARGET_PROPERTY: "local"}
        if snapshot_directory:
            properties.update(git_properties(snapshot_directory))
            properties["ContentSnapshotId"] = snapshot.take_snapshot(
                experiment.workspace.store, snapshot_directory
            )
        new = NewRun(
            run_id=run_id or str(uuid.uuid4()),
            experiment_name=experiment.name,
            status=RunStatus.RUNNING,
            display_name=display_name or name,
            description=description,
            tags=tag_values(tags or {}),
            properties=properties,
            submitted_by=_user(),
        )
        info = experiment.workspace.store.create_runs([new], heartbeat=True)[0]
        run = cls(experiment, info.run_id, outputs=outputs_dir, _info=info, _new=True)
        lifetime.adopt(run, heartbeaten=True)
        return run

    def _create_children(
        self, specs: builtins.list[ChildSpec], outputs: str | None
    ) -> builtins.list[Run]:
        """Create and start children of this run in one store transaction (``child_run`` and
        ``create_children`` of ChildCalls check their arguments, then call this)."""
        lifetime.prepare(self._experiment.workspace)
        news = [
            NewRun(
                run_id=run_id or str(uuid.uuid4()),
                experiment_name=self._experiment.name,
                parent_run_id=self.id,
                status=RunStatus.RUNNING,
                display_name=name,
                target=self._info.target,
                tags=tags,
                submitted_by=self._info.submitted_by,
            )
            for run_id, name, tags in specs
        ]
        infos = self._store.create_runs(news, heartbeat=True)
        children = []
        for info in infos:
            child = Run(
                self._experiment,
                info.run_id,
                outputs=str(_outputs_dir(outputs)) if outputs else None,
                _info=info,
                _new=True,
            )
            child._parent = self
            lifetime.adopt(child, heartbeaten=True)
            children.append(child)
        return children

    def _runs(self, query: RunQuery) -> Iterator[Run]:
        """The stored runs matching ``query``, as Run objects of this run's experiment (how
        ``get_children`` reads them)."""
        return iterate_runs(self._experiment.workspace, query, self._experiment)

    # -- identity ------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self._info.run_id

    @property
    def number(self) -> int:
        """The run's number within its experiment (1, 2, ...)."""
        return self._info.number

    @property
    def experiment(self) -> Experiment:
        return self._experiment

    @property
    def name(self) -> str:
        """Deprecated in Azure ML (use ``display_name``): the display name, else
        ``run_<id>``."""
        return self._info.display_name or f"run_{self.id}"

    @property
    def type(self) -> str | None:
        return self._info.run_type

    @property
    def display_name(self) -> str | None:
        return self._info.display_name

    @display_name.setter
    def display_name(self, value: str | None) -> None:
        self._info = self._store.update_run(self.id, display_name=value)

    @property
    def description(self) -> str | None:
        return self._info.description

    @description.setter
    def description(self, value: str | None) -> None:
        self._info = self._store.update_run(self.id, description=value)

    @property
    def parent(self) -> Run | None:
        """The parent run (None for a top-level run)."""
        if self._info.parent_run_id is None:
            return None
        if self._parent is None:
            self._parent = Run.get(self._experiment.workspace, self._info.parent_run_id)
        return self._parent

    @property
    def status(self) -> str:
        """The status as last read (``get_status()`` re-reads)."""
        return self._info.status.value

    @property
    def tags(self) -> dict[str, str | None]:
        """The tags as last read (``get_tags()`` re-reads)."""
        return dict(self._info.tags)

    @property
    def properties(self) -> dict[str, str]:
        """The properties as last read (``get_properties()`` re-reads)."""
        return dict(self._info.properties)

    def _refresh(self) -> RunInfo:
        info = self._store.get_run(self.id)
        if sweep_dead_runs(self._store, info):  # it looked dead: read what the store made of it
            info = self._store.get_run(self.id)
        self._info = info
        return info

    # -- status --------------------------------------------------------------------------------

    def get_status(self) -> str:
        """The run's status name, e.g. ``"Running"`` (re-read unless already terminal)."""
        if not self._info.status.is_terminal:
            self._refresh()
        return self._info.status.value

    def get_detailed_status(self) -> dict[str, Any]:
        """The status, re-read, with why a run waits or how it failed: ``{"status": "Queued",
        "details": "..."}`` (``details`` None when there is nothing to add), as Azure's."""
        return detailed_status(self._refresh())

    def get_environment(self) -> Environment:
        """The environment a submitted script ran with (from its run definition).

        Raises:
            UserError: the run has no run definition (an interactive run runs in the process
                that started it, with that process's interpreter).
        """
        definition = self._refresh().run_definition or {}
        if not definition.get("environment"):
            raise UserError(
                f"Run {self.id} has no environment definition: only runs submitted with "
                "Experiment.submit have one; an interactive run uses the interpreter of the "
                "process that started it."
            )
        return Environment._deserialize(definition["environment"])

    def get_details(self) -> dict[str, Any]:
        """Run details with Azure's camelCase keys (keys without a value are left out), with
        ``logFiles`` naming the run's logs."""
        return run_details(self._refresh(), self._log_files())

    def _log_files(self) -> dict[str, str]:
        """The run's logs by name, with the address each is read at."""
        names = sorted(self._store.list_logs(self.id))
        return {name: f"runyard://logs/{self.id}/{name}" for name in names}

    def get_details_with_logs(self) -> dict[str, Any]:
        """``get_details()`` with each log's content in place of its address."""
        return waiting.details_with_logs(self)

    def get_all_logs(self, destination: str | os.PathLike[str] | None = None) -> builtins.list[str]:
        """Download the run's logs into ``destination`` (default: a folder named as the run id
        in the current directory), keeping their folders; return the paths written."""
        return waiting.download_logs(self, None if destination is None else Path(destination))

    def wait_for_completion(
        self,
        show_output: bool = False,
        wait_post_processing: bool = False,
        raise_on_error: bool = True,
        file: IO[str] | None = None,
    ) -> dict[str, Any]:
        """Wait for the run to end; with ``show_output``, stream its log as it is written
        (the script's output of a submitted run; the log of an interactive run, once it has
        one) and print a summary. Works on any run object, from any process.

        Returns ``get_details()``. Unlike Azure ML, which returns at Finalizing unless
        ``wait_post_processing``, this always waits for the final status: a local run's
        post-processing (uploading ``outputs/``, stopping its processes) is short, and only the
        final status says whether the run failed.

        Raises:
            ActivityFailedError: the run Failed (unless ``raise_on_error=False``).
        """
        return waiting.wait_for_completion(
            self, show_output, wait_post_processing, raise_on_error, file
        )

    def clean(self) -> builtins.list[str]:
        """Remove the files of the run on its compute target; return the paths removed. An
        interactive run has none there (its files are where its code put them): [] (a
        submitted script's run removes its working copy, ``ScriptRun.clean``)."""
        return []

    def start(self) -> None:
        """Mark a NotStarted run Running."""
        self._info = self._store.set_run_status(self.id, RunStatus.RUNNING)

    def flush(self, timeout_seconds: float = 300) -> None:
        """Wait until every metric logged so far is in the store."""
        self._experiment.workspace.flush(timeout_seconds)

    def _finish(
        self, status: RunStatus, error: Mapping[str, Any] | None = None, *, warn: bool = True
    ) -> None:
        ended = self._info.status if self._info.status.is_terminal else None
        self.flush()
        self._upload_outputs()
        self._info = self._store.set_run_status(self.id, status, error)
        lifetime.release(self)
        if warn:
            self._warn_if_ended(ended, status)

    def _warn_if_ended(self, ended: RunStatus | None, status: RunStatus) -> None:
        """Warn that a call meant to end the run as ``status`` changed nothing, if the run had
        ``ended`` before it (as this object knew), or the store shows it ended otherwise."""
        now = self._info.status
        if ended is None and now is not status and now.is_terminal:
            ended = now  # ended elsewhere meanwhile (another object or process)
        if ended is not None:
            call = {RunStatus.COMPLETED: "complete", RunStatus.FAILED: "fail"}.get(status, "cancel")
            warnings.warn(
                RunAlreadyEndedWarning(
                    f"Run {self.id} had already ended as {ended.value}: {call}() changed nothing "
                    "(a final status never changes, and its first error stands)."
                ),
                stacklevel=4,
            )

    def _end_owned(self, failure: BaseException | None) -> None:
        """End this run, which this process owns and which is still open at exit (or at
        ``Workspace.close()``): Failed with ``failure`` if given, else Completed."""
        if self._info.status.is_terminal:
            lifetime.release(self)
        elif failure is None:
            self._finish(RunStatus.COMPLETED, warn=False)
        else:
            self._finish(RunStatus.FAILED, build_error(failure, None, time.time()), warn=False)

    def complete(self, _set_status: bool = True) -> None:
        """Flush metrics, upload ``outputs/``, mark Completed.

        On a run that has already ended, the status stays as it is, and a
        ``RunAlreadyEndedWarning`` says so (the same for ``fail`` and ``cancel``)."""
        if _set_status:
            self._finish(RunStatus.COMPLETED)
        else:
            self.flush()
            self._upload_outputs()

    def fail(self, error_details: Any = None, error_code: str | None = None, **_: Any) -> None:
        """Record an error and mark the run Failed (a run that has already ended keeps its
        status and error, with a ``RunAlreadyEndedWarning``).

        Args:
            error_details: a message or an exception ("User program failed with T: msg").
            error_code: the error's code (default "UserError").

        Raises:
            InvalidArgumentError: error_details is neither a string nor an exception.
        """
        self._finish(RunStatus.FAILED, build_error(error_details, error_code, time.time()))

    def cancel(self) -> None:
        """Mark the run Canceled (a run that has already ended warns and stays as it is)."""
        self._finish(RunStatus.CANCELED)

    def __enter__(self) -> Run:
        self._tees.append(OutputTee(self._store, self.id).start())  # logs/user_log.txt
        return self

    def __exit__(
        self,
        exc_type: builtins.type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if self._tees:
            self._tees.pop().stop()  # the streams are back before the run ends, as in Azure
        ended = self._info.status.is_terminal  # ended in the block: nothing left to record
        if isinstance(exc, SystemExit) and exc.code in (0, None):
            self.flush()
            self._upload_outputs()
            return True  # as in Azure ML: sys.exit(0) in the block leaves the status alone
        if ended:
            self._finish(self._info.status, warn=False)
        elif exc is None:
            self.complete()
        else:
            self.fail(exc)
        return False

    def _upload_outputs(self) -> None:
        if self._outputs is not None:
            self._files.upload_new(OUTPUTS, self._outputs)

    # -- deleting ------------------------------------------------------------------------------

    @property
    def deleted_time(self) -> float | None:
        """When the run was deleted (POSIX seconds, UTC), None while it is not; read from the
        store at each access."""
        self._info = self._store.get_run(self.id)
        return self._info.deleted_time

    def delete(self) -> None:
        """Delete the run: searches (``Experiment.get_runs``, ``get_children``, the CLI's and
        the UI's listings) leave it out unless they ask for deleted runs (``lifecycle``).

        Nothing of the run is removed (metrics, tags, properties, files, logs, children), so
        ``restore()`` brings it back whole; ``Run.get`` still finds it. Its status does not
        change (a running run goes on logging), and its children are not deleted with it.
        Deleting a deleted run changes nothing.

        Raises:
            RunNotFoundError: the run is not in the store any more.
        """
        self._info = self._store.set_run_deleted(self.id, True)

    def restore(self) -> None:
        """Undo ``delete()``: the run is listed again, as it was. A run that is not deleted
        stays as it is.

        Raises:
            RunNotFoundError: the run is not in the store any more.
        """
        self._info = self._store.set_run_deleted(self.id, False)

    # -- registered models (logic: sdk/model.py) ------------------------------------------------

    def register_model(
        self,
        model_name: str,
        model_path: str | None = None,
        tags: Mapping[str, Any] | None = None,
        properties: Mapping[str, Any] | None = None,
        description: str | None = None,
        **_: Any,
    ) -> Model:
        """Register the run's artifact ``model_path`` (a file, or a folder's prefix; default:
        the model name) as the next version of ``model_name``; return the ``Model``. Files of
        ``./outputs`` not uploaded yet are uploaded first.

        Raises:
            ModelPathNotFoundError: the run has no artifact at or under ``model_path``.
            InvalidNameError: the name breaks Azure's rule for model names.
        """
        from runyard.sdk.model import register_from_run  # it imports this module

        self._upload_outputs()
        return register_from_run(self, model_name, model_path, tags, properties, description)

    def get_models(self) -> builtins.list[Model]:
        """The registered model versions this run made (``Model.list(ws, run_id=run.id)``)."""
        from runyard.sdk.model import Model  # it imports this module

        return Model.list(self._experiment.workspace, run_id=self.id)

    # -- display -------------------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return (
            f"Run(Experiment: {self._experiment.name},\nId: {self.id},\nType: {self.type},\n"
            f"Status: {self.status})"
        )

    def __str__(self) -> str:
        return repr(self)

    def get_portal_url(self) -> str | None:
        """The run's page in runyard's web UI (Azure's portal link), or None when no UI is known
        to serve this workspace (a tracking server's, or the setting ``UI_URL_ENV``)."""
        return run_ui_url(self._experiment.workspace.tracking, self.id)

    def _repr_html_(self) -> str:
        """The run in a Jupyter notebook: ids, status badge, a link to its page in the web UI."""
        from runyard.sdk.display import render_run  # the one display call of this class

        return render_run(self)


def _outputs_dir(outputs: Any) -> str | None:
    """``outputs`` of start_logging: True/None gives ./outputs, False none; created now."""
    if outputs is False:
        return None
    folder = Path(OUTPUTS if outputs in (None, True) else outputs).resolve()
    if not folder.is_dir():  # there already for every run but the first
        folder.mkdir(parents=True, exist_ok=True)
    return str(folder)
