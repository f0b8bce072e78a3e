"""Snapshots: a folder's files, content-addressed, so the same file is stored once.

Files are chosen by ignore rules: the folder's first of ``.runyardignore``, ``.amlignore`` (Azure
ML's, which wins over ``.gitignore`` there too) and ``.gitignore`` (gitignore syntax, read with
pathspec), plus the built-in ``ALWAYS_IGNORED``. A snapshot's id is
derived from its manifest, so snapshotting an unchanged folder twice stores nothing new.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import uuid
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

from runyard.entities import SnapshotFile
from runyard.errors import SnapshotError
from runyard.store.base import Store

if TYPE_CHECKING:
    import pathspec

MAX_SNAPSHOT_FILES = 2000
MAX_SNAPSHOT_BYTES = 300 * 1024 * 1024
ALWAYS_IGNORED = [
    ".git/",
    ".runyard/",
    ".venv/",
    "venv/",
    "__pycache__/",
    "*.pyc",
    ".ipynb_checkpoints/",
    ".pytest_cache/",
    ".mypy_cache/",
    ".ruff_cache/",
    "node_modules/",
]
IGNORE_FILES = (".runyardignore", ".amlignore", ".gitignore")

# (path, size, mtime_ns) -> sha256: an unchanged file is not hashed twice in one process.
_digests: dict[tuple[str, int, int], str] = {}
# The text of a folder's ignore file (None: it has none) -> its compiled rules.
_specs: dict[str | None, pathspec.PathSpec] = {}  # type: ignore[type-arg]
_MAX_SPECS = 64


def ignore_spec(folder: Path) -> pathspec.PathSpec:  # type: ignore[type-arg]
    """The ignore rules of ``folder``: ``ALWAYS_IGNORED`` and its first ``IGNORE_FILES``."""
    import pathspec  # ~10 ms: only when a snapshot is taken, not at ``import runyard``

    text: str | None = None
    for name in IGNORE_FILES:
        candidate = folder / name
        if candidate.is_file():
            text = candidate.read_text(errors="replace")
            break
    # Compiled once for each text of the rules (read every time: a change is seen at once).
    spec = _specs.get(text)
    if spec is None:
        lines = [*ALWAYS_IGNORED, *(text.splitlines() if text is not None else [])]
        # GitIgnoreSpec: git's own semantics, and no DeprecationWarning ("gitwildmatch" warns
        # in pathspec 1.x, which fails any caller running with warnings as errors).
        spec = pathspec.GitIgnoreSpec.from_lines(lines)
        if len(_specs) >= _MAX_SPECS:
            _specs.clear()
        _specs[text] = spec
    return spec


def select_files(
    folder: Path, max_files: int = MAX_SNAPSHOT_FILES, max_bytes: int = MAX_SNAPSHOT_BYTES
) -> list[tuple[str, Path, int]]:
    """(relative path, absolute path, size) of every file to snapshot, within the limits.

    Raises:
        SnapshotError: the folder is missing or holds more than the limits allow.
    """
    if not folder.is_dir():
        raise SnapshotError(
            f"Failed to take a snapshot of {folder}: it is not a folder. Pass "
            "snapshot_directory=None to start_logging to skip the snapshot."
        )
    spec = ignore_spec(folder)
    chosen: list[tuple[str, Path, int]] = []
    total = 0
    for root, dirs, files in os.walk(folder):
        rel_root = os.path.relpath(root, folder)
        rel_root = "" if rel_root == "." else rel_root.replace(os.sep, "/") + "/"
        dirs[:] = sorted(d for d in dirs if not spec.match_file(rel_root + d + "/"))
        for name in sorted(files):
            rel = rel_root + name
            path = Path(root) / name
            if spec.match_file(rel) or not path.is_file():
                continue
            size = path.stat().st_size
            total += size
            chosen.append((rel, path, size))
            if len(chosen) > max_files or total > max_bytes:
                raise SnapshotError(
                    f"Failed to take a snapshot of {folder}: it holds more than {max_files} "
                    f"files or {max_bytes // (1024 * 1024)} MB after ignore rules. List what to "
                    "leave out in a .runyardignore file (gitignore syntax), or pass "
                    "snapshot_directory=None to start_logging."
                )
    return chosen


RACY_SECONDS = 2.0
_SPOOL_BYTES = 8 * 1024 * 1024
"""A file copied for upload stays in memory up to this size, then goes to a temporary file."""


def _digest(path: Path) -> tuple[str, int] | None:
    """(sha256, size) of the file's content as read now; None if it is gone."""
    try:
        before = path.stat()
    except FileNotFoundError:
        return None
    key = (str(path), before.st_size, before.st_mtime_ns)
    found = _digests.get(key)
    if found is not None:
        return found, before.st_size
    hasher = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1024 * 1024), b""):
                hasher.update(block)
                size += len(block)
        after = path.stat()
    except FileNotFoundError:
        return None
    found = hasher.hexdigest()
    # As git does for "racy" files: a file modified within the timestamp's resolution of now
    # could change again without its (size, mtime) changing, so it is not cached; nor is one
    # that changed while it was read (its digest is of neither version).
    unchanged = (size, after.st_size, after.st_mtime_ns) == (key[1], key[1], key[2])
    if unchanged and before.st_mtime_ns < (time.time() - RACY_SECONDS) * 1e9:
        _digests[key] = found
    return found, size


def _upload(store: Store, path: Path) -> tuple[str, int] | None:
    """Upload the file as read now; return the (sha256, size) of what was uploaded, None if the
    file is gone. The file is read once, into a copy, hashed on the way: the bytes uploaded are
    the bytes hashed, even if the file changes meanwhile."""
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as copy:
        hasher = hashlib.sha256()
        try:
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1024 * 1024), b""):
                    hasher.update(block)
                    copy.write(block)
        except FileNotFoundError:
            return None
        size = copy.tell()
        copy.seek(0)
        store.put_blob(hasher.hexdigest(), cast(BinaryIO, copy))
    return hasher.hexdigest(), size


def take_snapshot(
    store: Store,
    folder: str | os.PathLike[str],
    max_files: int = MAX_SNAPSHOT_FILES,
    max_bytes: int = MAX_SNAPSHOT_BYTES,
) -> str:
    """Snapshot ``folder`` into the store; return the snapshot id.

    Each file is snapshotted as it is read: a file that changes while it is read (a log being
    written) is recorded with the digest and size of the bytes stored, and a file deleted
    after it was listed is left out, so the snapshot always succeeds and every entry matches
    its stored content.

    Raises:
        SnapshotError: the folder is missing or over the limits (``select_files``).
    """
    root = Path(folder).resolve()
    files = []
    for rel, path, _ in select_files(root, max_files, max_bytes):
        read = _digest(path)
        if read is not None:
            files.append(SnapshotFile(path=rel, digest=read[0], size=read[1]))
    missing = store.missing_blobs(f.digest for f in files)
    stored: set[str] = set()
    snapshotted = []
    for entry in files:
        if entry.digest in missing and entry.digest not in stored:
            # The file may have changed since it was hashed: what is uploaded is recorded.
            uploaded = _upload(store, root / entry.path)
            if uploaded is None:
                continue
            entry = SnapshotFile(path=entry.path, digest=uploaded[0], size=uploaded[1])
            stored.add(entry.digest)
        snapshotted.append(entry)
    manifest = "\n".join(f"{f.path}\0{f.digest}" for f in snapshotted).encode()
    snapshot_id = str(uuid.UUID(hashlib.sha256(manifest).hexdigest()[:32]))
    store.create_snapshot(snapshot_id, snapshotted)
    return snapshot_id


def write_zip(store: Store, snapshot_id: str, target: Path) -> Path:
    """Write the snapshot's files into the zip ``target``; return its absolute path."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for item in store.get_snapshot(snapshot_id):
            with store.open_blob(item.digest) as source, archive.open(item.path, "w") as out:
                while block := source.read(1024 * 1024):
                    out.write(block)
    return target.resolve()


def extract_snapshot(store: Store, snapshot_id: str, target: Path) -> None:
    """Write the snapshot's files under the folder ``target`` (a run's working copy)."""
    root = target.resolve()
    for item in store.get_snapshot(snapshot_id):
        path = (root / item.path).resolve()
        if not path.is_relative_to(root):
            raise SnapshotError(f"Snapshot {snapshot_id} names a path outside it: {item.path!r}.")
        path.parent.mkdir(parents=True, exist_ok=True)
        with store.open_blob(item.digest) as source, path.open("wb") as out:
            while block := source.read(1024 * 1024):
                out.write(block)
