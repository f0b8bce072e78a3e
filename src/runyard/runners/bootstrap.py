"""Runs the user's script in the supervised process, as ``python script.py args`` would.

``python .../runyard/runners/bootstrap.py SCRIPT [ARGS...]`` (run as a file, before the package
is imported). The difference: an uncaught exception
is also written as JSON to the file ``ERROR_FILE_ENV`` names, so that the supervisor can record
"User program failed with ValueError: ..." as the run's error. The exception still goes to
``sys.excepthook`` (the traceback to stderr), and the exit code is Python's (1 for an
exception, the SystemExit code otherwise).
"""

from __future__ import annotations

import json
import os
import runpy
import signal
import sys
import traceback
import types
from pathlib import Path

# runyard.settings.ERROR_FILE_ENV, copied: this file runs as a script, before (and without)
# importing the package, which would delay the user's script. tests/test_settings.py checks them.
ERROR_FILE_ENV = "RUNYARD_ERROR_FILE"
TRACE_LINES = 20
stopped_by: int | None = None
"""The signal that stopped the script (SIGTERM: a stop request), None while not stopped."""


def _user_traceback(exc: BaseException, script: str) -> types.TracebackType | None:
    """The traceback from the script's first frame on: this file's and runpy's are noise."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != script:
        tb = tb.tb_next
    return tb or exc.__traceback__


def _on_sigterm(signum: int, frame: object) -> None:
    # A stop request: unwind like Ctrl-C would, so that `finally` blocks and atexit hooks (the
    # metric flush among them) run before the grace period ends.
    global stopped_by
    stopped_by = signum
    raise SystemExit(128 + signum)


def _record(exc: BaseException, script: str) -> None:
    target = os.environ.get(ERROR_FILE_ENV)
    if not target:
        return
    lines = traceback.format_exception(type(exc), exc, _user_traceback(exc, script))
    text = "".join(lines).splitlines()
    Path(target).write_text(
        json.dumps(
            {
                "type": type(exc).__name__,
                "message": str(exc),
                "traceback": "\n".join(text[-TRACE_LINES:]),
            }
        )
    )


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python bootstrap.py SCRIPT [ARGS...]", file=sys.stderr)
        return 2
    script = os.path.abspath(argv[0])
    sys.argv = [script, *argv[1:]]
    sys.path[0] = os.path.dirname(script)
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exc:
        code = exc.code
        if code is None or code == 0:
            return 0
        if isinstance(code, int):
            return code  # the supervisor reports "exited with code N"
        print(code, file=sys.stderr)
        _record(exc, script)
        return 1
    except BaseException as exc:
        _record(exc, script)
        # As `python script.py` would: the hook prints the traceback, and hooks the script set
        # see the exception (the one of runyard's interactive runs fails those still open).
        trimmed = _user_traceback(exc, script)
        sys.excepthook(type(exc), exc.with_traceback(trimmed), trimmed)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
