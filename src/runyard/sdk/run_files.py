"""The file calls of ``Run``: its artifacts (uploads and downloads, through its ``RunFiles``)
and its snapshot (the folder its code ran from)."""

from __future__ import annotations

import builtins
import os
import tempfile
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from runyard.capture import snapshot
from runyard.entities import ArtifactInfo
from runyard.errors import SnapshotError, SnapshotNotFoundError
from runyard.sdk.files import RunFiles

if TYPE_CHECKING:
    from collections.abc import Mapping

    from runyard.store.base import Store


class _FileRun(Protocol):
    """What the file calls use of the run they are called on."""

    _store: Store
    _files: RunFiles

    @property
    def id(self) -> str: ...

    def get_properties(self) -> dict[str, str]: ...

    def add_properties(self, properties: Mapping[str, Any] | None) -> None: ...


class FileCalls:
    """The file and snapshot calls of a run (a base class of ``Run``; see ``_FileRun`` for
    what they use of it)."""

    # -- files ---------------------------------------------------------------------------------

    def upload_file(
        self: _FileRun, name: str, path_or_stream: str | os.PathLike[str] | IO[bytes]
    ) -> ArtifactInfo:
        """Store a file (a path or a binary stream) as the run's artifact ``name`` (once).

        Raises:
            ArtifactExistsError: ``name`` is already written.
            InvalidNameError: ``name`` is absolute or contains '..'.
        """
        return self._files.upload_file(name, path_or_stream)

    def upload_files(
        self: _FileRun,
        names: builtins.list[str],
        paths: builtins.list[str | os.PathLike[str]],
        **_: Any,
    ) -> builtins.list[ArtifactInfo]:
        return self._files.upload_files(names, paths)

    def upload_folder(
        self: _FileRun, name: str, path: str | os.PathLike[str], **_: Any
    ) -> builtins.list[ArtifactInfo]:
        return self._files.upload_folder(name, path)

    def get_file_names(self: _FileRun) -> builtins.list[str]:
        return self._files.get_file_names()

    def download_file(
        self: _FileRun, name: str, output_file_path: str | os.PathLike[str] | None = None, **_: Any
    ) -> Path:
        return self._files.download_file(name, output_file_path)

    def download_files(
        self: _FileRun,
        prefix: str | None = None,
        output_directory: str | os.PathLike[str] | None = None,
        output_paths: builtins.list[str | os.PathLike[str]] | None = None,
        batch_size: int = 100,
        append_prefix: bool = True,
        **_: Any,
    ) -> builtins.list[Path]:
        return self._files.download_files(
            prefix, output_directory, output_paths, batch_size, append_prefix
        )

    # -- snapshots -----------------------------------------------------------------------------

    def take_snapshot(self: _FileRun, file_or_folder_path: str | os.PathLike[str]) -> str:
        """Snapshot a folder with the run (once per run); return the snapshot id."""
        if "ContentSnapshotId" in self.get_properties():
            raise SnapshotError(f"Cannot take snapshot as the run already has one: {self.id}")
        snapshot_id = snapshot.take_snapshot(self._store, file_or_folder_path)
        self.add_properties({"ContentSnapshotId": snapshot_id})
        return snapshot_id

    def get_snapshot_id(self: _FileRun) -> str | None:
        """The id of the run's snapshot (its ``ContentSnapshotId`` property), or None."""
        return self.get_properties().get("ContentSnapshotId")

    def restore_snapshot(
        self: _FileRun,
        snapshot_id: str | None = None,
        path: str | os.PathLike[str] | None = None,
    ) -> str:
        """Write the run's snapshot as ``<path or a temp folder>/<id>.zip``; return that path."""
        snapshot_id = snapshot_id or self.get_properties().get("ContentSnapshotId")
        if not snapshot_id:
            raise SnapshotNotFoundError(
                f"Run {self.id} has no snapshot; pass snapshot_directory to start_logging or "
                "call take_snapshot."
            )
        folder = Path(path) if path is not None else Path(tempfile.mkdtemp(prefix="runyard-"))
        return str(snapshot.write_zip(self._store, snapshot_id, folder / f"{snapshot_id}.zip"))
