"""Dead runs: a run whose process stopped heartbeating does not stay Running forever.

Two kinds of runs heartbeat: a submitted run (its supervisor) and an interactive run (the
metric writer thread of the process that started it, ``sdk.lifetime``). No daemon decides a run
is dead: the processes that read runs call ``expire_dead_runs``, and the store moves the runs in
one transaction: NotResponding after ``not_responding_seconds`` without a heartbeat, Failed
after ``dead_seconds``. A heartbeat that comes back moves NotResponding to Running again. A run
asked to stop (CancelRequested) whose supervisor is silent for ``not_responding_seconds`` ends as
the stop request asked (Canceled, or Failed for ``fail()``): nothing else would end it.

Who calls it: a supervisor (each poll), and every reader through ``sweep_dead_runs``:
``Run.get_status()`` and whatever re-reads a run, ``wait_for_completion()``, ``get_runs()`` /
``get_children()``, ``runyard runs list`` and ``show``. A read must not become a write on every
call, so a reader sweeps at most once per heartbeat period per store and process, and a
single-run read only when the run it read looks dead (a comparison of times, free); the store
looks for dead runs with a plain read first and takes its write lock only when it found one.
"""

from __future__ import annotations

import threading
import time
import weakref

from runyard.capture.error import build_error
from runyard.entities import SUPERVISED_STATUSES, RunInfo, RunStatus
from runyard.errors import StoreError, WorkspaceConfigError
from runyard.settings import RunnerSettings
from runyard.store.base import Store

_SILENT = frozenset({RunStatus.RUNNING, RunStatus.CANCEL_REQUESTED})
"""Statuses that change after ``not_responding_seconds`` without a heartbeat already."""

_next_sweep: weakref.WeakKeyDictionary[Store, float] = weakref.WeakKeyDictionary()
"""When this process may sweep each store again (monotonic); ``inf``: never (no permission)."""
_sweep_lock = threading.Lock()


def dead_run_error(settings: RunnerSettings, now: float) -> dict[str, object]:
    """The error recorded on a run whose process stopped heartbeating."""
    return build_error(
        f"The process running this run stopped sending heartbeats: none for "
        f"{settings.dead_seconds:g} s (the supervisor of a submitted run, or the Python process "
        "that started an interactive one, was killed, or its machine stopped), so the run was "
        "marked Failed. Its metrics up to the last flush are kept; start or submit it again.",
        "RunNotResponding",
        now,
    )


def stopped_run_error(settings: RunnerSettings, now: float) -> dict[str, object]:
    """The error recorded on a run asked to stop whose supervisor stopped heartbeating."""
    return build_error(
        f"The run was asked to stop, and its supervisor sent no heartbeat for "
        f"{settings.not_responding_seconds:g} s: its process was killed or the machine "
        "restarted, so the run was ended without it. Processes the script started may have "
        "outlived it.",
        "RunNotResponding",
        now,
    )


def expire_dead_runs(store: Store, settings: RunnerSettings | None = None) -> list[RunInfo]:
    """Mark runs with stale heartbeats NotResponding or Failed, and end CancelRequested runs
    whose supervisor is gone; return the runs changed."""
    settings = settings or RunnerSettings.from_env()
    now = time.time()
    return store.expire_heartbeats(
        not_responding_before=now - settings.not_responding_seconds,
        fail_before=now - settings.dead_seconds,
        error=dead_run_error(settings, now),
        stopped_error=stopped_run_error(settings, now),
    )


def looks_dead(info: RunInfo, settings: RunnerSettings, now: float) -> bool:
    """Whether ``expire_dead_runs`` would change ``info`` as read (by the reader's clock)."""
    beat = info.heartbeat_time
    if beat is None or info.status not in SUPERVISED_STATUSES:
        return False
    if info.status in _SILENT and now - beat > settings.not_responding_seconds:
        return True
    return now - beat > settings.dead_seconds


def sweep_dead_runs(store: Store, read: RunInfo | None = None) -> bool:
    """Expire the dead runs of ``store`` for a reader; return whether any run changed.

    With ``read`` (a run just read), only if it looks dead. At most once per heartbeat period
    (``RunnerSettings.heartbeat_seconds``) for each store in this process. Best effort: a store that
    is away or locked is tried again next time, one where this reader may not write (a
    reader's token) never again, and none while the runner settings of the environment are not
    valid; the read itself goes on either way.
    """
    try:
        settings = RunnerSettings.from_env()
    except WorkspaceConfigError:
        return False  # a read needs no runner settings; the calls that do raise the error
    if read is not None and not looks_dead(read, settings, time.time()):
        return False
    now = time.monotonic()
    with _sweep_lock:
        if now < _next_sweep.get(store, 0.0):
            return False
        _next_sweep[store] = now + settings.heartbeat_seconds
    try:
        return bool(expire_dead_runs(store, settings))
    except WorkspaceConfigError:  # 401/403: a read-only token; writers will do it
        with _sweep_lock:
            _next_sweep[store] = float("inf")
        return False
    except StoreError:
        return False
