"""Artifact uploads: an ``artifacts`` row reserves its path while the bytes are written, and
records the artifact once they are.

An upload (``Upload``: a fresh ``upload_id`` and its ``writer``, the process writing)

1. **reserves** the path: inserts its row, pending (``complete = 0``), with the writer and the
   time of its last progress (``heartbeat_time``). A completed artifact at the path, or at a
   path that would make it both a file and a folder, refuses it (``ArtifactExistsError``), as
   does a pending upload that is alive. A pending upload that is *abandoned* is taken over: its
   row is replaced in the same transaction, and what it left is cleaned up afterwards
   (``ArtifactRepository.clean_upload``);
2. **keeps its reservation alive** while it writes: every quarter of the stale time it moves
   ``heartbeat_time`` on; a write finding its row taken over stops there;
3. **finishes**: marks its row complete, in the transaction that publishes the bytes (a rename,
   or the completion of an S3 upload), so that the bytes at a path change only while their
   upload still holds the reservation; once complete, a path is never written again;
4. or, when it fails, **releases** its row (if it still holds it).

A pending upload is abandoned when its last progress is older than the stale time
(``settings.upload_stale_seconds``, 300 s by default), or when its writer is known to be gone
(a process of this machine that no longer runs: ``store.processes``). Whoever takes an upload
over holds a reservation of its own first, so two live writers never both publish: the one
taken over finds out at its next keep-alive or when it finishes, and raises.

``SqlStore.put_artifact`` reserves (``reserve``), then hands over to ``write`` for the rest;
``reclaim`` is the same takeover for the uploads that no later upload retried, run when a
store is opened.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from sqlalchemy import Connection, delete, or_, select, update

from runyard.errors import ArtifactExistsError, RunyardError
from runyard.settings import UPLOAD_STALE_SECONDS_ENV, upload_stale_seconds
from runyard.store.artifacts import ArtifactRepository
from runyard.store.processes import ProcessId, is_gone
from runyard.store.sql.dialect import insert_ignoring_conflicts, starts_with
from runyard.store.sql.schema import artifacts, runs

Transaction = Callable[[], AbstractContextManager[Connection]]
"""A store's ``_write`` or ``_read``: a transaction, with database errors as runyard's."""


@dataclass(frozen=True)
class Upload:
    """One upload of an artifact: the reservation it holds."""

    run_pk: int
    run_id: str
    path: str
    upload_id: str
    writer: ProcessId
    stale_after: float
    """Seconds of silence after which another may take this upload over."""

    @classmethod
    def new(cls, run_pk: int, run_id: str, path: str) -> Upload:
        """A new upload by this process, with the stale time of the environment."""
        stale_after = upload_stale_seconds()
        return cls(run_pk, run_id, path, uuid.uuid4().hex, ProcessId.current(), stale_after)


@dataclass(frozen=True)
class Abandoned:
    """An upload taken over: what ``ArtifactRepository.clean_upload`` needs to clean after it."""

    run_id: str
    path: str
    upload_id: str | None
    """None: an upload of a runyard before revision 0004, whose partial file is beside the
    target."""
    keep: frozenset[str] = field(default_factory=frozenset)
    """For ``upload_id`` None: artifacts of the run named like its partial files."""


@dataclass(frozen=True)
class Busy:
    """A live upload holds the path (or one it would clash with): nothing was reserved."""

    error: ArtifactExistsError
    """What to raise if it still does after a wait."""


def _is_abandoned(row: Any, now: float, stale_after: float) -> bool:
    last = row.heartbeat_time if row.heartbeat_time is not None else row.created_time
    if now - last > stale_after:
        return True
    writer = ProcessId.from_text(row.writer)
    return writer is not None and is_gone(writer)


def _held_by(upload_id: str | None) -> Any:
    """The rows still held by the upload ``upload_id`` (None: one of before revision 0004)."""
    held = (
        artifacts.c.upload_id.is_(None) if upload_id is None else artifacts.c.upload_id == upload_id
    )
    return (artifacts.c.complete == 0) & held


def _row_held(upload: Upload) -> Any:
    """The artifact row of ``upload``, if the upload still holds it."""
    return (
        (artifacts.c.run_pk == upload.run_pk)
        & (artifacts.c.path == upload.path)
        & _held_by(upload.upload_id)
    )


def _exists(upload: Upload, other: str) -> ArtifactExistsError:
    if other == upload.path:
        return ArtifactExistsError(
            f"Artifact {upload.path!r} of run {upload.run_id!r} already exists; an artifact "
            "path is written once. Upload under another name."
        )
    return ArtifactExistsError(
        f"Artifact {upload.path!r} of run {upload.run_id!r} clashes with its artifact "
        f"{other!r}: a path cannot be both a file and a folder. Upload under another name."
    )


def _being_uploaded(upload: Upload, row: Any, now: float) -> ArtifactExistsError:
    writer = ProcessId.from_text(row.writer)
    who = writer.describe() if writer is not None else "another process"
    last = row.heartbeat_time if row.heartbeat_time is not None else row.created_time
    what = (
        f"Artifact {upload.path!r} of run {upload.run_id!r} is being uploaded"
        if row.path == upload.path
        else f"Artifact {upload.path!r} of run {upload.run_id!r} clashes with its artifact "
        f"{row.path!r}, which is being uploaded"
    )
    return ArtifactExistsError(
        f"{what} by {who} (last progress {max(0.0, now - last):.0f} s ago); an artifact path "
        "is written once. Upload under another name, or retry later: an upload that makes no "
        f"progress for {upload.stale_after:g} s ({UPLOAD_STALE_SECONDS_ENV}) may be taken over."
    )


def taken_over(upload: Upload) -> ArtifactExistsError:
    """The error of an upload whose reservation another took over."""
    return ArtifactExistsError(
        f"The upload of artifact {upload.path!r} of run {upload.run_id!r} was taken over: it "
        f"made no progress for more than {upload.stale_after:g} s ({UPLOAD_STALE_SECONDS_ENV}), "
        "or its process looked gone, and another upload of the path (or a process opening the "
        "store) reclaimed it. Nothing of this upload was kept; upload again."
    )


def _pending_columns() -> list[Any]:
    return [
        artifacts.c.path,
        artifacts.c.upload_id,
        artifacts.c.writer,
        artifacts.c.heartbeat_time,
        artifacts.c.created_time,
    ]


def reserve(conn: Connection, upload: Upload, now: float) -> list[Abandoned] | Busy:
    """Reserve ``upload.path``, taking over the abandoned uploads in its way (the path's own,
    or of a path it would clash with). The run's row is locked by the caller.

    Returns:
        The uploads taken over, for their leftovers to be cleaned; or ``Busy`` when a live
        upload holds the path or a clashing one (nothing reserved: the caller may retry).

    Raises:
        ArtifactExistsError: an artifact is complete at the path or at a clashing one.
    """
    parts = upload.path.split("/")
    folders = ["/".join(parts[:i]) for i in range(1, len(parts))]
    in_the_way = (artifacts.c.run_pk == upload.run_pk) & or_(
        artifacts.c.path == upload.path,
        artifacts.c.path.in_(folders),
        starts_with(artifacts.c.path, upload.path + "/"),
    )
    complete = conn.execute(
        select(artifacts.c.path)
        .where(in_the_way, artifacts.c.complete == 1)
        .order_by(artifacts.c.path != upload.path)  # the path's own first
        .limit(1)
    ).scalar()
    if complete is not None:
        raise _exists(upload, complete)
    pending = conn.execute(
        select(*_pending_columns()).where(in_the_way, artifacts.c.complete == 0)
    ).all()
    for row in pending:
        if not _is_abandoned(row, now, upload.stale_after):
            return Busy(_being_uploaded(upload, row, now))
    abandoned = []
    for row in pending:
        gone = conn.execute(
            delete(artifacts).where(
                artifacts.c.run_pk == upload.run_pk,
                artifacts.c.path == row.path,
                _held_by(row.upload_id),
            )
        ).rowcount
        if not gone:  # completed meanwhile (PostgreSQL: after our read, before our delete)
            raise _exists(upload, row.path)
        keep = legacy_keep(conn, upload.run_pk, row)
        abandoned.append(Abandoned(upload.run_id, row.path, row.upload_id, keep))
    claimed = conn.execute(
        insert_ignoring_conflicts(conn, artifacts),
        {
            "run_pk": upload.run_pk,
            "path": upload.path,
            "size": 0,
            "created_time": now,
            "complete": 0,
            "upload_id": upload.upload_id,
            "writer": upload.writer.to_text(),
            "heartbeat_time": now,
        },
    ).rowcount
    if not claimed:
        raise _exists(upload, upload.path)
    return abandoned


def legacy_keep(conn: Connection, run_pk: int, row: Any) -> frozenset[str]:
    """For an abandoned upload of before revision 0004 (``row.upload_id`` None), whose partial
    files are ``<path>.partial-<32 hex>`` beside the target: the run's artifacts so named, which
    its cleanup must leave alone."""
    if row.upload_id is not None:
        return frozenset()
    stmt = select(artifacts.c.path).where(
        artifacts.c.run_pk == run_pk, starts_with(artifacts.c.path, row.path + ".partial-")
    )
    return frozenset(conn.execute(stmt).scalars())


def keep_alive(conn: Connection, upload: Upload, now: float) -> None:
    """Record progress of ``upload``.

    Raises:
        ArtifactExistsError: the upload was taken over.
    """
    kept = conn.execute(
        update(artifacts).where(_row_held(upload)).values(heartbeat_time=now)
    ).rowcount
    if not kept:
        raise taken_over(upload)


def finish(conn: Connection, upload: Upload, size: int) -> None:
    """Mark ``upload``'s artifact complete (its row stays locked until the transaction ends,
    in which the caller publishes the bytes).

    Raises:
        ArtifactExistsError: the upload was taken over.
    """
    finished = conn.execute(
        update(artifacts).where(_row_held(upload)).values(size=size, complete=1)
    ).rowcount
    if not finished:
        raise taken_over(upload)


def release(conn: Connection, upload: Upload) -> bool:
    """Give up ``upload``'s reservation; False if it no longer held it (taken over)."""
    released = conn.execute(delete(artifacts).where(_row_held(upload))).rowcount
    return bool(released)


def abandoned_uploads(conn: Connection, now: float, stale_after: float) -> list[Any]:
    """The pending uploads that are abandoned: rows of ``run_pk``, ``run_id`` and the
    pending columns (path, upload_id, writer...)."""
    rows = conn.execute(
        select(artifacts.c.run_pk, runs.c.run_id, *_pending_columns())
        .join(runs, runs.c.pk == artifacts.c.run_pk)
        .where(artifacts.c.complete == 0)
    ).all()
    return [row for row in rows if _is_abandoned(row, now, stale_after)]


def adopt(conn: Connection, row: Any, upload: Upload, now: float) -> bool:
    """Take the abandoned upload ``row`` (of ``abandoned_uploads``) over as ``upload``, whose
    ``path`` is the row's; False if it changed meanwhile (taken over, or completed)."""
    adopted = conn.execute(
        update(artifacts)
        .where(
            artifacts.c.run_pk == row.run_pk,
            artifacts.c.path == row.path,
            _held_by(row.upload_id),
        )
        .values(
            upload_id=upload.upload_id,
            writer=upload.writer.to_text(),
            heartbeat_time=now,
        )
    ).rowcount
    return bool(adopted)


def pending_upload_ids(conn: Connection) -> set[str]:
    """The ids of the uploads under way (which name their partial files)."""
    stmt = select(artifacts.c.upload_id).where(
        artifacts.c.complete == 0, artifacts.c.upload_id.is_not(None)
    )
    return set(conn.execute(stmt).scalars())


# -- the steps, with the store's transactions --------------------------------------------------


def write(
    upload: Upload,
    abandoned: list[Abandoned],
    source: BinaryIO,
    repository: ArtifactRepository,
    transaction: Transaction,
) -> int:
    """The rest of an upload that ``reserve`` reserved: clean up after the uploads it took over,
    stage the bytes (keeping the reservation alive), then publish them in the transaction that
    finishes the upload; on failure, release the reservation. Returns the size.

    Raises:
        ArtifactExistsError: the upload was taken over meanwhile.
        StoreError: the database or the storage failed.
        Whatever ``source`` raises.
    """
    try:
        for dead in abandoned:
            repository.clean_upload(dead.run_id, dead.path, dead.upload_id, dead.keep)
        staged = repository.stage_artifact(
            upload.run_id, upload.path, source, upload.upload_id, _KeepAlive(upload, transaction)
        )
        try:
            with transaction() as conn:
                finish(conn, upload, staged.size)
                staged.publish()
        except BaseException as exc:
            staged.discard(exc)
            raise
    except BaseException as exc:
        _release(upload, exc, transaction)
        raise
    return staged.size


def _release(upload: Upload, error: BaseException, transaction: Transaction) -> None:
    """Give up a failed upload's reservation. Found taken over meanwhile, the upload raises
    that instead (from ``error``): the path is another upload's now."""
    try:
        with transaction() as conn:
            held = release(conn, upload)
    except RunyardError as exc:
        error.add_note(
            f"Releasing the reservation of {upload.path!r} failed too ({exc}); the next upload "
            "of the path takes it over once it is stale."
        )
        return
    if not held and isinstance(error, Exception) and not isinstance(error, ArtifactExistsError):
        raise taken_over(upload) from error


class _KeepAlive:
    """An upload's progress callback: it moves the reservation's ``heartbeat_time`` on every
    quarter of the stale time, and stops the write (raising) once the upload is taken over."""

    def __init__(self, upload: Upload, transaction: Transaction) -> None:
        self._upload = upload
        self._transaction = transaction
        self._interval = upload.stale_after / 4
        self._last = time.monotonic()

    def __call__(self) -> None:
        now = time.monotonic()
        if now - self._last < self._interval:
            return
        with self._transaction() as conn:
            keep_alive(conn, self._upload, time.time())
        self._last = now


def reclaim(read: Transaction, write: Transaction, repository: ArtifactRepository) -> int:
    """Reclaim the abandoned uploads no later upload took over, each adopted (held) while what
    it left is removed, then released; and remove the partial files no upload owns that are
    silent for the stale time. Returns the number of uploads reclaimed.

    Raises:
        StoreError: the database or the storage failed.
    """
    stale_after = upload_stale_seconds()
    now = time.time()

    def owned() -> set[str]:
        with read() as conn:
            return pending_upload_ids(conn)

    # The folder is listed first, then the uploads under way asked: an upload records its id
    # before it creates its partial file, so a file listed whose id is not recorded then
    # belongs to no live upload.
    repository.remove_stale_partials(owned, now - stale_after)
    with read() as conn:
        abandoned = abandoned_uploads(conn, now, stale_after)
    reclaimed = 0
    for row in abandoned:
        sweeper = Upload(row.run_pk, row.run_id, row.path, uuid.uuid4().hex, ProcessId.current(), 0)
        with write() as conn:
            if not adopt(conn, row, sweeper, time.time()):
                continue  # taken over, or completed, meanwhile
            keep = legacy_keep(conn, row.run_pk, row)
        repository.clean_upload(row.run_id, row.path, row.upload_id, keep)
        with write() as conn:
            release(conn, sweeper)
        reclaimed += 1
    return reclaimed
