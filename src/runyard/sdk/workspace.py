"""Workspace: where a user's experiments live, found from a config file or a tracking URI."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.errors import WorkspaceConfigError
from runyard.sdk import compute, lifetime
from runyard.sdk.compute import ComputeTarget, RayCluster
from runyard.sdk.display import render_workspace
from runyard.sdk.environment import Environment
from runyard.sdk.experiment import Experiment
from runyard.sdk.locate import (
    CONFIG_DIR,
    CONFIG_FILE,
    azure_project_folder,
    find_azure_config,
    find_config,
    is_azure_config,
    new_workspace_folder,
)
from runyard.settings import (
    ARTIFACT_ROOT_ENV,
    TRACKING_URI_ENV,
    Scheme,
    TrackingUri,
    env_value,
    parse_with_env_token,
    tracking_uri_from_env,
)
from runyard.store import Store, default_artifact_root, open_store

if TYPE_CHECKING:
    from runyard.logging.pipeline import MetricPipeline
    from runyard.sdk.model import Model

__all__ = ["CONFIG_DIR", "CONFIG_FILE", "Workspace", "find_config"]

DATABASE_FILE = "runyard.db"
ARTIFACT_DIR = "artifacts"
LOCAL = "local"
"""``location``, ``subscription_id`` and ``resource_group`` of every runyard workspace: it has
no Azure region, subscription or resource group, and Azure code prints them."""


class Workspace:
    """A store of experiments and runs, named by a tracking URI.

    ``Workspace.from_config()`` is the usual way in: it finds ``.runyard/config.json`` (or creates
    a local workspace in ``./.runyard/``). ``Workspace(tracking_uri=...)`` opens a store directly.
    """

    def __init__(
        self,
        tracking_uri: str | TrackingUri | None = None,
        *,
        artifact_root: str | None = None,
        name: str | None = None,
    ) -> None:
        """Open the workspace at ``tracking_uri`` (default: the tracking URI of the environment,
        ``settings.TRACKING_URI_ENV``; a tracking server's token comes from
        ``settings.TOKEN_ENV``). A relative SQLite path is taken from the current folder.

        Raises:
            WorkspaceConfigError: no tracking URI was given or set, or it is not valid.
        """
        if isinstance(tracking_uri, TrackingUri):
            tracking: TrackingUri | None = tracking_uri
        elif tracking_uri:
            tracking = parse_with_env_token(tracking_uri)
        else:
            tracking = tracking_uri_from_env()
        if tracking is None:
            raise WorkspaceConfigError(
                "No tracking URI: pass Workspace(tracking_uri='sqlite:///path/runyard.db'), set "
                f"{TRACKING_URI_ENV}, or use Workspace.from_config()."
            )
        self._tracking = tracking = tracking.resolved(Path.cwd())
        self.tracking_uri = tracking.uri
        # A tracking server (http/https) keeps artifacts where it is configured to: none here.
        self.artifact_root = (
            None
            if tracking.is_server
            else artifact_root or env_value(ARTIFACT_ROOT_ENV) or default_artifact_root(tracking)
        )
        self.name = name or _default_name(tracking)
        # Azure's attributes, with local values (docs/api.md, "Workspace"): code written for
        # Azure ML prints them.
        self.location = LOCAL
        self.subscription_id = LOCAL
        self.resource_group = LOCAL
        self._store = open_store(tracking, self.artifact_root)
        self._pipeline: MetricPipeline | None = None

    # -- finding and creating ------------------------------------------------------------------

    @classmethod
    def from_config(
        cls, path: str | os.PathLike[str] | None = None, *_: Any, **__: Any
    ) -> Workspace:
        """The workspace configured for ``path`` (a folder, or a config file; default: here).

        The tracking URI of the environment (``settings.TRACKING_URI_ENV``) wins when set.
        Otherwise ``.runyard/config.json`` is looked for from ``path`` up to the root. When
        there is none, a local workspace is created at the top of the enclosing git repository
        (else next to an Azure ML ``.azureml/config.json`` found above, else in the folder
        searched from), and a line on stderr says where. An Azure ML config is never read as
        a runyard one: a line on stderr says runyard keeps its own workspace. Azure's other
        arguments (``auth``, ``_logger``, ``_file_name``) are accepted and ignored.

        Raises:
            WorkspaceConfigError: ``path`` does not exist (nothing is created there), or the
                config file found is not valid.
        """
        from_env = tracking_uri_from_env()
        if from_env is not None:
            return cls(from_env)
        start = Path(path) if path is not None else Path.cwd()
        if not start.exists():
            raise WorkspaceConfigError(
                f"The workspace configuration file config.json, could not be found in {start}: "
                f"{start.absolute()} does not exist (nothing was created). Pass an existing "
                "folder (the search goes up from it) or a config file, leave path out to search "
                "from the current folder, or create a workspace with Workspace.create(path)."
            )
        azure: Path | None = None
        if start.is_file():
            if not is_azure_config(start):
                return cls._from_file(start)
            azure, start = start, azure_project_folder(start)
        start = start.resolve()
        config = find_config(start)
        if config is not None:
            return cls._from_file(config)
        azure = azure or find_azure_config(start)
        folder, why = new_workspace_folder(start, azure)
        workspace = cls.create(folder)
        where = folder / CONFIG_DIR
        if azure is not None:
            print(
                f"runyard: {azure} is an Azure ML workspace configuration; runyard does not use "
                f"it and keeps its own workspace, in {where}",
                file=sys.stderr,
            )
        print(
            f"runyard: no workspace configuration found from {start} upward; created a local "
            f"workspace in {where} ({why})",
            file=sys.stderr,
        )
        return workspace

    @classmethod
    def _from_file(cls, config: Path) -> Workspace:
        try:
            data = json.loads(config.read_text())
            uri = data["tracking_uri"]
            if not isinstance(uri, str) or not uri:
                raise KeyError("tracking_uri")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise WorkspaceConfigError(
                f"The config file found in: {config} does not seem to contain the required "
                f'parameters ({exc}). It needs at least {{"tracking_uri": "sqlite:///'
                f'{DATABASE_FILE}"}}; Workspace.create(path) writes a valid one.'
            ) from None
        base = config.parent
        artifact_root = data.get("artifact_root")
        if isinstance(artifact_root, str) and "://" not in artifact_root:
            artifact_root = str((base / artifact_root).resolve())
        return cls(
            parse_with_env_token(uri).resolved(base),
            artifact_root=artifact_root,
            name=data.get("name") or base.parent.name,
        )

    @classmethod
    def create(
        cls, path: str | os.PathLike[str] = ".", name: str | None = None, exist_ok: bool = True
    ) -> Workspace:
        """Create a local workspace (SQLite and an artifact folder) in ``<path>/.runyard/``.

        Raises:
            WorkspaceConfigError: one exists there already and ``exist_ok`` is False.
        """
        folder = Path(path).resolve()
        config = folder / CONFIG_DIR / CONFIG_FILE
        if config.exists():
            if not exist_ok:
                raise WorkspaceConfigError(
                    f"A workspace already exists in {config.parent}; open it with "
                    "Workspace.from_config() or pass exist_ok=True."
                )
            return cls._from_file(config)
        config.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "name": name or folder.name or "workspace",
            "tracking_uri": f"sqlite:///{DATABASE_FILE}",
            "artifact_root": ARTIFACT_DIR,
        }
        config.write_text(json.dumps(data, indent=2) + "\n")
        # The workspace may sit at the top of a git repository: its database and artifacts are
        # kept out of git (``git add -f .runyard/config.json`` still shares the config).
        (config.parent / ".gitignore").write_text(
            "# runyard's local workspace (database, artifacts): not for git\n*\n"
        )
        return cls._from_file(config)

    def write_config(
        self, path: str | os.PathLike[str] | None = None, file_name: str | None = None
    ) -> Path:
        """Write this workspace's config to ``<path>/.runyard/<file_name>``; return its path."""
        folder = Path(path) if path is not None else Path.cwd()
        target = folder / CONFIG_DIR / (file_name or CONFIG_FILE)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = {"name": self.name, "tracking_uri": self.tracking_uri}
        if self.artifact_root is not None:
            data["artifact_root"] = self.artifact_root
        target.write_text(json.dumps(data, indent=2) + "\n")
        return target

    # -- use -----------------------------------------------------------------------------------

    @property
    def tracking(self) -> TrackingUri:
        """The tracking URI, parsed: what the runners and the store are handed."""
        return self._tracking

    @property
    def store(self) -> Store:
        return self._store

    @property
    def pipeline(self) -> MetricPipeline:
        """The background metric writer of this workspace, started on first use."""
        if self._pipeline is None:
            # Importing the pipeline registers its atexit flush: only in processes that log.
            from runyard.logging.pipeline import MetricPipeline

            self._pipeline = MetricPipeline(self._store)
        return self._pipeline

    def flush(self, timeout_seconds: float = 300.0) -> None:
        """Wait until every metric logged through this workspace is stored (no-op if none)."""
        if self._pipeline is not None:
            self._pipeline.flush(timeout_seconds)

    @property
    def experiments(self) -> dict[str, Experiment]:
        """Active experiments by name."""
        return {e.name: e for e in Experiment.list(self)}

    @property
    def environments(self) -> dict[str, Environment]:
        """Registered environments by name, each its latest version (Azure's
        ``ws.environments``)."""
        return Environment.list(self)

    @property
    def models(self) -> dict[str, Model]:
        """Registered models by name, each its latest version (Azure's ``ws.models``)."""
        from runyard.sdk.model import Model  # it imports this module

        return {model.name: model for model in Model.list(self, latest=True)}

    @property
    def compute_targets(self) -> dict[str, ComputeTarget]:
        """The workspace's compute targets by name: ``local`` and the attached ones."""
        return compute.targets(self)

    def attach_compute(self, name: str, target: RayCluster) -> ComputeTarget:
        """Attach a compute target (``RayCluster(address=...)``) under ``name``, kept in the
        workspace; ``ScriptRunConfig(compute_target=name)`` then runs there. Attaching the
        same target again changes nothing.

        Raises:
            InvalidNameError: ``name`` is ``local`` or not 1 to 64 letters, digits, '-', '_'.
            ComputeTargetExistsError: ``name`` is attached already to another target.
        """
        return compute.attach(self, name, target)

    def detach_compute(self, name: str) -> None:
        """Detach the compute target ``name`` (its runs stay).

        Raises:
            ComputeTargetNotFoundError: none of that name.
        """
        self._store.detach_compute(name)

    def close(self) -> None:
        """End the runs this process started here that are still open (Completed, as at
        interpreter exit), flush pending metrics and release the store."""
        lifetime.end_owned(self._store)
        if self._pipeline is not None:
            self._pipeline.close()
        self._store.close()

    def get_details(self) -> dict[str, Any]:
        """This workspace's details, in the shape of Azure's ``Workspace.get_details()``.

        Returns:
            ``id`` (Azure's scope form, with the local values), ``name``, ``friendlyName``,
            ``location``, ``type``, ``provisioningState``, ``tags``, ``description``, and where
            it lives: ``trackingUri`` (a password hidden), ``artifactRoot`` (None on a tracking
            server), ``discoveryUrl`` (a tracking server's address, else None).
        """
        return {
            "id": (
                f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
                f"/providers/runyard/workspaces/{self.name}"
            ),
            "name": self.name,
            "friendlyName": self.name,
            "location": self.location,
            "type": "runyard/workspaces",
            "provisioningState": "Succeeded",
            "tags": {},
            "description": "",
            "trackingUri": _shown_uri(self._tracking),
            "artifactRoot": self.artifact_root,
            "discoveryUrl": self._tracking.server_root,
        }

    def _repr_html_(self) -> str:
        """The workspace in a Jupyter notebook: name, location, tracking URI, UI link."""
        return render_workspace(self)

    def __repr__(self) -> str:
        return f"Workspace.create(name='{self.name}', tracking_uri='{self.tracking_uri}')"


def _shown_uri(tracking: TrackingUri) -> str:
    """The tracking URI without a database password (a tracking server's token is apart)."""
    if tracking.scheme is Scheme.POSTGRESQL:
        from sqlalchemy.engine import make_url

        return make_url(tracking.uri).render_as_string(hide_password=True)
    return tracking.uri


def _default_name(tracking: TrackingUri) -> str:
    """The SQLite file's folder (the one holding ``.runyard/``), a server's workspace, or the
    URI's last segment (a PostgreSQL database)."""
    if tracking.sqlite_path is not None:
        db = Path(tracking.sqlite_path)
        folder = db.parent.parent if db.parent.name == CONFIG_DIR else db.parent
        return folder.name or "workspace"
    if tracking.workspace is not None:
        return tracking.workspace
    return tracking.uri.rsplit("/", 1)[-1] or "workspace"
