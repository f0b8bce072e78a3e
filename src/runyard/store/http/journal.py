"""The HTTP store's journal: changes to runs kept on disk while the tracking server is away.

One folder per client (one ``HttpStore``), ``<root>/<host_port>/<workspace>/<client id>/``, where
``<root>`` is the folder the variable ``settings.JOURNAL_DIR_ENV`` names (default
``~/.cache/runyard/journal``)::

    meta.json        the tracking URI, the client id, the writing process (pid, host), the time
    lock             flock'ed by the process that owns the journal, for as long as it is open
    00000001.seg     segments: append-only files of records, read in order
    acked            how far the server has acknowledged: {"segment": n, "offset": k}
    rejected.jsonl   records the server refused for good (a missing run...), with its answer
    files/           copies of the files that records upload (outputs of a run that ended while
                     the server was away), one per record, deleted once the record is sent

How a segment and its records are framed: ``runyard.store.http.records``. Each record is
written in one ``write`` and fsync'ed before the change counts as kept.

A record that does not check out (short, bad magic or CRC) is a *torn last record* when no valid
record follows it anywhere in the file: the writer was killed in the middle of an append, and it
is ignored. Followed by a valid record, it is corruption in the middle: ``Journal.open`` (and so
``runyard sync``) refuses the journal with ``JournalCorruptError``, naming the file and the
offset, and sends none of it.

Records are sent in order. A record is removed only after the server acknowledged it: the
``acked`` position is advanced durably (written to a temporary file, fsync'ed, renamed), and a
segment is deleted once every record in it is acknowledged. A crash between "applied" and
"acknowledged here" sends the record again; its request id makes the server ignore it (an
upload of a file is written once: the path the server holds already counts as done).

A record that uploads a file (``Record.file``) is appended after the file was copied into
``files/`` durably, so the upload does not depend on the user's file, which may be gone by the
time the server is back; the copy is deleted after the record is acknowledged durably. A copy that
is missing when its record is sent (deleted by hand) makes the record refused, not the journal
stuck.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from runyard.errors import (
    JournalBusyError,
    JournalCorruptError,
    RunyardError,
    StoreError,
    is_refusal,
)

# JOURNAL_DIR_ENV is re-exported: the offline side names it in its messages.
from runyard.settings import JOURNAL_DIR_ENV as JOURNAL_DIR_ENV
from runyard.settings import env_value
from runyard.store.http.records import (
    HEADER_SIZE,
    SEGMENT_MAGIC,
    Position,
    Record,
    ReplayReport,
    check_at,
    frame,
    scan,
)

SEGMENT_BYTES = 4 * 1024 * 1024
"""A new segment starts once the current one is this large (sent segments are deleted whole)."""
FILES = "files"
"""The journal's folder of copies of the files its records upload."""
BATCH_RECORDS = 64
"""Records sent between two durable advances of the ``acked`` position."""


def default_root() -> Path:
    """The folder of the variable ``JOURNAL_DIR_ENV``, else ``~/.cache/runyard/journal``."""
    given = env_value(JOURNAL_DIR_ENV)
    return Path(given).expanduser() if given else Path.home() / ".cache" / "runyard" / "journal"


# -- the journal -----------------------------------------------------------------------------------


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system can sync a directory
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _segment_name(number: int) -> str:
    return f"{number:08d}.seg"


def _lock(folder: Path) -> int:
    """An exclusive flock on ``folder/lock``, held until the descriptor is closed (or the
    process dies: a killed client's journal is free for ``runyard sync``)."""
    import fcntl

    fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise JournalBusyError(
            f"The journal {folder} is in use by a running process, which sends it itself."
        ) from None
    return fd


class Journal:
    """A client's journal folder, owned (locked) by this process while open.

    ``create`` starts a new one for a client; ``open`` takes over an existing one (``runyard
    sync``). Thread-safe: appends, replays and reads of ``pending`` may come from any thread.
    """

    def __init__(self, folder: Path, meta: Mapping[str, Any], lock_fd: int) -> None:
        self.folder = folder
        self.meta = dict(meta)
        self._lock_fd: int | None = lock_fd
        self._lock = threading.Lock()
        self._replay_lock = threading.Lock()
        self._segments: list[int] = []
        self._ends: dict[int, int] = {}
        """The end of each segment's valid records."""
        self._cursor: Position = (1, len(SEGMENT_MAGIC))
        self._saved: Position | None = None
        """The cursor as last written to ``acked``."""
        self._active: IO[bytes] | None = None
        self._active_number = 0
        self._pending = 0
        self.notes: list[str] = []
        """Torn last records found when the journal was opened."""
        self._sent_files: list[Path] = []
        """Copies of files whose records were sent, deleted once that is durably recorded."""

    @classmethod
    def create(cls, folder: Path, meta: Mapping[str, Any]) -> Journal:
        """A new, empty journal in ``folder`` (created), owned by this process."""
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # run data: the user's alone
        journal = cls(folder, meta, _lock(folder))
        _write_atomically(folder / "meta.json", json.dumps(journal.meta, indent=2).encode())
        return journal

    @classmethod
    def open(cls, folder: Path) -> Journal:
        """Take over the journal in ``folder``, checking every record.

        Raises:
            JournalBusyError: a running process owns it.
            JournalCorruptError: a record in the middle does not check out.
        """
        fd = _lock(folder)
        try:
            meta = json.loads((folder / "meta.json").read_text())
            journal = cls(folder, meta, fd)
            journal._load()
        except BaseException:
            os.close(fd)
            raise
        return journal

    def _load(self) -> None:
        numbers = sorted(
            int(p.stem) for p in self.folder.glob("*.seg") if p.stem.isascii() and p.stem.isdigit()
        )
        with contextlib.suppress(FileNotFoundError):
            acked = json.loads((self.folder / "acked").read_text())
            self._cursor = self._saved = (int(acked["segment"]), int(acked["offset"]))
        for number in numbers:
            path = self.folder / _segment_name(number)
            if number < self._cursor[0]:
                path.unlink()  # acknowledged; the process stopped before deleting it
                continue
            start = self._cursor[1] if number == self._cursor[0] else 0
            records, note = scan(path.read_bytes(), start, path, last=number == numbers[-1])
            self._segments.append(number)
            self._ends[number] = records[-1][1] if records else max(start, len(SEGMENT_MAGIC))
            self._pending += len(records)
            if note:
                self.notes.append(note)
        if self._segments and self._cursor[0] < self._segments[0]:
            self._cursor = (self._segments[0], len(SEGMENT_MAGIC))

    @property
    def pending(self) -> int:
        """Records not acknowledged by the server yet."""
        return self._pending

    def end(self) -> Position:
        """Where the next record will go: ``replay(upto=end())`` sends what is kept now."""
        with self._lock:
            if not self._segments:
                return (self._cursor[0], 0)
            last = self._segments[-1]
            return (last, self._ends[last])

    def append(self, record: Record) -> None:
        """Write the record at the end, durably, before returning; a file it uploads
        (``record.file``, an absolute path) is copied into the journal first.

        Raises:
            OSError: the record or the copy of its file cannot be written.
        """
        if record.file is not None and Path(record.file).is_absolute():
            record = replace(record, file=self._keep_file(record))
        data = frame(record)
        with self._lock:
            if self._lock_fd is None:
                raise StoreError(f"The journal {self.folder} is closed.")
            if self._active is None or self._ends[self._active_number] >= SEGMENT_BYTES:
                self._roll()
            assert self._active is not None
            self._active.write(data)
            self._active.flush()
            os.fsync(self._active.fileno())
            self._ends[self._active_number] += len(data)
            self._pending += 1

    def _keep_file(self, record: Record) -> str:
        """Copy the record's file to ``files/`` durably; return the copy's relative path."""
        assert record.file is not None
        folder = self.folder / FILES
        folder.mkdir(mode=0o700, exist_ok=True)
        name = f"{FILES}/" + re.sub(r"[^A-Za-z0-9._-]", "_", record.request_id)
        temporary = self.folder / (name + ".tmp")
        shutil.copyfile(record.file, temporary)
        with open(temporary, "rb") as copy:
            os.fsync(copy.fileno())
        os.replace(temporary, self.folder / name)
        _fsync_dir(folder)
        return name

    def _roll(self) -> None:
        """Start a new segment (the lock is held)."""
        if self._active is not None:
            self._active.close()
        number = max([self._cursor[0] - 1, *self._segments]) + 1
        path = self.folder / _segment_name(number)
        self._active = open(path, "xb")  # noqa: SIM115 - kept open for appends
        self._active.write(SEGMENT_MAGIC)
        self._active.flush()
        os.fsync(self._active.fileno())
        _fsync_dir(self.folder)
        self._active_number = number
        self._segments.append(number)
        self._ends[number] = len(SEGMENT_MAGIC)
        if self._pending == 0:
            self._cursor = (number, len(SEGMENT_MAGIC))

    def replay(self, send: Callable[[Record], None], upto: Position | None = None) -> ReplayReport:
        """Send the records in order, each with ``send``, removing each one the server
        acknowledged; stop at the first failure, or at ``upto`` (``end()``) when given.

        A record the server refuses for good (``is_refusal``) is moved to ``rejected.jsonl``
        and reported; any other ``RunyardError`` stops the replay and is in ``report.error``.
        """
        report = ReplayReport()
        with self._replay_lock:
            try:
                while report.error is None:
                    batch = self._next_batch(upto)
                    if not batch:
                        break
                    self._send_batch(batch, send, report)
                    self._save_cursor()
            except RunyardError as exc:  # a record that does not decode: corrupt
                report.error = exc
            finally:
                self._save_cursor()
        return report

    def _send_batch(
        self,
        batch: list[tuple[int, int, int, bytes]],
        send: Callable[[Record], None],
        report: ReplayReport,
    ) -> None:
        for number, start, end, payload in batch:
            path = self.folder / _segment_name(number)
            try:
                record = Record.from_bytes(payload)
            except (ValueError, KeyError, TypeError) as exc:
                raise JournalCorruptError(
                    f"The journal file {path} holds a record at byte {start} that cannot be "
                    f"read ({exc}). Nothing from this record on was sent."
                ) from None
            copy = None if record.file is None else self.folder / record.file
            if copy is not None:
                record = replace(record, file=str(copy))
            refused: RunyardError | None = None
            if copy is not None and not copy.is_file():
                # Deleted by hand: this record cannot be sent, the rest of the journal can.
                refused = JournalCorruptError(
                    f"The copy of the file to upload ({copy}) is missing from the journal: the "
                    f"upload {record.params} cannot be sent. Upload it again if you still can."
                )
            else:
                try:
                    send(record)
                except RunyardError as exc:
                    if not is_refusal(exc):
                        report.error = exc
                        return
                    refused = exc
            if refused is not None:
                self._reject(record, refused)
                report.refused.append((record, refused))
            else:
                report.add(record)
                if copy is not None:
                    self._sent_files.append(copy)
            with self._lock:
                self._cursor = (number, end)
                self._pending -= 1

    def _next_batch(self, upto: Position | None) -> list[tuple[int, int, int, bytes]]:
        """The next records to send, as (segment, start, end, payload); [] when there are none
        (before ``upto``). Moves the cursor past segments that are done."""
        while True:
            with self._lock:
                following = [n for n in self._segments if n >= self._cursor[0]]
                if not following:
                    return []
                number = following[0]
                offset = self._cursor[1] if number == self._cursor[0] else len(SEGMENT_MAGIC)
                self._cursor = (number, offset)
                end = self._ends[number]
                active = self._active is not None and number == self._active_number
            if upto is not None and (number, offset) >= upto:
                return []
            if offset < end:
                break
            if active:
                return []  # caught up with the writer
            with self._lock:  # every record of this segment is acknowledged: on to the next
                self._cursor = (number + 1, len(SEGMENT_MAGIC))
        path = self.folder / _segment_name(number)
        with open(path, "rb") as source:
            source.seek(offset)
            data = source.read(end - offset)
        batch: list[tuple[int, int, int, bytes]] = []
        pos = 0
        while pos < len(data) and len(batch) < BATCH_RECORDS:
            if upto is not None and (number, offset + pos) >= upto:
                break
            stop, problem = check_at(data, pos)
            if problem is not None:
                raise JournalCorruptError(
                    f"The journal file {path} changed under this process: at byte "
                    f"{offset + pos}, {problem}. Nothing from this record on was sent."
                )
            batch.append((number, offset + pos, offset + stop, data[pos + HEADER_SIZE : stop]))
            pos = stop
        return batch

    def _reject(self, record: Record, error: RunyardError) -> None:
        line = json.dumps(
            {
                "request_id": record.request_id,
                "verb": record.verb,
                "run_ids": list(record.run_ids),
                "error": {"code": error.code, "message": error.message},
                "record": json.loads(record.to_bytes()),
            }
        )
        with open(self.folder / "rejected.jsonl", "a", encoding="utf-8") as out:
            out.write(line + "\n")
            out.flush()
            os.fsync(out.fileno())

    def _save_cursor(self) -> None:
        """Make the acknowledged position durable, then delete the segments behind it."""
        with self._lock:
            cursor = self._cursor
            if cursor == self._saved:
                return
            done = [n for n in self._segments if n < cursor[0]]
            self._segments = [n for n in self._segments if n >= cursor[0]]
            for number in done:
                self._ends.pop(number, None)
            sent_files, self._sent_files = self._sent_files, []
        _write_atomically(
            self.folder / "acked", json.dumps({"segment": cursor[0], "offset": cursor[1]}).encode()
        )
        self._saved = cursor
        for path in [*(self.folder / _segment_name(n) for n in done), *sent_files]:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def close(self) -> None:
        """Release the journal; an empty one is deleted (its folder too, unless it keeps
        refused records)."""
        with self._lock:
            if self._lock_fd is None:
                return
            if self._active is not None:
                self._active.close()
                self._active = None
            empty = self._pending == 0
            fd, self._lock_fd = self._lock_fd, None
        try:
            if empty:
                self._remove()
        finally:
            os.close(fd)

    def _remove(self) -> None:
        for path in self.folder.glob("*.seg"):
            path.unlink()
        if (self.folder / "rejected.jsonl").exists():
            return  # kept for the user (with the copies of refused uploads), and the meta
        shutil.rmtree(self.folder / FILES, ignore_errors=True)  # copies a crash left behind
        for name in ("acked", "meta.json", "lock"):
            with contextlib.suppress(FileNotFoundError):
                (self.folder / name).unlink()
        folder = self.folder
        for _ in range(3):  # the client's folder, then its workspace's and server's if empty
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    _fsync_dir(path.parent)


def find_journals(root: Path) -> list[Path]:
    """The journal folders under ``root`` (or ``root`` itself), oldest first."""
    if (root / "meta.json").is_file():
        return [root]

    def created(folder: Path) -> float:
        try:
            return float(json.loads((folder / "meta.json").read_text()).get("created_time", 0))
        except (OSError, ValueError, AttributeError):
            return 0.0

    return sorted((p.parent for p in root.rglob("meta.json")), key=lambda f: (created(f), str(f)))


def new_meta(tracking_uri: str, workspace: str, client_id: str) -> dict[str, Any]:
    return {
        "format": 1,
        "tracking_uri": tracking_uri,
        "workspace": workspace,
        "client_id": client_id,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "created_time": time.time(),
    }


def iter_records(folder: Path) -> Iterator[Record]:
    """Every record kept in a journal folder, in order, without taking it over (for tests and
    inspection); torn last records are skipped."""
    numbers = sorted(
        int(p.stem) for p in folder.glob("*.seg") if p.stem.isascii() and p.stem.isdigit()
    )
    for number in numbers:
        path = folder / _segment_name(number)
        data = path.read_bytes()
        positions, _note = scan(data, 0, path, last=number == numbers[-1])
        for start, end in positions:
            yield Record.from_bytes(data[start + HEADER_SIZE : end])
