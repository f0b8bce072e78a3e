"""``Model``: Azure ML v1's model registry (``azureml.core.Model``) on a runyard workspace.

A model is a name with versions counted from 1; a version's files never change (registering
again makes a new version) and are copies, kept when the run that made them is deleted. Files
travel as blobs (``Store.put_blob``): ``Model.register`` uploads local ones,
``run.register_model`` has the store copy the run's artifacts.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.entities import (
    ModelVersionInfo,
    ModelVersionQuery,
    NewModelVersion,
    SnapshotFile,
    TagFilter,
)
from runyard.errors import (
    InvalidArgumentError,
    RegisteredModelNotFoundError,
    RunEnvironmentError,
    UserError,
)
from runyard.sdk.filters import as_str
from runyard.sdk.workspace import CONFIG_DIR, Workspace
from runyard.settings import RUN_ID_ENV, env_value
from runyard.store.artifacts import copy_stream

if TYPE_CHECKING:
    from runyard.sdk.run import Run

MODELS_CACHE = "models"
"""``Model.get_model_path`` keeps downloaded versions in ``<workspace>/.runyard/models/``."""
_CHUNK = 1024 * 1024


def _labels(what: str, values: Mapping[str, Any] | None) -> dict[str, str]:
    """Tags or properties as strings (Azure's are strings; None values become '')."""
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise InvalidArgumentError(
            f"Model {what} must be a dict of key to value, got {type(values).__name__}."
        )
    return {str(k): as_str(what[:-1], str(k), v) or "" for k, v in values.items()}


def label_filters(what: str, spec: Any) -> tuple[TagFilter, ...]:
    """Azure's tag or property filter as TagFilters: a key (``"stage"``), a dict of key to
    value, or a list of keys and ``[key, value]`` pairs."""
    if spec is None:
        return ()
    if isinstance(spec, str):
        return (TagFilter(spec),)
    if isinstance(spec, Mapping):
        return tuple(TagFilter(str(k), str(v), match_value=True) for k, v in spec.items())
    if isinstance(spec, Iterable):
        found = []
        for item in spec:
            if isinstance(item, str):
                found.append(TagFilter(item))
            elif isinstance(item, Sequence) and len(item) == 2:
                found.append(TagFilter(str(item[0]), str(item[1]), match_value=True))
            else:
                raise InvalidArgumentError(
                    f"A model {what} filter is a key or a [key, value] pair, got {item!r:.60}."
                )
        return tuple(found)
    raise InvalidArgumentError(
        f"Model {what} filter: pass a key, a dict of key to value, or a list of keys and "
        f"[key, value] pairs; got {type(spec).__name__}."
    )


def parse_model_id(model_id: str) -> tuple[str, int | None]:
    """``name:version`` (or a bare name: its latest version) as (name, version)."""
    name, sep, version = str(model_id).rpartition(":")
    if not sep:
        return str(model_id), None
    if not (version.isascii() and version.isdigit()):
        raise InvalidArgumentError(
            f"A model id is 'name:version' with a whole version number, got {model_id!r:.300}."
        )
    return name, int(version)


def local_files(path: Path) -> list[tuple[Path, str]]:
    """The files a local model path registers, with their model paths (below its root).

    Raises:
        UserError: there is no such file or folder, or the folder holds no file.
    """
    if path.is_file():
        return [(path, path.name)]
    if not path.is_dir():
        raise UserError(f"Cannot register {str(path)!r}: no such file or folder.")
    found = [
        (file, f"{path.name}/{file.relative_to(path).as_posix()}")
        for file in sorted(path.rglob("*"))
        if file.is_file()
    ]
    if not found:
        raise UserError(f"Cannot register folder {str(path)!r}: it holds no file.")
    return found


def _sha256(file: Path) -> str:
    hasher = hashlib.sha256()
    with file.open("rb") as source:
        while block := source.read(_CHUNK):
            hasher.update(block)
    return hasher.hexdigest()


def upload_files(workspace: Workspace, files: list[tuple[Path, str]]) -> list[SnapshotFile]:
    """Store the files as blobs (those the store lacks); return them as model files."""
    listed = [SnapshotFile(name, _sha256(file), file.stat().st_size) for file, name in files]
    missing = workspace.store.missing_blobs(f.digest for f in listed)
    for (file, _), entry in zip(files, listed, strict=True):
        if entry.digest in missing:
            with file.open("rb") as source:
                workspace.store.put_blob(entry.digest, source)
            missing.discard(entry.digest)
    return listed


def cache_folder(workspace: Workspace) -> Path:
    """Where ``get_model_path`` keeps models: beside a local workspace's database
    (``<folder>/.runyard/models``), else in ``./.runyard/models``."""
    sqlite_path = workspace.tracking.sqlite_path
    if sqlite_path is not None and Path(sqlite_path).parent.name == CONFIG_DIR:
        return Path(sqlite_path).parent / MODELS_CACHE
    return Path.cwd() / CONFIG_DIR / MODELS_CACHE


class Model:
    """A registered model version: ``Model(workspace, name)`` (its latest version),
    ``Model(workspace, name, version=2)`` or ``Model(workspace, id="name:2")``.

    Raises:
        RegisteredModelNotFoundError: there is no such model (or version).
    """

    def __init__(
        self,
        workspace: Workspace,
        name: str | None = None,
        id: str | None = None,
        tags: Any = None,
        properties: Any = None,
        version: int | None = None,
        run_id: str | None = None,
        **_: Any,
    ) -> None:
        if id is not None:
            name, version = parse_model_id(id)
        if not name:
            raise UserError("Model(workspace, name) or Model(workspace, id='name:version').")
        if version is None and (tags is not None or properties is not None or run_id):
            # Azure: the latest version of the name that matches the filters.
            found = Model.list(
                workspace, name=name, tags=tags, properties=properties, run_id=run_id
            )
            if not found:
                raise RegisteredModelNotFoundError(
                    f"No version of model {name!r:.300} matches the tags, properties or run id "
                    f"given. Model.list(workspace, name={name!r:.300}) lists its versions."
                )
            info = found[0]._info
        else:
            info = workspace.store.get_model_version(name, version)
        self._set(workspace, info)

    @classmethod
    def _from_info(cls, workspace: Workspace, info: ModelVersionInfo) -> Model:
        model = cls.__new__(cls)
        model._set(workspace, info)
        return model

    def _set(self, workspace: Workspace, info: ModelVersionInfo) -> None:
        self.workspace = workspace
        self._info = info
        self.name = info.name
        self.version = info.version
        self.id = info.id
        self.description = info.description
        self.created_time = datetime.fromtimestamp(info.created_time, UTC)
        self.run_id = info.run_id
        self.experiment_name = info.experiment_name
        self.url = f"runyard://models/{info.name}/{info.version}"

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._info.tags)

    @property
    def properties(self) -> dict[str, str]:
        return dict(self._info.properties)

    @property
    def run(self) -> Run | None:
        """The run that made the model (None for a model registered from local files)."""
        if self.run_id is None:
            return None
        from runyard.sdk.run import Run  # it imports this module (run.register_model)

        return Run.get(self.workspace, self.run_id)

    # -- registering and finding ---------------------------------------------------------------

    @staticmethod
    def register(
        workspace: Workspace,
        model_path: str | os.PathLike[str],
        model_name: str,
        tags: Mapping[str, Any] | None = None,
        properties: Mapping[str, Any] | None = None,
        description: str | None = None,
        **_: Any,
    ) -> Model:
        """Register a local file or folder as the next version of ``model_name``.

        Raises:
            UserError: there is no such file or folder, or it is empty.
            InvalidNameError: the name breaks Azure's rule (1 to 255 letters, digits, '-', '_'
                or '.', starting with a letter or digit).
        """
        files = upload_files(workspace, local_files(Path(model_path)))
        new = NewModelVersion(
            model_name,
            files=files,
            description=description,
            tags=_labels("tags", tags),
            properties=_labels("properties", properties),
        )
        return Model._from_info(workspace, workspace.store.create_model_version(new))

    @staticmethod
    def list(
        workspace: Workspace,
        name: str | None = None,
        tags: Any = None,
        properties: Any = None,
        run_id: str | None = None,
        latest: bool = False,
        **_: Any,
    ) -> list[Model]:
        """The registered versions, by name then newest first; every filter given is ANDed.

        Args:
            tags, properties: a key, a dict of key to value, or a list of keys and
                ``[key, value]`` pairs.
            latest: only the latest version of each name.
        """
        query = ModelVersionQuery(
            name=name,
            tags=label_filters("tag", tags),
            properties=label_filters("property", properties),
            run_id=run_id,
            latest=bool(latest),
        )
        found = workspace.store.search_model_versions(query)
        return [Model._from_info(workspace, info) for info in found]

    @staticmethod
    def get_model_path(
        model_name: str, version: int | None = None, _workspace: Workspace | None = None
    ) -> str:
        """A local path to the model's files (its root: the file of a one-file model),
        downloaded once into the workspace's ``.runyard/models/<name>/<version>/``.

        Args:
            version: None: the latest version.
            _workspace: None: the workspace of the submitted run this process runs, else
                ``Workspace.from_config()``.

        Raises:
            RegisteredModelNotFoundError: there is no such model or version.
        """
        workspace = _workspace if _workspace is not None else _current_workspace()
        info = workspace.store.get_model_version(model_name, version)
        folder = cache_folder(workspace) / info.name / str(info.version)
        if not (folder / info.root).exists():
            partial = folder.with_name(f".{info.version}.partial-{uuid.uuid4().hex}")
            try:
                write_files(workspace, info, partial)
                partial.replace(folder)
            except OSError:
                if not (folder / info.root).exists():  # not another process's copy meanwhile
                    raise
            finally:
                shutil.rmtree(partial, ignore_errors=True)
        return str(folder / info.root)

    # -- using -----------------------------------------------------------------------------------

    def download(
        self, target_dir: str | os.PathLike[str] = ".", exist_ok: bool = False, **_: Any
    ) -> str:
        """Download the model's files into ``target_dir``; return the path of its root (the
        file of a one-file model, else its folder).

        Raises:
            UserError: a file to write exists already and ``exist_ok`` is False (nothing is
                written then).
        """
        target = Path(target_dir)
        if not exist_ok:
            taken = [f.path for f in self._info.files if (target / f.path).exists()]
            if taken:
                raise UserError(
                    f"File(s) {taken[:5]} exist already in {str(target)!r}: pass exist_ok=True "
                    "to overwrite them, or another target_dir."
                )
        write_files(self.workspace, self._info, target)
        return str(target / self._info.root)

    def add_tags(self, tags: Mapping[str, Any]) -> None:
        """Add (or change) tags of this version."""
        changed = self.workspace.store.set_model_version_tags(
            self.name, self.version, _labels("tags", tags)
        )
        self._set(self.workspace, changed)

    def remove_tags(self, tags: Iterable[str] | str) -> None:
        """Remove tags of this version by key (missing keys are ignored)."""
        keys = [tags] if isinstance(tags, str) else [str(k) for k in tags]
        changed = self.workspace.store.set_model_version_tags(
            self.name, self.version, {}, remove=keys
        )
        self._set(self.workspace, changed)

    def add_properties(self, properties: Mapping[str, Any]) -> None:
        """Add properties, immutable once set.

        Raises:
            PropertyConflictError: a key holds another value already; nothing is added.
        """
        changed = self.workspace.store.add_model_version_properties(
            self.name, self.version, _labels("properties", properties)
        )
        self._set(self.workspace, changed)

    def delete(self) -> None:
        """Delete this version and its files (other versions keep theirs and their numbers)."""
        self.workspace.store.delete_model_version(self.name, self.version)

    def get_details(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": self.id,
            "version": self.version,
            "tags": self.tags,
            "properties": self.properties,
            "description": self.description,
            "createdTime": self.created_time.isoformat(),
            "runId": self.run_id,
            "experimentName": self.experiment_name,
            "url": self.url,
        }

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and (other.id, other.workspace) == (self.id, self.workspace)

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return (
            f"Model(workspace={self.workspace!r}, name={self.name}, id={self.id}, "
            f"version={self.version}, tags={self.tags}, properties={self.properties})"
        )


def write_files(workspace: Workspace, info: ModelVersionInfo, target: Path) -> None:
    """Write the version's files under ``target`` (their paths start with its root)."""
    for file in info.files:
        path = target / file.path
        path.parent.mkdir(parents=True, exist_ok=True)
        with workspace.store.open_blob(file.digest) as source, path.open("wb") as out:
            copy_stream(source, out)


def _current_workspace() -> Workspace:
    """The workspace of the submitted run this process runs, else ``Workspace.from_config()``."""
    from runyard.sdk.run import Run  # it imports this module (run.register_model)

    if not env_value(RUN_ID_ENV):
        # Not inside a submitted script: never Run.get_context(), which would start a run of
        # the opt-in experiment (EXPERIMENT_ENV) as a side effect of reading a model.
        return Workspace.from_config()
    try:
        run = Run.get_context(allow_offline=False)
    except RunEnvironmentError:
        return Workspace.from_config()
    workspace: Workspace = run.experiment.workspace
    return workspace


def register_from_run(
    run: Run,
    model_name: str,
    model_path: str | None,
    tags: Mapping[str, Any] | None,
    properties: Mapping[str, Any] | None,
    description: str | None,
) -> Model:
    """``run.register_model``: copy the run's artifacts at or under ``model_path`` (default:
    the model name) into a new version of ``model_name``."""
    workspace: Workspace = run.experiment.workspace
    new = NewModelVersion(
        model_name,
        run_id=run.id,
        run_path=model_path if model_path is not None else model_name,
        description=description,
        tags=_labels("tags", tags),
        properties=_labels("properties", properties),
    )
    return Model._from_info(workspace, workspace.store.create_model_version(new))
