"""``with run:``: what the block prints also goes to the run's log ``logs/user_log.txt``.

As Azure ML does for an interactive run, ``Run.__enter__`` tees ``sys.stdout`` and ``sys.stderr``
(still printed to the console) into the run's log, and ``Run.__exit__`` puts the streams back,
whatever ended the block. The log is a store log (``Store.append_log``), as a script's
``user_logs/std_log.txt`` is: readable while the block still runs (``runyard logs``, the web UI,
``download_file``), since a background thread sends what was written every ``SEND_SECONDS``.

Blocks nest: a child's ``with`` inside its parent's wraps the parent's tee, so what the child's
block prints is in both logs (it was printed inside both blocks). A tee whose stream was replaced
by someone else meanwhile (``contextlib.redirect_stdout``, a child's block still open) leaves the
stream as it is, and stops copying; a block that ends after its parent's puts back the console
stream, not the parent's ended tee.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, TextIO

from runyard.store.base import Store

USER_LOG = "logs/user_log.txt"
SEND_SECONDS = 0.5
"""How often what was printed is sent to the store while the block runs."""
MAX_PENDING = 8 * 1024 * 1024
"""Characters kept for the log while the store is away; past it the oldest are let go (and the
console says how many at the block's end)."""


class _TeeStream:
    """A text stream that writes to ``stream`` and copies what it writes to ``tee``."""

    def __init__(self, stream: TextIO, tee: OutputTee) -> None:
        self.wrapped = stream
        self._tee = tee

    def write(self, text: str) -> int:
        written = self.wrapped.write(text)
        if text:
            self._tee.add(text)
        return written

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self.wrapped.flush()

    def __getattr__(self, name: str) -> Any:
        # encoding, fileno, isatty, buffer...: the console stream's own
        return getattr(self.wrapped, name)


class OutputTee:
    """Copies ``sys.stdout`` and ``sys.stderr`` into a run's ``logs/user_log.txt`` from
    ``start()`` to ``stop()``."""

    def __init__(self, store: Store, run_id: str) -> None:
        self._store = store
        self._run_id = run_id
        self._lock = threading.Lock()
        self._pending: list[str] = []
        self._copying = False
        self._stdout: _TeeStream | None = None
        self._stderr: _TeeStream | None = None
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._reported = False
        self._pending_size = 0
        self._dropped = 0

    def add(self, text: str) -> None:
        """Keep ``text`` for the log (while copying)."""
        if self._copying:
            with self._lock:
                self._pending.append(text)
                self._pending_size += len(text)
                while self._pending_size > MAX_PENDING and len(self._pending) > 1:
                    dropped = self._pending.pop(0)
                    self._pending_size -= len(dropped)
                    self._dropped += len(dropped)

    def start(self) -> OutputTee:
        """Tee both streams and start sending what they get; returns self."""
        self._stdout = _TeeStream(sys.stdout, self)
        self._stderr = _TeeStream(sys.stderr, self)
        sys.stdout, sys.stderr = self._stdout, self._stderr
        self._copying = True
        self._thread = threading.Thread(
            target=self._send_every, name=f"runyard-tee-{self._run_id}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Put the streams back (unless replaced meanwhile) and send what is left."""
        self._copying = False
        if self._stdout is not None and sys.stdout is self._stdout:
            sys.stdout = _live(self._stdout.wrapped)
        if self._stderr is not None and sys.stderr is self._stderr:
            sys.stderr = _live(self._stderr.wrapped)
        self._stopped.set()
        if self._thread is not None:
            self._thread.join()
        self._send()
        lost = self._dropped + self._pending_size
        if lost:
            self._say(
                f"runyard: {lost} characters of output of run {self._run_id} could not be "
                f"written to its {USER_LOG} (the store was away); the console has them."
            )

    def _send_every(self) -> None:
        while not self._stopped.wait(SEND_SECONDS):
            self._send()

    def _send(self) -> None:
        with self._lock:
            text, self._pending = "".join(self._pending), []
            self._pending_size = 0
        if not text:
            return
        try:
            self._store.append_log(self._run_id, USER_LOG, text.encode("utf-8", "replace"))
        except Exception as exc:  # the store is away: keep it for the next send
            with self._lock:
                self._pending.insert(0, text)
                self._pending_size += len(text)
            if not self._reported:
                self._reported = True
                self._say(
                    f"runyard: could not write {USER_LOG} of run {self._run_id} "
                    f"(tried again every {SEND_SECONDS} s until the block ends): {exc}"
                )

    def _say(self, message: str) -> None:
        """Tell the console (never the teed streams: that would copy the message again)."""
        console = _live(self._stderr.wrapped) if self._stderr is not None else sys.__stderr__
        if console is not None:
            print(message, file=console)


def _live(stream: TextIO) -> TextIO:
    """``stream`` without the tees of blocks that have ended around it (a parent's block left
    before its child's): what a stream is put back to."""
    while isinstance(stream, _TeeStream) and not stream._tee._copying:
        stream = stream.wrapped
    return stream
