"""Stores: where runyard keeps everything. ``open_store`` picks the backend from a tracking URI."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from runyard.errors import MissingExtraError, WorkspaceConfigError
from runyard.store.base import Store

__all__ = ["Store", "default_artifact_root", "open_store"]


def default_artifact_root(uri: str) -> str | None:
    """The artifact folder beside an SQLite file (None for other URIs)."""
    if uri.startswith("sqlite:"):
        database = make_url(uri).database or ""
        return str(Path(database).resolve().parent / "artifacts")
    return None


def open_store(
    uri: str, artifact_root: str | None = None, storage_options: Mapping[str, Any] | None = None
) -> Store:
    """Open the store a tracking URI names.

    Args:
        uri: ``sqlite:///path/to/runyard.db``, ``postgresql+psycopg://user:pw@host/db``, or
            ``http(s)://host:port/<workspace>`` (a tracking server; the token comes from
            ``$RUNYARD_TOKEN``).
        artifact_root: where artifact bytes go (a folder or an fsspec URL such as
            ``s3://bucket/prefix``); next to the SQLite file by default. Ignored for a
            tracking server, which keeps artifacts where it is configured to.
        storage_options: options of the artifact root's fsspec file system (for ``s3://``,
            s3fs's: ``endpoint_url``, ``key``, ``secret``...); without them, S3 takes the usual
            AWS settings (see ``runyard.store.artifacts.ArtifactRepository``).

    Raises:
        WorkspaceConfigError: the URI's scheme is not one runyard serves.
        MissingExtraError: the URI needs an optional dependency that is not installed.
    """
    scheme = uri.split(":", 1)[0].lower()
    if scheme == "sqlite":
        from runyard.store.sql import SqlStore

        root = artifact_root or default_artifact_root(uri)
        assert root is not None
        return SqlStore(uri, root, storage_options=storage_options)
    if scheme.startswith("postgresql"):
        if importlib.util.find_spec("psycopg") is None:
            raise MissingExtraError(
                "PostgreSQL tracking URIs need the psycopg driver: pip install 'runyard[postgres]'."
            )
        if artifact_root is None:
            raise WorkspaceConfigError(
                "A PostgreSQL store needs an artifact root: set RUNYARD_ARTIFACT_ROOT (a folder "
                "or an s3:// URL) or pass artifact_root."
            )
        from runyard.store.sql import SqlStore

        return SqlStore(uri, artifact_root, storage_options=storage_options)
    if scheme in ("http", "https"):
        # A workspace of a tracking server: the server decides where artifacts go.
        try:
            from runyard.store.http.store import TOKEN_ENV, HttpStore
        except ModuleNotFoundError as exc:
            if exc.name != "httpx":
                raise
            raise MissingExtraError(
                "http(s) tracking URIs need httpx: pip install 'runyard[server]'."
            ) from None
        return HttpStore(uri, token=os.environ.get(TOKEN_ENV) or None)
    raise WorkspaceConfigError(
        f"Unsupported tracking URI {uri!r}: runyard stores are sqlite:///path/to/runyard.db, "
        "postgresql+psycopg://user:password@host/database, or a tracking server's workspace, "
        "http(s)://host:port/<workspace>."
    )
