"""What an ``HttpStore`` does while its server is away: keep changes, send them back, say so.

``Offline`` owns one client's journal (``runyard.store.http.journal``): ``keep`` appends a
change the server could not take, a ``Replayer`` thread sends what is kept, in order, as soon as
the server answers (woken by every new change, else with backoff), and ``ready`` makes any other
verb send what is kept first, so that it sees every change made before it. Failures of the
background sending (a change the server refused, a revoked token) are raised on the next call.

``KnownRuns`` is the client's best knowledge of its runs, for the verbs that return a RunInfo:
the last RunInfo the server sent, with the changes kept since applied here as the store would
(status changes and stop requests by the rules the SQL store follows too: ``apply_status`` and
``apply_stop`` of ``runyard.entities``).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from runyard.entities import RunInfo, RunStatus
from runyard.errors import RunyardError, StoreError
from runyard.store.http import journal as journals
from runyard.store.http.journal import Journal
from runyard.store.http.records import Record, ReplayReport

KNOWN_RUNS = 1024
"""RunInfos remembered per client, for the best local knowledge of a run."""
MAX_REPLAY_DELAY = 2.0
"""The longest wait between two tries to send the journal while the server stays away."""


class Replayer:
    """A daemon thread that sends a journal's records while it has some.

    Woken by every new record (it tries at once); after a failed try it waits, doubling the wait
    from ``first_delay`` up to ``max_delay``. ``on_sent`` gets each report of a try that got
    somewhere; ``on_error`` each failure other than an unreachable server (``StoreError``).
    """

    def __init__(
        self,
        journal: Journal,
        send: Callable[[Record], None],
        *,
        on_sent: Callable[[ReplayReport], None],
        on_error: Callable[[RunyardError], None],
        first_delay: float = 0.1,
        max_delay: float = MAX_REPLAY_DELAY,
    ) -> None:
        self.journal = journal
        self._send = send
        self._on_sent = on_sent
        self._on_error = on_error
        self._first_delay = first_delay
        self._max_delay = max_delay
        self._wake = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="runyard-journal", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stopped = True
        self._wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _loop(self) -> None:
        delay = self._first_delay
        while not self._stopped:
            self._wake.wait(delay if self.journal.pending else None)
            self._wake.clear()
            if self._stopped:
                return
            if not self.journal.pending:
                continue
            try:
                report = self.journal.replay(self._send)
            except Exception as exc:  # never let the thread die silently: report it
                self._on_error(
                    exc
                    if isinstance(exc, RunyardError)
                    else StoreError(f"Sending the journal {self.journal.folder} failed: {exc!r}")
                )
                delay = self._max_delay
                continue
            if report.total or report.refused:
                self._on_sent(report)
            if report.error is None:
                delay = self._first_delay
            elif isinstance(report.error, StoreError):
                delay = min(delay * 2, self._max_delay)
            else:
                self._on_error(report.error)
                delay = self._max_delay


class Offline:
    """The journal of one client (created when a change is first kept) and its sender.

    Args:
        uri: the tracking URI (for messages).
        folder: where this client's journal goes.
        meta: what the journal records about its client (``journal.new_meta``).
        send: sends one record to the server (``retries``: the transport's, None for its own).
        first_delay: the first wait of the background sender after a failed try.
    """

    def __init__(
        self,
        uri: str,
        folder: Path,
        meta: Mapping[str, Any],
        send: Callable[[Record, int | None], None],
        first_delay: float,
    ) -> None:
        self.uri = uri
        self.folder = folder
        self._meta = dict(meta)
        self._send = send
        self._first_delay = first_delay
        self._journal: Journal | None = None
        self._replayer: Replayer | None = None
        self._lock = threading.Lock()
        self._failure: RunyardError | None = None
        self._sent_since_away = 0
        self._pid = os.getpid()

    @property
    def pending(self) -> int:
        """Changes kept, not acknowledged by the server yet."""
        journal = self._journal
        return 0 if journal is None else journal.pending

    def _probe(self, record: Record) -> None:
        """Send a kept record once, without the transport's retries: the journal retries."""
        self._send(record, 0)

    def keep(self, record: Record, cause: StoreError | None = None) -> None:
        """Append the change to the journal (durably; a file it uploads is copied into the
        journal first) and wake the sender.

        Raises:
            StoreError: the journal cannot be written either.
        """
        with self._lock:
            journal = self._journal
            try:
                if journal is None:
                    journal = self._journal = Journal.create(self.folder, self._meta)
                    self._replayer = Replayer(
                        journal,
                        self._probe,
                        on_sent=self._sent,
                        on_error=self._replay_failed,
                        first_delay=self._first_delay,
                    )
                away = journal.pending == 0
                journal.append(record)
            except OSError as exc:
                raise StoreError(
                    f"The server at {self.uri} cannot be reached, and the change ({record.verb}) "
                    f"could not be kept in the journal at {self.folder} either: {exc}. Check "
                    f"that folder (or set {journals.JOURNAL_DIR_ENV})."
                ) from None
            replayer = self._replayer
        if away:
            reason = f" ({cause.message})" if cause is not None else ""
            _notice(
                f"runyard: the server at {self.uri} cannot be reached{reason}; changes to runs "
                f"are kept in the journal at {self.folder} and will be sent when it is back."
            )
        assert replayer is not None
        replayer.wake()

    def _sent(self, report: ReplayReport) -> None:
        """After a try: remember a refusal (raised on the next call), say when all is sent."""
        self._sent_since_away += report.total
        if report.refused:
            record, error = report.refused[0]
            runs = ", ".join(record.run_ids) or "-"
            self._failure = _as(
                error,
                f"A change kept in the journal while the server was away ({record.verb}, run "
                f"{runs}) was refused when it was sent: {error.message} It is kept in "
                f"{self.folder / 'rejected.jsonl'}. The call that reports this did nothing: "
                "make it again.",
            )
        if not self.pending and self._sent_since_away:
            _notice(
                f"runyard: the server at {self.uri} is back: {self._sent_since_away} change(s) "
                "kept in the journal were sent."
            )
            self._sent_since_away = 0

    def _replay_failed(self, error: RunyardError) -> None:
        self._failure = self._cannot_send(error)

    def _cannot_send(self, error: RunyardError) -> RunyardError:
        return _as(
            error, f"The changes kept in the journal at {self.folder} cannot be sent: {error}"
        )

    def raise_failure(self) -> None:
        """Raise, once, what went wrong sending the journal in the background."""
        failure, self._failure = self._failure, None
        if failure is not None:
            raise failure

    def ready(self) -> None:
        """Send what is kept now (for a verb that must see every change made before it).

        Raises:
            StoreError: the server is still away (the message says what is kept, and where).
            RunyardError: the server refused a kept change, or the journal cannot be sent.
        """
        self.raise_failure()
        journal = self._journal
        if journal is None or not journal.pending:
            return
        report = journal.replay(self._probe, upto=journal.end())
        self._sent(report)
        if isinstance(report.error, StoreError):
            raise self.away(report.error)
        if report.error is not None:
            raise self._cannot_send(report.error)
        self.raise_failure()

    def away(self, cause: RunyardError) -> StoreError:
        """The error of a verb that could not reach the server while changes are kept."""
        return StoreError(
            f"The server at {self.uri} cannot be reached; {self.pending} change(s) are kept in "
            f"the journal at {self.folder} and will be sent when it is back. ({cause.message})"
        )

    def settle(self) -> None:
        """Stop the sender; send what is kept if the server answers, else say where it stays
        for ``runyard sync``; release the journal (deleted when empty)."""
        if os.getpid() != self._pid:
            return  # a forked child's copy: the journal is the parent's
        with self._lock:
            journal, replayer = self._journal, self._replayer
            self._journal = self._replayer = None
        if replayer is not None:
            replayer.stop()
        if journal is None:
            return
        try:
            if journal.pending:
                self._sent(journal.replay(self._probe))
            if journal.pending:
                _notice(
                    f"runyard: {journal.pending} change(s) to runs of {self.uri} are kept in the "
                    f"journal at {journal.folder}: the server could not be reached. Run `runyard "
                    "sync` to send them when it is back."
                )
        finally:
            journal.close()


class KnownRuns:
    """The last RunInfo the server sent of each run (the most recent ``KNOWN_RUNS``)."""

    def __init__(self) -> None:
        self._runs: OrderedDict[str, RunInfo] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, info: RunInfo) -> RunInfo:
        with self._lock:
            self._runs[info.run_id] = info
            self._runs.move_to_end(info.run_id)
            while len(self._runs) > KNOWN_RUNS:
                self._runs.popitem(last=False)
        return info

    def last(self, run_id: str) -> RunInfo:
        """The run as last seen; a run never seen has only its id (the rest empty, '' or 0)."""
        found = self._runs.get(run_id)
        return found or RunInfo(run_id, "", "", 0, RunStatus.NOT_STARTED, 0.0)

    def guess(self, run_id: str, **changes: Any) -> RunInfo:
        """The run as last seen with ``changes`` applied, remembered as such."""
        return self.remember(dataclasses.replace(self.last(run_id), **changes))

    def update(self, run_id: str, change: Callable[[RunInfo], Mapping[str, Any]]) -> None:
        """Apply the changes ``change`` gives to a run seen before (others are left unknown)."""
        found = self._runs.get(run_id)
        if found is not None:
            self.remember(dataclasses.replace(found, **change(found)))


def _notice(message: str) -> None:
    """A line on stderr: what happens to the user's changes must not be silent."""
    print(message, file=sys.stderr, flush=True)


def _as(error: RunyardError, message: str) -> RunyardError:
    """``message`` as an error of ``error``'s class (the SDK catches by class)."""
    try:
        return type(error)(message)
    except TypeError:
        return RunyardError(message)
