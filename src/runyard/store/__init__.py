"""Stores: where runyard keeps everything. ``open_store`` picks the backend from a tracking URI."""

from __future__ import annotations

from pathlib import Path

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


def open_store(uri: str, artifact_root: str | None = None) -> Store:
    """Open the store a tracking URI names.

    Args:
        uri: ``sqlite:///path/to/runyard.db`` or ``postgresql+psycopg://user:pw@host/db``.
        artifact_root: where artifact bytes go (a folder or an fsspec URL such as
            ``s3://bucket/prefix``); next to the SQLite file by default.

    Raises:
        WorkspaceConfigError: the URI's scheme is not one runyard serves.
        MissingExtraError: the URI needs an optional dependency that is not installed.
    """
    scheme = uri.split(":", 1)[0].lower()
    if scheme == "sqlite":
        from runyard.store.sql import SqlStore

        root = artifact_root or default_artifact_root(uri)
        assert root is not None
        return SqlStore(uri, root)
    if scheme.startswith("postgresql"):
        try:
            import psycopg  # type: ignore[import-not-found]  # noqa: F401
        except ImportError:
            raise MissingExtraError(
                "PostgreSQL tracking URIs need the psycopg driver: pip install 'runyard[postgres]'."
            ) from None
        if artifact_root is None:
            raise WorkspaceConfigError(
                "A PostgreSQL store needs an artifact root: set RUNYARD_ARTIFACT_ROOT (a folder "
                "or an s3:// URL) or pass artifact_root."
            )
        from runyard.store.sql import SqlStore

        return SqlStore(uri, artifact_root)
    raise WorkspaceConfigError(
        f"Unsupported tracking URI {uri!r}: runyard stores are sqlite:///path/to/runyard.db or "
        "postgresql+psycopg://user:password@host/database."
    )
