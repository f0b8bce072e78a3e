"""The rules of registered models (Azure ML's model registry), shared by every backend.

A registered model is a name with versions counted from 1; a version's files are blobs (the
content-addressed bytes snapshots use too), named by a manifest that never changes. What the
SQL store keeps: ``store/sql/registry.py``; over HTTP: ``store/http/registry.py``.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from typing import BinaryIO

from runyard.entities import (
    ModelVersionQuery,
    NewModelVersion,
    RegisteredModelUpdate,
    SnapshotFile,
    TagFilter,
)
from runyard.errors import (
    InvalidArgumentError,
    InvalidNameError,
    ModelPathNotFoundError,
    RegisteredModelNotFoundError,
)
from runyard.limits import (
    MAX_DESCRIPTION_LENGTH,
    check_count,
    check_int64,
    check_key_values,
    check_new_artifact_path,
    check_text,
    normalize_artifact_path,
)
from runyard.store import checks

MODEL_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
"""Azure's rule: letters, digits, '-', '_' and '.', starting with a letter or digit, at most
255 characters."""
MAX_MODEL_VERSION_TAGS = 1000
MAX_MODEL_VERSION_PROPERTIES = 1000
MAX_MODEL_FILES = 100_000
MAX_REGISTERED_MODEL_TAGS = 1000
ALIAS_RE = re.compile(r"[A-Za-z0-9_-]{1,255}")
"""An alias of a version: letters, digits, '_' and '-' (MLflow's rule), not 'latest' nor
'v<number>' (which ``models:/name@...`` URIs would read as a version)."""
_CHUNK = 1024 * 1024


def check_model_name(name: object) -> str:
    """``name`` if it follows Azure's rule for model names.

    Raises:
        InvalidNameError: it does not.
    """
    if not isinstance(name, str) or not MODEL_NAME_RE.fullmatch(name):
        raise InvalidNameError(
            f"Invalid model name {name!r:.300}: use 1 to 255 letters, digits, '-', '_' or '.', "
            "starting with a letter or a digit (e.g. 'sklearn-mnist' or 'model_v2.onnx')."
        )
    return name


def check_version(version: object) -> int:
    """``version`` if it is a version number (an int from 1).

    Raises:
        InvalidArgumentError: it is not.
    """
    if type(version) is not int or not 1 <= version <= 2**31 - 1:
        raise InvalidArgumentError(
            f"A model version is a whole number from 1, got {version!r:.40}."
        )
    return version


def no_model(name: str, version: int | None = None) -> RegisteredModelNotFoundError:
    if version is None:
        return RegisteredModelNotFoundError(
            f"There is no registered model {name!r:.300}. Model.list(workspace) (runyard "
            "models list) lists them."
        )
    return RegisteredModelNotFoundError(
        f"Model {name!r:.300} has no version {version}. Model.list(workspace, name={name!r:.300})"
        " lists its versions."
    )


def check_labels(
    tags: Mapping[str, str] | None = None, properties: Mapping[str, str] | None = None
) -> None:
    """Tags and properties of a version: keys and values as a run's, every value a string."""
    for what, items, limit in (
        ("model tag", tags or {}, MAX_MODEL_VERSION_TAGS),
        ("model property", properties or {}, MAX_MODEL_VERSION_PROPERTIES),
    ):
        if not isinstance(items, Mapping):
            raise InvalidArgumentError(
                f"The {what}s must be a dict of key to value, got {type(items).__name__}."
            )
        for key, value in items.items():
            if not isinstance(value, str):
                raise InvalidArgumentError(
                    f"The value of {what} {key!r:.80} must be a string, got {value!r:.60}."
                )
        check_key_values(what, items)
        check_count(what, len(items), limit)


def check_alias(alias: object) -> str:
    """``alias`` if it may name a version.

    Raises:
        InvalidNameError: it may not.
    """
    if (
        not isinstance(alias, str)
        or not ALIAS_RE.fullmatch(alias)
        or alias.lower() == "latest"
        or re.fullmatch(r"[vV]\d+", alias)
    ):
        raise InvalidNameError(
            f"Invalid model alias {alias!r:.300}: use 1 to 255 letters, digits, '_' or '-', "
            "other than 'latest' and 'v<number>' (e.g. 'champion')."
        )
    return alias


def check_model_update(
    name: str, description: str | None, update: RegisteredModelUpdate | None = None
) -> None:
    """What any store checks of a registered model's new fields before it writes anything.

    Raises:
        InvalidNameError: the name, a tag or an alias breaks its rule.
        InvalidArgumentError: a version is not a whole number from 1.
        LimitExceededError: the description or a tag is too long, or too many tags.
    """
    check_model_name(name)
    check_text("model description", description, MAX_DESCRIPTION_LENGTH)
    if update is None:
        return
    if not isinstance(update, RegisteredModelUpdate):
        raise InvalidArgumentError(
            f"A registered model's update is a RegisteredModelUpdate, got {update!r:.60}."
        )
    check_labels(tags=update.tags)
    checks.check_names("model tag key", list(update.remove_tags))
    check_key_values("model tag", dict.fromkeys(update.remove_tags))
    for alias, version in update.aliases.items():
        check_alias(alias)
        check_version(version)
    for alias in update.remove_aliases:
        check_alias(alias)


def check_new_version(model: NewModelVersion) -> None:
    """What any store checks of a new version before it writes anything.

    Raises:
        InvalidNameError: the name breaks the rule, or a file path is not relative.
        InvalidArgumentError: neither files nor a run path is given, or both are.
        LimitExceededError: a tag, property or the description is too long, or too many.
    """
    check_model_name(model.name)
    check_text("model description", model.description, MAX_DESCRIPTION_LENGTH)
    check_labels(model.tags, model.properties)
    if model.run_path is not None and model.run_id is None:
        raise InvalidArgumentError("A model's run_path names artifacts of its run: give run_id.")
    if (model.run_path is None) == (not model.files):
        raise InvalidArgumentError(
            "A new model version has its files from a run's artifacts (run_id and run_path) or "
            "from blobs stored already (files), one of the two."
        )
    if model.files:
        model_root(model.files)


def model_root(files: Sequence[SnapshotFile]) -> str:
    """The root of a model's files: the one file's name, or the folder all paths start with.

    Raises:
        InvalidNameError: a path is not a clean relative path, a path is given twice, or the
            files have more than one root.
        InvalidArgumentError: there is no file, or a size or digest is not one.
        LimitExceededError: too many files.
    """
    if not files:
        raise InvalidArgumentError("A model version has at least one file.")
    check_count("model file", len(files), MAX_MODEL_FILES)
    paths = []
    for file in files:
        if not isinstance(file, SnapshotFile):
            raise InvalidArgumentError(f"A model file is a SnapshotFile, got {file!r:.80}.")
        path = check_new_artifact_path(file.path)
        if path != file.path:
            raise InvalidNameError(f"Model file path {file.path!r:.200} is not normalized.")
        checks.check_digest(file.digest)
        check_int64("model file size", file.size, minimum=0)
        paths.append(path)
    if len(set(paths)) != len(paths):
        raise InvalidNameError("A model's file paths are each given once.")
    roots = {path.split("/", 1)[0] for path in paths}
    if len(roots) != 1 or (len(paths) > 1 and any("/" not in path for path in paths)):
        raise InvalidNameError(
            "A model's files are one file, or the files of one folder: every path starts with "
            f"the same folder name (got {sorted(roots)[:5]!r:.200})."
        )
    return roots.pop()


def run_model_files(model_path: str, artifact_paths: Iterable[str]) -> dict[str, str]:
    """The artifacts of a run that ``model_path`` registers, as artifact path: model path.

    ``model_path`` is an artifact (a one-file model, named by its file name) or a folder of
    artifacts (every file under it, below the folder's name), as Azure's ``register_model``.

    Raises:
        InvalidNameError: ``model_path`` is not a relative path.
        ModelPathNotFoundError: it names no artifact (the message lists the run's files).
    """
    path = normalize_artifact_path(model_path)
    every = sorted(artifact_paths)
    root = posixpath.basename(path)
    if path in every:
        return {path: root}
    found = {
        artifact: root + artifact[len(path) :]
        for artifact in every
        if artifact.startswith(path + "/")
    }
    if not found:
        listed = ", ".join(repr(p) for p in every[:50]) + (", ..." if len(every) > 50 else "")
        raise ModelPathNotFoundError(
            f"Could not locate the provided model_path {model_path!r:.300} in the set of files "
            f"uploaded to the run: [{listed}]. See run.get_file_names() for the run's files."
        )
    return found


def spool_with_digest(source: BinaryIO) -> tuple[BinaryIO, str]:
    """A copy of ``source``'s bytes (in memory, or on disk when large), rewound, and their
    sha256: what ``put_blob`` needs."""
    hasher = hashlib.sha256()
    spool = tempfile.SpooledTemporaryFile(max_size=8 * _CHUNK)  # noqa: SIM115 - returned
    while block := source.read(_CHUNK):
        hasher.update(block)
        spool.write(block)
    spool.seek(0)
    return spool, hasher.hexdigest()  # type: ignore[return-value]


def check_query(query: ModelVersionQuery) -> None:
    """Raise InvalidArgumentError or InvalidNameError for a query no store can answer."""
    if not isinstance(query, ModelVersionQuery):
        raise InvalidArgumentError(f"A model listing takes a ModelVersionQuery, got {query!r:.60}.")
    if query.name is not None:
        check_model_name(query.name)
    for what, filters in (("tag", query.tags), ("property", query.properties)):
        for item in filters:
            if not isinstance(item, TagFilter):
                raise InvalidArgumentError(
                    f"A model {what} filter is a TagFilter, got {item!r:.60}."
                )
            checks.check_names(f"model {what} key", [item.key])
            if item.value is not None:
                checks.check_names(f"model {what} value", [item.value])
    if query.run_id is not None:
        checks.check_names("run id", [query.run_id])
    if type(query.latest) is not bool:
        raise InvalidArgumentError(f"latest is True or False, got {query.latest!r:.40}.")
