"""Run files: uploads, listings and downloads of a run's artifacts."""

from __future__ import annotations

import io
import os
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import IO, Any

from runyard.capture.outputs import upload_new
from runyard.entities import ArtifactInfo
from runyard.errors import ArtifactNotFoundError, InvalidArgumentError, UserError
from runyard.store.artifacts import copy_stream
from runyard.store.base import Store


class RunFiles:
    """The artifact calls of one run."""

    def __init__(self, store: Store, run_id: str) -> None:
        self._store = store
        self._run_id = run_id

    def upload_file(
        self, name: str, path_or_stream: str | os.PathLike[str] | IO[bytes]
    ) -> ArtifactInfo:
        if isinstance(path_or_stream, (str, os.PathLike)):
            path = Path(path_or_stream)
            if not path.is_file():
                raise UserError(f"Cannot upload {str(path)!r}: no such file.")
            with path.open("rb") as handle:
                return self._store.put_artifact(self._run_id, name, handle)
        if not isinstance(path_or_stream, io.IOBase) and not hasattr(path_or_stream, "read"):
            raise InvalidArgumentError(
                f"path_or_stream must be a file path or a binary stream (io.IOBase), got "
                f"{type(path_or_stream).__name__}."
            )
        if isinstance(path_or_stream, io.TextIOBase):
            raise InvalidArgumentError(
                f"path_or_stream must be a binary stream, got the text stream "
                f"{type(path_or_stream).__name__}: open the file with 'rb', or wrap text in "
                "io.BytesIO(text.encode())."
            )
        return self._store.put_artifact(self._run_id, name, path_or_stream)  # type: ignore[arg-type]

    def upload_files(
        self, names: Sequence[str], paths: Sequence[str | os.PathLike[str]]
    ) -> list[ArtifactInfo]:
        if len(names) != len(paths):
            raise InvalidArgumentError(
                "names and paths must be lists of equal lengths. "
                f"Got {len(names)} names and {len(paths)} paths."
            )
        return [self.upload_file(name, path) for name, path in zip(names, paths, strict=True)]

    def upload_folder(self, name: str, path: str | os.PathLike[str]) -> list[ArtifactInfo]:
        root = Path(path)
        if not root.is_dir():
            raise UserError(f"Cannot upload folder {str(root)!r}: no such folder.")
        uploaded = []
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            relative = file.relative_to(root).as_posix()
            uploaded.append(self.upload_file(f"{name.rstrip('/')}/{relative}", file))
        return uploaded

    def upload_new(self, name: str, folder: Path) -> None:
        """Upload every file of ``folder`` not yet stored under ``name/`` (outputs at the end)."""
        upload_new(self._store, self._run_id, name, folder)

    def get_file_names(self, known_logs: Collection[str] = ()) -> list[str]:
        """Artifacts and logs (a script's ``user_logs/std_log.txt``), sorted by path.

        Args:
            known_logs: logs the run always has, listed even before their first byte (a
                script that printed nothing still has its, empty, output log).
        """
        names = {a.path for a in self._store.list_artifacts(self._run_id)}
        return sorted(names | {*self._store.list_logs(self._run_id), *known_logs})

    def download_file(
        self,
        name: str,
        output_file_path: str | os.PathLike[str] | None = None,
        known_logs: Collection[str] = (),
    ) -> Path:
        basename = name.rstrip("/").rsplit("/", 1)[-1]
        target = Path(output_file_path) if output_file_path is not None else Path(basename)
        if target.is_dir():
            target = target / basename
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            source = self._store.open_artifact(self._run_id, name)
        except ArtifactNotFoundError:
            if name not in known_logs and name not in self._store.list_logs(self._run_id):
                raise
            # A log is readable while the run still writes it: take what is there now.
            target.write_bytes(self._store.read_log(self._run_id, name))
            return target
        with source, target.open("wb") as out:
            copy_stream(source, out)
        return target

    def download_files(
        self,
        prefix: str | None = None,
        output_directory: str | os.PathLike[str] | None = None,
        output_paths: Sequence[str | os.PathLike[str]] | None = None,
        batch_size: int = 100,
        append_prefix: bool = True,
        **_: Any,
    ) -> list[Path]:
        found = self._store.list_artifacts(self._run_id, prefix)
        if output_paths is not None and len(output_paths) != len(found):
            raise InvalidArgumentError(
                f"output_paths has {len(output_paths)} entries but {len(found)} files match "
                f"prefix {prefix!r}; give one path per file or leave output_paths out."
            )
        base = Path(output_directory) if output_directory is not None else Path.cwd()
        written = []
        for index, artifact in enumerate(found):
            if output_paths is not None:
                target = Path(output_paths[index])
            else:
                relative = artifact.path
                if not append_prefix and prefix:
                    relative = relative[len(prefix) :].lstrip("/") or Path(relative).name
                target = base / relative
            written.append(self.download_file(artifact.path, target))
        return written
