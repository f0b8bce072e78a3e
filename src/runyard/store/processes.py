"""Who a process is, written down so that another process can tell later whether it is gone.

An artifact upload records its writer (``ProcessId.current()``, as text); a later upload of the
same path asks ``is_gone``. A writer is gone for sure only when it ran on this machine, in this
pid namespace, since this boot (Linux: ``/proc``), and no process with its pid and start time is
alive any more (a zombie is not). On another machine or in another container, or without
``/proc``, nothing is known for sure, and ``is_gone`` says False: only the age of the writer's
silence then counts. A wrong False only makes a takeover wait; a wrong True cannot happen
unless two machines share a hostname and a boot id.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["ProcessId", "is_gone"]

_PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessId:
    """A process: its host, the boot and pid namespace it runs in, its pid and start time (the
    Linux ``/proc`` values; None where the system has none)."""

    host: str
    boot: str | None
    pid_namespace: str | None
    pid: int
    start: int | None

    @classmethod
    def current(cls) -> ProcessId:
        """This process (asked afresh: a forked child is another process)."""
        pid = os.getpid()
        stat = _stat(pid)
        return cls(
            host=socket.gethostname(),
            boot=_read(_PROC / "sys" / "kernel" / "random" / "boot_id"),
            pid_namespace=_pid_namespace(),
            pid=pid,
            start=None if stat is None else stat[1],
        )

    def to_text(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_text(cls, text: str | None) -> ProcessId | None:
        """The process ``to_text`` wrote; None for None or text it did not write."""
        if not text:
            return None
        try:
            return cls(**json.loads(text))
        except (ValueError, TypeError):
            return None

    def describe(self) -> str:
        return f"process {self.pid} on {self.host}"


def is_gone(process: ProcessId) -> bool:
    """True when ``process`` is known to have ended; False when it lives or cannot be known."""
    here = ProcessId.current()
    if None in (process.boot, process.pid_namespace, process.start):
        return False
    if (process.host, process.boot, process.pid_namespace) != (
        here.host,
        here.boot,
        here.pid_namespace,
    ):
        return False
    stat = _stat(process.pid)
    if stat is None:
        try:
            os.kill(process.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # alive, hidden from /proc (hidepid): another user's
        return False
    state, start = stat
    return start != process.start or state in ("Z", "X")


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks since boot) of ``pid`` from /proc; None without it."""
    text = _read(_PROC / str(pid) / "stat")
    if text is None:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after it.
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[19])


def _pid_namespace() -> str | None:
    try:
        return os.readlink(_PROC / "self" / "ns" / "pid")
    except OSError:
        return None


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None
