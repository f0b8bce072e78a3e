"""Where artifact and snapshot bytes live: a local folder or any fsspec URL (``s3://...``).

The database records which paths exist (and enforces write-once); this only moves bytes.
Layout under the root: ``runs/<run_id>/<path>`` and ``blobs/<aa>/<sha256>``.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from typing import Any, BinaryIO

import fsspec

from runyard.errors import InvalidNameError, UserError

_CHUNK = 1024 * 1024


class ArtifactRepository:
    """Bytes under one root URL."""

    def __init__(self, root: str) -> None:
        self.root = root.rstrip("/")
        fs, path = fsspec.core.url_to_fs(self.root)
        self._fs: Any = fs
        self._base: str = path.rstrip("/")

    def _run_path(self, run_id: str, path: str) -> str:
        if run_id in ("", ".", ".."):
            raise InvalidNameError(f"Run id {run_id!r} cannot name an artifact folder.")
        return f"{self._base}/runs/{run_id}/{path}"

    def _blob_path(self, digest: str) -> str:
        return f"{self._base}/blobs/{digest[:2]}/{digest}"

    def write_artifact(self, run_id: str, path: str, source: BinaryIO) -> int:
        """Copy ``source`` to the artifact's place; return the number of bytes written."""
        return self._write(self._run_path(run_id, path), source, None)

    def open_artifact(self, run_id: str, path: str) -> BinaryIO:
        stream: BinaryIO = self._fs.open(self._run_path(run_id, path), "rb")
        return stream

    def delete_artifact(self, run_id: str, path: str) -> None:
        target = self._run_path(run_id, path)
        if self._fs.exists(target):
            self._fs.rm(target)

    def write_blob(self, digest: str, source: BinaryIO) -> int:
        return self._write(self._blob_path(digest), source, digest)

    def open_blob(self, digest: str) -> BinaryIO:
        stream: BinaryIO = self._fs.open(self._blob_path(digest), "rb")
        return stream

    def _write(self, target: str, source: BinaryIO, digest: str | None) -> int:
        """Write through a temporary name, then move into place, so readers never see half a
        file. With ``digest``, the content must hash to it."""
        parent = target.rsplit("/", 1)[0]
        self._fs.makedirs(parent, exist_ok=True)
        # Unique per writer: two processes storing the same blob at once must not share a file.
        temporary = f"{target}.partial-{uuid.uuid4().hex}"
        hasher = hashlib.sha256()
        size = 0
        try:
            with self._fs.open(temporary, "wb") as out:
                while True:
                    block = source.read(_CHUNK)
                    if not block:
                        break
                    hasher.update(block)
                    out.write(block)
                    size += len(block)
            if digest is not None and hasher.hexdigest() != digest:
                raise UserError(
                    f"The uploaded content hashes to {hasher.hexdigest()}, not {digest}: the "
                    "digest is wrong or the file changed while being read. Hash the content "
                    "again and upload it under that digest."
                )
            self._fs.mv(temporary, target)
        except BaseException:
            if self._fs.exists(temporary):
                self._fs.rm(temporary)
            raise
        return size


def copy_stream(source: BinaryIO, target: BinaryIO) -> None:
    shutil.copyfileobj(source, target, _CHUNK)
