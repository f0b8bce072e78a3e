"""The interactive runs this process started: kept alive while it lives, ended when it exits.

A run that ``start_logging``, ``child_run`` or ``create_children`` creates is owned by the
process that created it (``adopt``). While the process lives, the run heartbeats: once at once,
with its creation (a process killed a moment after the start leaves a run that can still be
found dead), then every ``RunnerSettings.heartbeat_seconds`` from the workspace's metric writer
thread (``MetricPipeline.keep_alive``), so ``run.log`` pays nothing for it. When it ends:

- ``complete()``, ``fail()``, ``cancel()`` or the end of a ``with`` block: the run is released.
- The interpreter exits with the run still open: it is ended, children first. **Failed** with
  the exception that ended the program, if one did; **Completed** otherwise (a clean exit, or
  ``sys.exit``, whose code Python does not give to exit handlers). The exception is seen by a
  ``sys.excepthook`` that records it and calls the hook that was there before; if a hook set
  later replaced ours without calling it, the interpreter's own record of the uncaught
  exception (``sys.last_value``) is used. In an interactive session an exception does not end
  the program, so it does not fail the run.
- ``Workspace.close()``: its open runs are ended as at a clean exit.
- The process is killed (SIGKILL, ``os._exit``, a lost machine): nothing can run, so its
  heartbeats stop, and any reader marks the run NotResponding, then Failed
  (``runners.liveness``).

A run attached with ``Run(experiment, run_id)`` or ``Run.get`` is not owned, nor is the run of a
submitted script (``Run.get_context()``): its supervisor heartbeats and ends it. A forked child
owns none of its parent's runs.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from types import TracebackType
from typing import TYPE_CHECKING

from runyard.errors import StoreError

if TYPE_CHECKING:
    from runyard.sdk.run import Run
    from runyard.sdk.workspace import Workspace
    from runyard.store.base import Store

_lock = threading.Lock()
_owned: dict[tuple[int, str], Run] = {}
"""Open runs of this process by (id of their store, run id), in the order they were created."""
_installed = False
_failure: BaseException | None = None
"""The exception that ended the program, as the excepthook saw it."""


def _key(run: Run) -> tuple[int, str]:
    return (id(run.experiment.workspace.store), run.id)


def prepare(workspace: Workspace) -> None:
    """Start what keeps ``workspace``'s runs alive (its metric writer thread), before a run is
    created: an invalid runner setting of the environment is raised while nothing was.

    Raises:
        WorkspaceConfigError: a runner setting of the environment is not valid.
    """
    workspace.pipeline  # noqa: B018 - started on first use


def adopt(run: Run, heartbeaten: bool = False) -> None:
    """Own ``run``, which this process just created: heartbeat it now (unless its creation
    did: ``Store.create_runs(heartbeat=True)``) and from the workspace's writer thread, and end
    it at exit if it is still open then."""
    workspace = run.experiment.workspace
    if not heartbeaten:
        # Away or locked: the writer thread sends the next one within a period.
        with contextlib.suppress(StoreError):
            workspace.store.heartbeat(run.id)
    workspace.pipeline.keep_alive(run.id)
    with _lock:
        _owned[_key(run)] = run
        _install()


def release(run: Run) -> None:
    """Forget ``run`` (it has ended): no more heartbeats, nothing to do at exit."""
    with _lock:
        owned = _owned.pop(_key(run), None)
    if owned is not None:
        owned.experiment.workspace.pipeline.release(run.id)


def owned_runs(store: Store | None = None) -> list[Run]:
    """The open runs this process owns (of ``store`` only, when given), oldest first."""
    with _lock:
        runs = list(_owned.values())
    return [r for r in runs if store is None or r.experiment.workspace.store is store]


def end_owned(store: Store | None = None, failure: BaseException | None = None) -> None:
    """End the open runs this process owns (of ``store`` only, when given), newest first, so
    that children end before their parents: Failed with ``failure`` if given, else Completed.
    A run that cannot be ended is reported on stderr; the others are still ended."""
    for run in reversed(owned_runs(store)):
        try:
            run._end_owned(failure)
        except Exception as exc:  # one run's store being away must not keep the others open
            print(f"runyard: could not end run {run.id}: {exc}", file=sys.stderr)
            release(run)


def _install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    previous = sys.excepthook

    def excepthook(
        exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        global _failure
        if not _interactive():
            _failure = exc
        previous(exc_type, exc, tb)

    sys.excepthook = _hook = excepthook

    def at_exit() -> None:
        failure = _failure
        if failure is None and sys.excepthook is not _hook and not _interactive():
            # Replaced by a hook that does not call ours: the interpreter still recorded it.
            failure = getattr(sys, "last_value", None)
        end_owned(failure=failure)

    # Registered after the metric pipeline's flush (owned runs start it first), so it runs
    # before: atexit runs in reverse order, and ending a run flushes its points anyway.
    atexit.register(at_exit)


def _interactive() -> bool:
    """An interactive session, where an uncaught exception does not end the program."""
    return hasattr(sys, "ps1") or bool(sys.flags.interactive) or bool(sys.flags.inspect)


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()
    _owned.clear()  # the parent's runs: the parent keeps them alive and ends them


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
