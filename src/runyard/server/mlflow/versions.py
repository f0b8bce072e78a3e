"""MLflow's registered models and model versions in runyard's terms: their JSON, where a new
version's files come from (its ``source``), and the filters and sort keys of their searches.

An MLflow registered model is a runyard model name (``RegisteredModelInfo``), a model version a
runyard version (``ModelVersionInfo``), whose files are copies (blobs) made when it is
registered. The ``source`` a version was registered from and the logged model it came from are
kept as its properties ``mlflow.source`` and ``mlflow.model_id`` (immutable, as the version's
files). Stages are MLflow 2's, deprecated: every version is in stage "None".
"""

from __future__ import annotations

import functools
import re
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from runyard.entities import ModelVersionInfo, NewModelVersion, RegisteredModelInfo
from runyard.errors import InvalidArgumentError, RegisteredModelNotFoundError
from runyard.server.mlflow import bodies
from runyard.server.mlflow.artifacts import VersionPath, parse_path, version_uri
from runyard.server.mlflow.convert import key_values, millis
from runyard.server.mlflow.search import COMPARE, Clause, filter_clauses, sort_key
from runyard.store import Store

SOURCE = "mlflow.source"
"""The property of a version holding the ``source`` it was registered from."""
MODEL_ID = "mlflow.model_id"
"""The property of a version holding the logged model (``m-...``) it was registered from."""
STAGE = "None"
_LOGGED_MODEL_ID = re.compile(r"m-[0-9a-f]{32}")


# -- JSON ------------------------------------------------------------------------------------


def version_json(
    version: ModelVersionInfo, workspace: str, aliases: Sequence[str] = ()
) -> dict[str, Any]:
    """A version as MLflow's ``ModelVersion`` message (always READY, in stage "None")."""
    out: dict[str, Any] = {
        "name": version.name,
        "version": str(version.version),
        "creation_timestamp": millis(version.created_time),
        "last_updated_timestamp": millis(version.created_time),
        "current_stage": STAGE,
        "source": version.properties.get(SOURCE)
        or version_uri(workspace, version.name, version.version),
        "status": "READY",
        "tags": key_values(version.tags),
        "aliases": sorted(aliases),
    }
    if MODEL_ID in version.properties:
        out["model_id"] = version.properties[MODEL_ID]
    if version.description:
        out["description"] = version.description
    if version.run_id is not None:
        out["run_id"] = version.run_id
    return out


def aliases_of(model: RegisteredModelInfo, version: int) -> list[str]:
    return [alias for alias, v in model.aliases.items() if v == version]


def registered_json(
    model: RegisteredModelInfo, workspace: str, latest: ModelVersionInfo | None
) -> dict[str, Any]:
    """A model name as MLflow's ``RegisteredModel`` message; ``latest_versions`` holds its
    latest version (the latest of stage "None")."""
    out: dict[str, Any] = {
        "name": model.name,
        "creation_timestamp": millis(model.created_time),
        "last_updated_timestamp": millis(model.updated_time),
        "description": model.description or "",
        "tags": key_values(model.tags),
        "aliases": [
            {"alias": alias, "version": str(version)}
            for alias, version in sorted(model.aliases.items())
        ],
    }
    if latest is not None:
        out["latest_versions"] = [
            version_json(latest, workspace, aliases_of(model, latest.version))
        ]
    return out


def version_number(fields: Mapping[str, Any]) -> int:
    """The ``version`` field of a request: MLflow sends it as text."""
    text = bodies.text(fields, "version")
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise InvalidArgumentError(f"version must be a whole number from 1, got {text!r:.40}.")
    return int(text)


# -- sources ---------------------------------------------------------------------------------


def new_version(
    store: Store, workspace: str, name: str, payload: Mapping[str, Any]
) -> NewModelVersion:
    """The runyard version a ``create_model_version`` request registers: its files copied from
    what ``source`` names in the workspace.

    ``runs:/<run_id>/<path>`` and ``mlflow-artifacts:/<workspace>/<run_id>/artifacts/<path>``
    name a run's artifacts; ``models:/m-...`` a logged model (its files among its run's
    artifacts); ``models:/<name>/<version>``, ``models:/<name>@<alias>`` and the download URI
    of a version (``mlflow-artifacts:/<workspace>/~models/<name>/<version>``) a registered
    version, whose files the new one shares.

    Raises:
        InvalidArgumentError: the source names nothing runyard keeps, or another run than
            ``run_id``.
        RunNotFoundError, LoggedModelNotFoundError, RegisteredModelNotFoundError: what it
            names does not exist.
    """
    source = bodies.text(payload, "source")
    run_id = bodies.optional_text(payload, "run_id")
    properties = {SOURCE: source}
    model_id = bodies.optional_text(payload, "model_id")
    parsed = urllib.parse.urlparse(source)
    path = parsed.path.lstrip("/")
    files: Sequence[Any] = ()
    from_run: str | None = None
    run_path: str | None = None
    if parsed.scheme == "runs" and not parsed.netloc and "/" in path:
        from_run, run_path = path.split("/", 1)
    elif parsed.scheme == "models" and not parsed.netloc and _LOGGED_MODEL_ID.fullmatch(path):
        logged = store.get_logged_model(path)
        from_run, run_path, model_id = logged.source_run_id, logged.artifact_path, path
    elif parsed.scheme == "models" and not parsed.netloc and path:
        copied = _registered(store, path)
        files, from_run = copied.files, copied.run_id
    elif parsed.scheme == "mlflow-artifacts" and path:
        where = parse_path(path)
        if where.workspace != workspace:
            raise InvalidArgumentError(
                f"source {source!r:.300} is in workspace {where.workspace!r}, not in "
                f"{workspace!r}: a version is registered from its own workspace's files."
            )
        if isinstance(where, VersionPath):
            if where.path:
                raise _bad_source(source)
            copied = store.get_model_version(where.name, where.version)
            files, from_run = copied.files, copied.run_id
        elif where.path:
            from_run, run_path = where.run_id, where.path
    if from_run is None and not files:
        raise _bad_source(source)
    if run_id is not None and from_run is not None and run_id != from_run:
        raise InvalidArgumentError(
            f"source {source!r:.300} holds files of run {from_run!r}, not of run_id {run_id!r}: "
            "runyard keeps a version's files with the run that made them. Leave run_id out, or "
            "give the source's run."
        )
    if model_id is not None:
        properties[MODEL_ID] = model_id
    return NewModelVersion(
        name=name,
        files=files,
        run_id=from_run or run_id,
        run_path=run_path,
        description=bodies.optional_text(payload, "description"),
        tags=dict(bodies.key_values(payload, "tags")),
        properties=properties,
    )


def _registered(store: Store, path: str) -> ModelVersionInfo:
    """The version a ``models:/<name>/<version>`` or ``models:/<name>@<alias>`` path names."""
    name, sep, alias = path.partition("@")
    if sep:
        return by_alias(store, name, alias)
    name, _, version = path.partition("/")
    if not (version.isascii() and version.isdigit()):
        raise _bad_source(f"models:/{path}")
    return store.get_model_version(name, int(version))


def by_alias(store: Store, name: str, alias: str) -> ModelVersionInfo:
    """The version alias ``alias`` of model ``name`` names.

    Raises:
        RegisteredModelNotFoundError: there is no such model or alias.
    """
    model = store.get_registered_model(name)
    if alias not in model.aliases:
        raise RegisteredModelNotFoundError(
            f"Registered model {name!r} has no alias {alias!r:.300}; it has "
            f"{sorted(model.aliases) or 'none'}."
        )
    return store.get_model_version(name, model.aliases[alias])


def _bad_source(source: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"runyard cannot register a version from source {source!r:.300}: it copies a version's "
        "files from the workspace, so give runs:/<run_id>/<path>, models:/<model_id> (a logged "
        "model), models:/<name>/<version>, or an mlflow-artifacts:/ URI of this workspace."
    )


# -- searches --------------------------------------------------------------------------------

_MODEL_FIELDS = ("name",)
_VERSION_FIELDS = ("name", "run_id", "source_path", "version_number")
_MODEL_SORTS = {"name", "timestamp", "creation_timestamp", "last_updated_timestamp"}
_VERSION_SORTS = {"name", "version_number", "creation_timestamp", "last_updated_timestamp"}


def _model_value(model: RegisteredModelInfo, kind: str, key: str) -> Any:
    if kind == "tags":
        return model.tags.get(key)
    if key == "name":
        return model.name
    if key in ("timestamp", "creation_timestamp"):
        return millis(model.created_time)
    return millis(model.updated_time)


def _version_value(version: ModelVersionInfo, kind: str, key: str) -> Any:
    if kind == "tags":
        return version.tags.get(key)
    if key == "name":
        return version.name
    if key == "run_id":
        return version.run_id
    if key == "source_path":
        return version.properties.get(SOURCE)
    if key == "version_number":
        return version.version
    return millis(version.created_time)


def _tester(clauses: list[Clause], value: Callable[[Any, str, str], Any]) -> Callable[[Any], bool]:
    """The test of ``clauses``: a missing tag differs from every value, as in MLflow's registry
    (its client leaves prompts out with ``tags.`mlflow.prompt.is_prompt` != 'true'``)."""

    def test(item: Any) -> bool:
        for kind, key, op, literal in clauses:
            found = value(item, kind, key)
            if found is None:
                if op != "!=":
                    return False
            elif not COMPARE[op](found, literal):
                return False
        return True

    return test


def model_filter(text: str | None) -> Callable[[RegisteredModelInfo], bool]:
    """The test of a ``search_registered_models`` filter (``name LIKE 'x%' AND tags.k = 'v'``).

    Raises:
        InvalidQueryError: the filter does not parse; the message names the column.
    """
    if not text or not text.strip():
        return lambda _model: True
    clauses = filter_clauses(text, _MODEL_FIELDS, (), "registered model", "name or tags.KEY")
    return _tester(clauses, _model_value)


def version_filter(text: str | None) -> tuple[Callable[[ModelVersionInfo], bool], dict[str, str]]:
    """The test of a ``search_model_versions`` filter, and the ``name`` and ``run_id`` a clause
    fixes (what the store narrows its listing to).

    Raises:
        InvalidQueryError: the filter does not parse; the message names the column.
    """
    if not text or not text.strip():
        return (lambda _version: True), {}
    clauses = filter_clauses(
        text,
        _VERSION_FIELDS,
        ("version_number",),
        "model version",
        "name, run_id, source_path, version_number or tags.KEY",
    )
    exact = {
        key: literal
        for kind, key, op, literal in clauses
        if kind == "attribute" and op == "=" and key in ("name", "run_id")
    }
    return _tester(clauses, _version_value), exact


def _sort_value(value: Callable[[Any, str, str], Any], key: str, item: Any) -> Any:
    return value(item, "attribute", key)


def sort(found: list[Any], order_by: Sequence[str], default: Sequence[str], versions: bool) -> None:
    """Sort in place by MLflow's sort keys (``name ASC``, ``version_number DESC``...).

    Raises:
        InvalidArgumentError: a key is not one of the searched entity's.
    """
    allowed = _VERSION_SORTS if versions else _MODEL_SORTS
    value = _version_value if versions else _model_value
    for raw in reversed([*order_by, *default]):
        key, descending = sort_key(raw, allowed)
        found.sort(key=functools.partial(_sort_value, value, key), reverse=descending)


__all__ = [
    "by_alias",
    "model_filter",
    "new_version",
    "registered_json",
    "sort",
    "version_filter",
    "version_json",
    "version_number",
]
