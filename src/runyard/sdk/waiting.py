"""Waiting for a run to end and reading its logs: ``wait_for_completion``,
``get_details_with_logs`` and ``get_all_logs`` of every run (reference §7), whatever its type
and however the Run object was obtained.

A run's logs are those its store keeps (``Store.list_logs``): ``user_logs/std_log.txt`` of a
submitted script, ``logs/...`` of an interactive run that tees its output.
"""

from __future__ import annotations

import codecs
import json
import sys
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from runyard.entities import POST_PROCESSING_STATUSES, RUNNING_STATUSES, RunStatus
from runyard.errors import ActivityFailedError
from runyard.sdk.display import run_ui_url

if TYPE_CHECKING:
    from runyard.sdk.run import Run

POLL_SECONDS = 0.25


def web_view(run: Run) -> str | None:
    """The run's page in the web UI (``get_portal_url()``); None when no UI is known."""
    return run_ui_url(run.experiment.workspace.tracking, run.id)


def streamed_log(names: list[str]) -> str | None:
    """The log ``wait_for_completion(show_output=True)`` follows: as Azure ML, the last in sort
    order of the driver logs (``user_logs/std_log*.txt``, ``azureml-logs/NN*.txt``), else the
    last of the others (``logs/user_log.txt``); None while the run has none."""
    driver = [n for n in names if n.startswith(("user_logs/std_log", "azureml-logs/"))]
    chosen = sorted(driver or names)
    return chosen[-1] if chosen else None


class _Follower:
    """Prints a log's new bytes; picks the log once the run has one."""

    def __init__(self, run: Run, out: IO[str]) -> None:
        self._run = run
        self._out = out
        self._name: str | None = None
        self._offset = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def poll(self) -> None:
        if self._name is None:
            self._name = streamed_log(sorted(self._run._log_files()))
            if self._name is None:
                return  # no log yet: look again at the next poll
            line = "=" * (len(self._name) + 10)
            print(f"\nStreaming {self._name}\n{line}\n", file=self._out)
        data = self._run._store.read_log(self._run.id, self._name, self._offset)
        if data:
            self._out.write(self._decoder.decode(data))
            self._out.flush()
            self._offset += len(data)


def wait_for_completion(
    run: Run,
    show_output: bool,
    wait_post_processing: bool,
    raise_on_error: bool,
    file: IO[str] | None,
) -> dict[str, Any]:
    """``Run.wait_for_completion``: poll until the run ends, streaming its log when asked."""
    del wait_post_processing  # always waits for the final status (see Run.wait_for_completion)
    out = file or sys.stdout
    page = web_view(run)
    follower = _Follower(run, out) if show_output else None
    if show_output:
        print(f"RunId: {run.id}", file=out)
        if page:
            print(f"Web View: {page}", file=out)
    keep_waiting = RUNNING_STATUSES | POST_PROCESSING_STATUSES
    while True:
        status = run._refresh().status
        if follower is not None:
            follower.poll()
        if status not in keep_waiting:
            break
        time.sleep(POLL_SECONDS)
    if follower is not None:
        follower.poll()  # what was written between the last read and the end
        summary = f"\nExecution Summary\n=================\nRunId: {run.id}\n"
        print(summary + (f"Web View: {page}\n" if page else ""), file=out)
    details = run.get_details()
    if run._info.status is RunStatus.FAILED:
        error = details.get("error", {})
        if raise_on_error:
            raise ActivityFailedError("Activity Failed:\n" + json.dumps(error, indent=4), error)
        if show_output:
            print(f"\nError:\n{json.dumps(error, indent=4)}\n", file=out)
    return details


def details_with_logs(run: Run) -> dict[str, Any]:
    """``get_details()`` with each log's content in place of its address."""
    details = run.get_details()
    details["logFiles"] = {
        name: run._store.read_log(run.id, name).decode(errors="replace")
        for name in details.get("logFiles", {})
    }
    return details


def download_logs(run: Run, destination: str | Path | None) -> list[str]:
    """Write every log of the run under ``destination`` (default: a folder named as the run id
    in the current directory, as Azure ML), keeping its
    name's folders; return the paths written."""
    folder = Path(destination if destination is not None else run.id)
    written = []
    for name in sorted(run._log_files()):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(run._store.read_log(run.id, name))
        written.append(str(path))
    return written
