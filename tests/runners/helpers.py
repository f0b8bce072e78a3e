"""Helpers of the script-run tests: polling with a deadline, and processes seen through /proc."""

from __future__ import annotations

import os
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

PROC = Path("/proc")


def wait_until(
    predicate: Callable[[], T | None],
    timeout: float = 20.0,
    interval: float = 0.05,
    what: str = "",
) -> T:
    """Call ``predicate`` until it returns something truthy (returned); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)


def write_script(folder: Path, name: str, code: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(code).lstrip())
    return path


def is_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie (an orphan may wait long for reaping)."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X")


def _pids() -> list[int]:
    return [int(entry.name) for entry in PROC.iterdir() if entry.name.isdigit()]


def _read(pid: int, name: str) -> list[str]:
    try:
        raw = (PROC / str(pid) / name).read_bytes()
    except OSError:
        return []
    return raw.decode(errors="replace").split("\0")


def pids_with_env(name: str, predicate: Callable[[str], bool]) -> list[int]:
    """Live processes (not this one) whose environment variable ``name`` satisfies ``predicate``."""
    found = []
    prefix = name + "="
    for pid in _pids():
        if pid == os.getpid():
            continue
        for entry in _read(pid, "environ"):
            if entry.startswith(prefix) and predicate(entry[len(prefix) :]):
                if is_alive(pid):
                    found.append(pid)
                break
    return found


def script_pids(run_id: str) -> list[int]:
    """The live processes of a run's script (the script and anything it started)."""
    return pids_with_env("RUNYARD_RUN_ID", lambda value: value == run_id)


def supervisor_pid(run_id: str) -> int | None:
    """The pid of ``python .../runyard/runners/launch.py RUN_ID FOLDER``, the run's supervisor
    (None when it is gone)."""
    for pid in _pids():
        args = _read(pid, "cmdline")
        launcher = any(arg.endswith("runyard/runners/launch.py") for arg in args)
        if launcher and run_id in args and is_alive(pid):
            return pid
    return None


def read_pids(path: Path, count: int, timeout: float = 20.0) -> list[int]:
    """Wait for a script to write ``count`` pids (space separated) to ``path``; return them."""

    def ready() -> list[int] | None:
        if not path.is_file():
            return None
        parts = path.read_text().split()
        return [int(p) for p in parts] if len(parts) == count else None

    return wait_until(ready, timeout, what=f"{count} pids in {path}")
