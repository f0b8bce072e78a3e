"""The journal's file format on its own: segments, acknowledgements, crashes, corruption.

The sender here is a plain function that collects the records it is given (the server's side
is covered by ``test_journal.py``).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from runyard.errors import JournalBusyError, JournalCorruptError, RunNotFoundError, StoreError
from runyard.store.http import journal
from runyard.store.http.journal import Journal, find_journals, iter_records, new_meta
from runyard.store.http.records import Record


def _record(n: int, size: int = 10) -> Record:
    return Record(
        f"client-{n}",
        "append_log",
        "POST",
        "/runs/r/logs/content",
        ("r",),
        size,
        params={"name": "log.txt"},
        content=bytes([n % 256]) * size,
    )


def _journal(folder: Path, count: int, size: int = 10) -> Journal:
    created = Journal.create(folder, new_meta("http://127.0.0.1:1/ws", "ws", folder.name))
    for n in range(count):
        created.append(_record(n, size))
    return created


def _collect(into: list[str]) -> Callable[[Record], None]:
    return lambda record: into.append(record.request_id)


def test_journal_record_round_trips_bodies() -> None:
    record = Record(
        "c-1", "set_tags", "PATCH", "/runs/r/tags", ("r",), 1, body={"tags": {"a": None}}
    )
    assert Record.from_bytes(record.to_bytes()) == record
    binary = _record(7)
    assert Record.from_bytes(binary.to_bytes()) == binary


def test_journal_replay_sends_in_order_and_removes_what_was_acknowledged(tmp_path: Path) -> None:
    owned = _journal(tmp_path / "c", 5)
    sent: list[str] = []
    report = owned.replay(_collect(sent))
    assert sent == [f"client-{n}" for n in range(5)]
    assert (report.total, report.error, owned.pending) == (5, None, 0)
    owned.append(_record(5))
    owned.replay(_collect(sent))
    assert sent[-1] == "client-5"
    owned.close()
    assert not (tmp_path / "c").exists()  # empty: removed


def test_journal_stops_at_the_first_failure_and_keeps_the_rest(tmp_path: Path) -> None:
    owned = _journal(tmp_path / "c", 4)
    sent: list[str] = []

    def flaky(record: Record) -> None:
        if record.request_id == "client-2":
            raise StoreError("the server is away")
        sent.append(record.request_id)

    report = owned.replay(flaky)
    assert isinstance(report.error, StoreError)
    assert (sent, owned.pending) == (["client-0", "client-1"], 2)
    owned.close()  # not empty: kept
    reopened = Journal.open(tmp_path / "c")
    assert reopened.pending == 2
    reopened.replay(_collect(sent))
    assert sent == [f"client-{n}" for n in range(4)]
    reopened.close()


def test_journal_segments_roll_and_are_deleted_once_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal, "SEGMENT_BYTES", 200)
    owned = _journal(tmp_path / "c", 12, size=40)
    segments = sorted(p.name for p in (tmp_path / "c").glob("*.seg"))
    assert len(segments) > 3
    sent: list[str] = []
    owned.replay(_collect(sent))
    assert sent == [f"client-{n}" for n in range(12)]
    assert len(list((tmp_path / "c").glob("*.seg"))) == 1  # the one still written to
    owned.close()


def test_journal_acknowledgement_is_on_disk_before_the_process_ends(tmp_path: Path) -> None:
    owned = _journal(tmp_path / "c", 4)

    def away_from_the_third(record: Record) -> None:
        if record.request_id == "client-2":
            raise StoreError("the server is away")

    owned.replay(away_from_the_third)
    # The files as a process killed now leaves them (the lock dies with the process).
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    for path in (tmp_path / "c").iterdir():
        (crashed / path.name).write_bytes(path.read_bytes())
    owned.close()
    reopened = Journal.open(crashed)
    sent: list[str] = []
    reopened.replay(_collect(sent))
    assert sent == ["client-2", "client-3"]  # what the server acknowledged is not sent again
    reopened.close()
    assert not crashed.exists()


def test_journal_owned_by_a_running_process_is_busy(tmp_path: Path) -> None:
    owned = _journal(tmp_path / "c", 1)
    with pytest.raises(JournalBusyError, match="in use by a running process"):
        Journal.open(tmp_path / "c")
    owned.close()


def test_journal_refused_record_is_set_aside_and_the_rest_sent(tmp_path: Path) -> None:
    owned = _journal(tmp_path / "c", 3)
    sent: list[str] = []

    def refuse_one(record: Record) -> None:
        if record.request_id == "client-1":
            raise RunNotFoundError("Run 'r' was not found.")
        sent.append(record.request_id)

    report = owned.replay(refuse_one)
    assert sent == ["client-0", "client-2"]
    assert [r.request_id for r, _ in report.refused] == ["client-1"]
    owned.close()
    assert "client-1" in (tmp_path / "c" / "rejected.jsonl").read_text()
    assert find_journals(tmp_path) == [tmp_path / "c"]


def test_journal_torn_tail_of_an_earlier_segment_is_corruption(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal, "SEGMENT_BYTES", 100)
    _journal(tmp_path / "c", 4, size=60).close()
    first, *_ = sorted((tmp_path / "c").glob("*.seg"))
    first.write_bytes(first.read_bytes()[:-5])
    with pytest.raises(JournalCorruptError, match=f"The journal file {first} is corrupt"):
        Journal.open(tmp_path / "c")


def test_journal_iter_records_skips_a_torn_tail(tmp_path: Path) -> None:
    _journal(tmp_path / "c", 3).close()
    (segment,) = (tmp_path / "c").glob("*.seg")
    segment.write_bytes(segment.read_bytes()[:-1])
    assert [r.request_id for r in iter_records(tmp_path / "c")] == ["client-0", "client-1"]


def _upload(n: int, source: Path) -> Record:
    return Record(
        f"client-{n}",
        "put_new_artifact",
        "POST",
        "/runs/r/artifacts/content",
        ("r",),
        source.stat().st_size,
        params={"path": f"outputs/{source.name}"},
        file=str(source),
    )


def test_journal_upload_records_send_their_copy_once(tmp_path: Path) -> None:
    """A record that uploads a file keeps a copy of it in ``files/``: the file may go once the
    record is kept. The copy goes once the record is acknowledged (and survives until then)."""
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    for name in ("a.txt", "b.txt", "c.txt"):
        (outputs / name).write_text(f"bytes of {name}")
    owned = _journal(tmp_path / "c", 1)
    for n, name in enumerate(("a.txt", "b.txt", "c.txt"), start=1):
        owned.append(_upload(n, outputs / name))
    shutil.rmtree(outputs)
    kept = sorted((tmp_path / "c" / "files").iterdir())
    assert [p.name for p in kept] == ["client-1", "client-2", "client-3"]
    assert [r.file for r in iter_records(tmp_path / "c")][1:] == [
        f"files/client-{n}" for n in (1, 2, 3)
    ]
    received: dict[str, str] = {}

    def upload(record: Record) -> None:
        if record.request_id == "client-3":
            raise StoreError("the server is away")
        if record.file is not None:
            assert record.params is not None
            received[record.params["path"]] = Path(record.file).read_text()

    owned.replay(upload)
    assert received == {"outputs/a.txt": "bytes of a.txt", "outputs/b.txt": "bytes of b.txt"}
    assert [p.name for p in (tmp_path / "c" / "files").iterdir()] == ["client-3"]
    owned.replay(lambda record: None)
    owned.close()
    assert not (tmp_path / "c").exists()


def test_journal_upload_whose_copy_is_missing_is_refused_and_the_rest_sent(
    tmp_path: Path,
) -> None:
    source = tmp_path / "model.bin"
    source.write_bytes(b"weights")
    owned = _journal(tmp_path / "c", 0)
    owned.append(_upload(0, source))
    owned.append(_record(1))
    (tmp_path / "c" / "files" / "client-0").unlink()  # by hand
    sent: list[str] = []

    report = owned.replay(_collect(sent))

    assert sent == ["client-1"]
    ((refused, error),) = report.refused
    assert refused.request_id == "client-0"
    assert isinstance(error, JournalCorruptError)
    assert "is missing from the journal" in error.message
    owned.close()
    assert "outputs/model.bin" in (tmp_path / "c" / "rejected.jsonl").read_text()
