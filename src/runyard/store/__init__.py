"""Stores: where runyard keeps everything. ``open_store`` picks the backend from a tracking URI."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from runyard.errors import MissingExtraError, WorkspaceConfigError
from runyard.settings import ARTIFACT_ROOT_ENV, Scheme, TrackingUri, parse_with_env_token
from runyard.store.base import Store

__all__ = ["Store", "default_artifact_root", "open_store"]


def default_artifact_root(tracking: TrackingUri) -> str | None:
    """The artifact folder beside an SQLite file (None for other URIs)."""
    if tracking.scheme is Scheme.SQLITE:
        database = make_url(tracking.uri).database or ""
        return str(Path(database).resolve().parent / "artifacts")
    return None


def open_store(
    uri: str | TrackingUri,
    artifact_root: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> Store:
    """Open the store a tracking URI names.

    Args:
        uri: ``sqlite:///path/to/runyard.db``, ``postgresql+psycopg://user:pw@host/db``, or
            ``http(s)://host:port/<workspace>`` (a tracking server), parsed or as a string (then
            parsed here, with the token of the variable ``settings.TOKEN_ENV``).
        artifact_root: where artifact bytes go (a folder or an fsspec URL such as
            ``s3://bucket/prefix``); next to the SQLite file by default. Ignored for a
            tracking server, which keeps artifacts where it is configured to.
        storage_options: options of the artifact root's fsspec file system (for ``s3://``,
            s3fs's: ``endpoint_url``, ``key``, ``secret``...); without them, S3 takes the usual
            AWS settings (see ``runyard.store.artifacts.ArtifactRepository``).

    Raises:
        WorkspaceConfigError: the URI's scheme is not one runyard serves, or a server's URI
            names no workspace (``TrackingUri.parse``).
        MissingExtraError: the URI needs an optional dependency that is not installed.
    """
    tracking = uri if isinstance(uri, TrackingUri) else parse_with_env_token(uri)
    if tracking.scheme is Scheme.SQLITE:
        from runyard.store.sql import SqlStore

        root = artifact_root or default_artifact_root(tracking)
        assert root is not None
        return SqlStore(tracking.uri, root, storage_options=storage_options)
    if tracking.scheme is Scheme.POSTGRESQL:
        if importlib.util.find_spec("psycopg") is None:
            raise MissingExtraError(
                "PostgreSQL tracking URIs need the psycopg driver: pip install 'runyard[postgres]'."
            )
        if artifact_root is None:
            raise WorkspaceConfigError(
                f"A PostgreSQL store needs an artifact root: set {ARTIFACT_ROOT_ENV} (a folder "
                "or an s3:// URL) or pass artifact_root."
            )
        from runyard.store.sql import SqlStore

        return SqlStore(tracking.uri, artifact_root, storage_options=storage_options)
    # A workspace of a tracking server: the server decides where artifacts go.
    assert tracking.is_server
    try:
        from runyard.store.http.store import HttpStore
    except ModuleNotFoundError as exc:
        if exc.name != "httpx":
            raise
        raise MissingExtraError(
            "http(s) tracking URIs need httpx: pip install 'runyard[server]'."
        ) from None
    return HttpStore(tracking)
