"""The records of the HTTP store's journal: what one kept change holds, and how it is framed.

A journal segment starts with ``SEGMENT_MAGIC``; each record is ``RECORD_MAGIC``, the payload's
length and CRC32 (both unsigned 32-bit little-endian), then the payload: a JSON object holding
the HTTP request of the change (method, path, query, body; for an upload of a file, the name of
the file's copy in the journal) and its request id. ``scan`` tells a torn last record (ignored)
from corruption in the middle (refused). ``runyard.store.http.journal`` keeps the records on
disk and sends them; ``ReplayReport`` says what a replay sent.
"""

from __future__ import annotations

import base64
import collections
import json
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runyard.errors import (
    JournalCorruptError,
    RunyardError,
)

SEGMENT_MAGIC = b"RUNYARD-JOURNAL-1\n"
RECORD_MAGIC = b"RYRC"
_FRAME = struct.Struct("<II")
HEADER_SIZE = len(RECORD_MAGIC) + _FRAME.size
MAX_RECORD_BYTES = 1 << 30

Position = tuple[int, int]
"""(segment number, byte offset in it)."""


# -- records ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    """One change: the HTTP request that applies it, and what it is about (for reports)."""

    request_id: str
    verb: str
    method: str
    path: str
    run_ids: tuple[str, ...] = ()
    count: int = 0
    """Metric points, log bytes, or tag and property keys: what reports add up."""
    params: Mapping[str, Any] | None = None
    body: Any = None
    """The JSON body, if any."""
    content: bytes | None = None
    """The binary body, if any."""
    time: float = 0.0
    file: str | None = None
    """A file whose bytes are the binary body: an absolute path (the user's file, or its copy
    in the journal as ``Journal.replay`` hands it to the sender), or in a segment the copy's
    path relative to the journal folder (``files/<name>``)."""

    def to_bytes(self) -> bytes:
        data = {
            "request_id": self.request_id,
            "verb": self.verb,
            "method": self.method,
            "path": self.path,
            "run_ids": list(self.run_ids),
            "count": self.count,
            "params": None if self.params is None else dict(self.params),
            "body": self.body,
            "content": None if self.content is None else base64.b64encode(self.content).decode(),
            "time": self.time,
            "file": self.file,
        }
        return json.dumps(data, separators=(",", ":"), allow_nan=True).encode()

    @classmethod
    def from_bytes(cls, payload: bytes) -> Record:
        data = json.loads(payload)
        content = data.get("content")
        return cls(
            request_id=str(data["request_id"]),
            verb=str(data["verb"]),
            method=str(data["method"]),
            path=str(data["path"]),
            run_ids=tuple(data.get("run_ids") or ()),
            count=int(data.get("count") or 0),
            params=data.get("params"),
            body=data.get("body"),
            content=None if content is None else base64.b64decode(content, validate=True),
            time=float(data.get("time") or 0.0),
            file=None if data.get("file") is None else str(data["file"]),
        )


def frame(record: Record) -> bytes:
    """The record as it is written in a segment."""
    payload = record.to_bytes()
    return RECORD_MAGIC + _FRAME.pack(len(payload), zlib.crc32(payload)) + payload


def check_at(data: bytes, pos: int) -> tuple[int, str | None]:
    """The end of the record at ``pos``, or (pos, what is wrong with it)."""
    if len(data) - pos < HEADER_SIZE:
        return pos, "a record header cut short"
    if data[pos : pos + len(RECORD_MAGIC)] != RECORD_MAGIC:
        return pos, "no record starts there"
    length, crc = _FRAME.unpack_from(data, pos + len(RECORD_MAGIC))
    end = pos + HEADER_SIZE + length
    if length > MAX_RECORD_BYTES or end > len(data):
        return pos, "a record cut short"
    if zlib.crc32(data[pos + HEADER_SIZE : end]) != crc:
        return pos, "a record whose checksum does not match"
    return end, None


def _valid_record_after(data: bytes, pos: int) -> bool:
    found = data.find(RECORD_MAGIC, pos + 1)
    while found != -1:
        if check_at(data, found)[1] is None:
            return True
        found = data.find(RECORD_MAGIC, found + 1)
    return False


def scan(data: bytes, start: int, path: Path, last: bool) -> tuple[list[Position], str | None]:
    """The (start, end) of every record of a segment's bytes from ``start``, and a note on a torn
    last record that was ignored (None when there is none).

    Raises:
        JournalCorruptError: a record that does not check out is followed by a valid one, or a
            segment other than the last one ends in a torn record.
    """
    if not data.startswith(SEGMENT_MAGIC):
        if last and SEGMENT_MAGIC.startswith(data):
            return [], None  # created, killed before its header was written: empty
        raise JournalCorruptError(
            f"The journal file {path} is not a runyard journal segment (bad header). Move it "
            "out of the journal folder to send the rest."
        )
    records: list[Position] = []
    pos = max(start, len(SEGMENT_MAGIC))
    while pos < len(data):
        end, problem = check_at(data, pos)
        if problem is None:
            records.append((pos, end))
            pos = end
            continue
        if not last or _valid_record_after(data, pos):
            raise JournalCorruptError(
                f"The journal file {path} is corrupt at byte {pos}: {problem}, with records "
                "after it. Nothing of this journal was sent. Keep the file for inspection; moving "
                "it out of the journal folder lets `runyard sync` send the rest, and loses every "
                "change in it."
            )
        return records, (
            f"Ignored a torn last record ({len(data) - pos} bytes, {problem}) at the end of "
            f"{path}: the writing process was stopped in the middle of writing it."
        )
    return records, None


# -- reports ---------------------------------------------------------------------------------------


@dataclass
class ReplayReport:
    """What one replay sent, what the server refused, and what stopped it."""

    sent: collections.Counter[str] = field(default_factory=collections.Counter)
    """Records sent, by verb."""
    counts: collections.Counter[str] = field(default_factory=collections.Counter)
    """Points, bytes or keys sent, by verb."""
    run_ids: set[str] = field(default_factory=set)
    refused: list[tuple[Record, RunyardError]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: RunyardError | None = None
    """What stopped the replay before the end (the server went away...); None if it ended."""

    @property
    def total(self) -> int:
        return sum(self.sent.values())

    def add(self, record: Record) -> None:
        self.sent[record.verb] += 1
        self.counts[record.verb] += record.count
        self.run_ids.update(record.run_ids)

    def describe(self) -> str:
        """``8 log_metrics (800 points), 1 set_run_status; runs r1, r2``."""
        units = {"log_metrics": "points", "append_log": "bytes", "put_new_artifact": "bytes"}
        parts = []
        for verb, records in sorted(self.sent.items()):
            unit = units.get(verb)
            parts.append(f"{records} {verb}" + (f" ({self.counts[verb]} {unit})" if unit else ""))
        runs = f"; runs {', '.join(sorted(self.run_ids))}" if self.run_ids else ""
        return ", ".join(parts) + runs
