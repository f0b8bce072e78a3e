"""Experiment: a named group of runs in a workspace."""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.capture.error import format_time
from runyard.entities import ExperimentInfo, RunLifecycle, RunQuery, RunStatus, ViewType
from runyard.errors import InvalidArgumentError
from runyard.limits import check_experiment_name
from runyard.runners.submission import ScriptSubmission
from runyard.sdk.display import render_experiment
from runyard.sdk.filters import (
    checked_query,
    key_filters,
    parse_status,
    tag_values,
    with_lifecycle,
)
from runyard.sdk.queries import runs_dataframe, search
from runyard.sdk.run import Run
from runyard.sdk.script_run import ScriptRun
from runyard.sdk.script_run_config import ScriptRunConfig

if TYPE_CHECKING:
    import pandas

    from runyard.sdk.workspace import Workspace


class Experiment:
    """A named group of runs. ``Experiment(workspace, name)`` gets it, creating it if needed."""

    def __init__(self, workspace: Workspace, name: str, **kwargs: Any) -> None:
        """Get or create the experiment ``name``.

        Raises:
            InvalidNameError: the name is not 1-255 letters, digits, '-' or '_' starting with a
                letter or digit.
        """
        check_experiment_name(name)
        self._workspace = workspace
        info: ExperimentInfo | None = kwargs.get("_info")
        self._info = info or workspace.store.get_or_create_experiment(name)

    @property
    def workspace(self) -> Workspace:
        return self._workspace

    @property
    def name(self) -> str:
        return self._info.name

    @property
    def id(self) -> str:
        return self._info.experiment_id

    @property
    def archived_time(self) -> str | None:
        return format_time(self._info.archived_time)

    @property
    def tags(self) -> dict[str, str | None]:
        return dict(self._info.tags)

    # -- runs ----------------------------------------------------------------------------------

    def start_logging(self, *args: Any, **kwargs: Any) -> Run:
        """Start an interactive run (status Running) and return it.

        Keyword Args:
            display_name, description, tags: set on the run.
            outputs: the folder uploaded as ``outputs/`` when the run ends (default ``./outputs``,
                created now; False for none).
            snapshot_directory: the folder snapshotted with the run (default ``.``; None for none).
            run_id: an explicit id (default: a new uuid4).
        """
        return Run._start_logging(self, *args, **kwargs)

    def get_runs(
        self,
        type: str | None = None,
        tags: str | Mapping[str, Any] | None = None,
        properties: str | Mapping[str, Any] | None = None,
        include_children: bool = False,
        status: str | RunStatus | None = None,
        *,
        filter: str | None = None,
        order_by: str | Sequence[str] | None = None,
        lifecycle: str | RunLifecycle = RunLifecycle.ACTIVE,
    ) -> Iterator[Run]:
        """The experiment's runs, lazily, filtered and sorted in the store (newest first unless
        ``order_by`` says otherwise).

        ``tags`` (and ``properties``) as a string keeps runs that have that key; as a dict, runs
        whose values equal the given ones (None matches a value-less tag). ``filter`` is a query
        such as ``"metrics.acc > 0.9 and (tags.lr = '0.01' or properties.author = 'ann')"``
        and ``order_by`` a list of keys such as ``["metrics.acc DESC"]`` (docs/api.md has the
        grammar). All filters are ANDed. Children are left out unless ``include_children``;
        when a filtered search finds no top-level run but child runs match, a
        ``ChildRunsMatchWarning`` says so. Deleted runs (``Run.delete``) are left out unless
        ``lifecycle`` is ``"deleted"`` (only them) or ``"all"``.

        Raises:
            InvalidArgumentError: a filter of an unknown type, or a ``lifecycle`` other than
                ``"active"``, ``"deleted"`` and ``"all"``.
            InvalidQueryError: ``filter`` or ``order_by`` does not parse (raised at the call).
        """
        query = self._query(type, tags, properties, include_children, status, filter, order_by)
        return search(self._workspace, with_lifecycle(query, lifecycle), self)

    def get_runs_dataframe(
        self,
        filter: str | None = None,
        order_by: str | Sequence[str] | None = None,
        include_children: bool = False,
        tags: str | Mapping[str, Any] | None = None,
        properties: str | Mapping[str, Any] | None = None,
        status: str | RunStatus | None = None,
        type: str | None = None,
        lifecycle: str | RunLifecycle = RunLifecycle.ACTIVE,
    ) -> pandas.DataFrame:
        """The runs ``get_runs`` would find, as a pandas DataFrame with one row per run.

        Columns: ``run_id``, ``experiment_name``, ``number``, ``display_name``, ``status``,
        ``run_type``, ``parent_run_id``, ``created_time``, ``start_time``, ``end_time`` (UTC
        timestamps), ``duration`` (seconds), ``deleted_time`` (UTC; NaT for a run not
        deleted), then ``tags.KEY``, ``properties.KEY`` and, for each metric, ``metrics.NAME``
        (its last value), ``metrics.NAME.min`` and ``metrics.NAME.max``.

        Raises:
            MissingExtraError: pandas is not installed (``pip install 'runyard[pandas]'``).
            InvalidArgumentError: a ``lifecycle`` other than ``"active"``, ``"deleted"`` and
                ``"all"``.
            InvalidQueryError: ``filter`` or ``order_by`` does not parse.
        """
        query = self._query(type, tags, properties, include_children, status, filter, order_by)
        return runs_dataframe(self._workspace, with_lifecycle(query, lifecycle))

    def _query(
        self,
        run_type: str | None,
        tags: str | Mapping[str, Any] | None,
        properties: str | Mapping[str, Any] | None,
        include_children: bool,
        status: str | RunStatus | None,
        filter: str | None,
        order_by: str | Sequence[str] | None,
    ) -> RunQuery:
        base = RunQuery(
            experiment_name=self.name,
            tags=key_filters("tags", tags),
            properties=key_filters("properties", properties),
            status=parse_status(status),
            run_type=run_type,
            include_children=include_children,
        )
        return checked_query(base, filter, order_by)

    def submit(
        self, config: ScriptRunConfig, tags: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> ScriptRun:
        """Submit a script to run on its compute target; return its run at once: Running when a
        slot of the target was free, Queued when its queue is full.

        The source folder is snapshotted (honouring ``.runyardignore``, else ``.amlignore``,
        else ``.gitignore``) and the script runs in a working copy of it, under a supervisor
        process that outlives this one.

        Raises:
            InvalidArgumentError: ``config`` is not a ScriptRunConfig.
            SnapshotError: the source folder is over the submit limits.
            UserError: an unknown compute target.
            ComputeTargetError: the target cannot take the run (a Ray cluster that cannot be
                reached, or resources it can never give).
        """
        # Not at the top, for import cost only: the runners (subprocess, ctypes, the supervisor)
        # load on the first submit, not with ``import runyard``.
        from runyard.runners.targets import runner_for

        if not isinstance(config, ScriptRunConfig):
            raise InvalidArgumentError(
                f"submit needs a ScriptRunConfig, got {type(config).__name__}."
            )
        runner = runner_for(config.run_config.target, self._workspace.store)
        submission = ScriptSubmission(
            experiment_name=self.name,
            source_directory=Path(config.source_directory).resolve(),
            tags=tag_values(tags or {}),
            script=config.relative_script(),  # checked again: the folder may have changed
            run_definition=config.run_config.to_definition(),
            parent_run_id=kwargs.get("_parent_run_id"),
            run_id=kwargs.get("run_id"),
        )
        workspace = self._workspace
        info = runner.submit(
            workspace.store, workspace.tracking, workspace.artifact_root, submission
        )
        return ScriptRun(self, info.run_id, _info=info)

    # -- lifecycle -----------------------------------------------------------------------------

    @staticmethod
    def list(
        workspace: Workspace,
        experiment_name: str | None = None,
        view_type: str | ViewType = ViewType.ACTIVE_ONLY,
        tags: str | Mapping[str, Any] | None = None,
    ) -> builtins.list[Experiment]:
        """Experiments of the workspace, by name (``view_type``: ActiveOnly, ArchivedOnly, All)."""
        try:
            view = ViewType(view_type)
        except ValueError:
            raise InvalidArgumentError(
                f"Unknown view_type {view_type!r}; use one of "
                f"{', '.join(v.value for v in ViewType)}."
            ) from None
        infos = workspace.store.list_experiments(view, experiment_name)
        filters = key_filters("tags", tags)
        found = []
        for info in infos:
            if all(
                f.key in info.tags and (not f.match_value or info.tags[f.key] == f.value)
                for f in filters
            ):
                found.append(Experiment(workspace, info.name, _info=info))
        return found

    def archive(self) -> None:
        """Hide the experiment from default listings (its runs stay)."""
        self._info = self._workspace.store.set_experiment_archived(self.name, True)

    def reactivate(self, new_name: str | None = None) -> None:
        """Undo ``archive``; with ``new_name``, rename it too (as ``rename``: first, so that a
        taken name leaves it archived).

        Raises:
            InvalidNameError, ExperimentExistsError: ``new_name`` is invalid or taken.
        """
        if new_name is not None:
            self.rename(new_name)
        self._info = self._workspace.store.set_experiment_archived(self.name, False)

    @staticmethod
    def delete(workspace: Workspace, experiment_id: str) -> None:
        """Delete the experiment of id ``experiment_id``. As Azure ML's service, only an
        experiment without runs is deleted (its runs' data is never removed with it);
        ``archive()`` hides one that has runs.

        Raises:
            ExperimentNotFoundError: the workspace has no experiment of that id.
            ExperimentNotEmptyError: it has runs (deleted runs count: they can be restored).
        """
        workspace.store.delete_experiment(experiment_id)

    def tag(self, key: str, value: Any = None) -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._info = self._workspace.store.set_experiment_tags(self.name, tag_values(tags))

    def remove_tags(self, tags: builtins.list[str] | str) -> None:
        keys = [tags] if isinstance(tags, str) else list(tags)
        self._info = self._workspace.store.set_experiment_tags(self.name, {}, remove=keys)

    def rename(self, new_name: str) -> None:
        """Rename the experiment; this object then has the new name (``name``).

        The experiment keeps its id, runs, tags and archive state; its runs are found under the
        new name at once, and ``Experiment(workspace, old_name)`` would create a new, empty one.
        Other ``Experiment`` objects of it (in this or another process) keep the old name until
        their ``refresh()``; meanwhile, calls through them look the old name up, and the runs
        they start go to a new experiment of the old name.

        Raises:
            InvalidNameError: ``new_name`` breaks the experiment naming rule.
            ExperimentExistsError: another experiment (archived or not) is named ``new_name``.
            ExperimentNotFoundError: the experiment was renamed elsewhere; ``refresh()`` first.
        """
        self._info = self._workspace.store.rename_experiment(self.name, new_name)

    def refresh(self) -> None:
        """Read the experiment again, by id (so a rename made elsewhere is seen)."""
        self._info = self._workspace.store.get_experiment_by_id(self.id)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Experiment) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"Experiment(Name: {self.name},\nWorkspace: {self._workspace.name})"

    def _repr_html_(self) -> str:
        """The experiment in a Jupyter notebook: its name, workspace, a link to it in the UI."""
        return render_experiment(self)
