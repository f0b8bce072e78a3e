"""Starts a run's script at once, then becomes its supervisor. Standard library only.

``python <this file> RUN_ID RUN_FOLDER``, launched by ``local.py``. When the submitter already
won the run a slot of the queue, it laid out the working copy and wrote ``launch.json`` (the
command, its folder and environment): this process starts the script before importing
anything of runyard, so the script's start does not wait for the supervisor's own imports
(SQLAlchemy alone takes a few hundred milliseconds). Then it imports the supervisor and hands
it the running process. Without ``launch.json`` (the run must queue), the supervisor does it
all itself.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

LAUNCH_FILE = "launch.json"


def die_with_parent() -> None:
    """In the script's process (Linux): get SIGKILL if the supervisor dies."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def start(spec: dict[str, Any]) -> subprocess.Popen[bytes]:
    """Start the script in its own process group, its output on a pipe."""
    return subprocess.Popen(
        spec["command"],
        cwd=spec["cwd"],
        env=spec["env"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=die_with_parent,  # called from the main thread only
    )


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print("usage: python launch.py RUN_ID RUN_FOLDER [NOTIFY_FD]", file=sys.stderr)
        return 2
    run_id, folder = argv[:2]
    notify = int(argv[2]) if len(argv) == 3 else None
    spec_file = Path(folder) / LAUNCH_FILE
    process = None
    if spec_file.is_file():
        spec = json.loads(spec_file.read_text())
        spec_file.unlink()  # it holds the environment, tokens included: read once, then gone
        process = start(spec)
    if notify is not None:  # tell the submitter, which is waiting to mark the run Running
        with contextlib.suppress(OSError):
            os.write(notify, b"started\n" if process is not None else b"queued\n")
        os.close(notify)
    # This file's folder is sys.path[0]: drop it before importing the package.
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        sys.path.pop(0)
    from runyard.runners import supervisor

    return supervisor.main([run_id], process=process)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
