"""ScriptRun: a submitted script's run, seen from outside (the submitter, or any process)."""

from __future__ import annotations

import codecs
import json
import os
import sys
import time
from pathlib import Path
from typing import IO, Any

from runyard.capture.error import build_error
from runyard.entities import POST_PROCESSING_STATUSES, RUNNING_STATUSES, RunStatus
from runyard.errors import ActivityFailedError, RunStateError
from runyard.sdk.details import run_details
from runyard.sdk.run import Run
from runyard.settings import RunnerSettings

STD_LOG = "user_logs/std_log.txt"
POLL_SECONDS = 0.25


class ScriptRun(Run):
    """A run submitted with ``experiment.submit``; its supervisor process decides its status.

    ``cancel()`` and ``fail()`` stop the script wherever it runs (SIGTERM to its process group,
    a grace period, SIGKILL) and wait for it to be gone.
    """

    # -- status --------------------------------------------------------------------------------
    # A silent run is found dead by any reader: Run._refresh sweeps (runners.liveness).

    def _stop(self, status: RunStatus, error: Any, timeout_seconds: float | None) -> None:
        ended = self._info.status if self._info.status.is_terminal else None
        self._info = self._store.request_stop(self.id, status, error)
        self._warn_if_ended(ended, status)
        limit = timeout_seconds
        if limit is None:
            limit = RunnerSettings.from_env().cancel_grace_seconds + 30.0
        deadline = time.monotonic() + limit
        while not self._info.status.is_terminal and time.monotonic() < deadline:
            time.sleep(0.05)
            self._refresh()

    def cancel(self, timeout_seconds: float | None = None) -> None:
        """Stop the script and mark the run Canceled; waits until its processes are gone
        (at most the grace period plus 30 s, or ``timeout_seconds``)."""
        self._stop(RunStatus.CANCELED, None, timeout_seconds)

    def fail(
        self,
        error_details: Any = None,
        error_code: str | None = None,
        timeout_seconds: float | None = None,
        **_: Any,
    ) -> None:
        """Stop the script and mark the run Failed with this error (waits as ``cancel``)."""
        self._stop(
            RunStatus.FAILED, build_error(error_details, error_code, time.time()), timeout_seconds
        )

    def complete(self, _set_status: bool = True) -> None:
        """A script run completes when its script exits with code 0.

        Raises:
            RunStateError: the run is still running.
        """
        if not self._refresh().status.is_terminal:
            raise RunStateError(
                f"Run {self.id} is a submitted script: it completes when its script exits with "
                "code 0. Use cancel() or fail() to stop it."
            )

    # -- details and logs ----------------------------------------------------------------------

    def _log_files(self) -> dict[str, str]:
        # The script's output log is listed from the start, even before its first line.
        names = sorted({STD_LOG, *self._store.list_logs(self.id)})
        return {name: f"runyard://logs/{self.id}/{name}" for name in names}

    def get_details(self) -> dict[str, Any]:
        """Run details, with ``runDefinition`` and the run's ``logFiles``."""
        return run_details(self._refresh(), self._log_files())

    def get_file_names(self) -> list[str]:
        """Artifacts and logs, sorted by path; ``user_logs/std_log.txt`` is listed from the
        start, as in ``get_details()`` (empty while the script printed nothing)."""
        return self._files.get_file_names(known_logs=(STD_LOG,))

    def download_file(
        self, name: str, output_file_path: str | os.PathLike[str] | None = None, **_: Any
    ) -> Path:
        """Download the artifact or log ``name`` (its output log, empty or not, included)."""
        return self._files.download_file(name, output_file_path, known_logs=(STD_LOG,))

    def get_details_with_logs(self) -> dict[str, Any]:
        """``get_details()`` with each log's content in place of its address."""
        details = self.get_details()
        details["logFiles"] = {
            name: self._store.read_log(self.id, name).decode(errors="replace")
            for name in details.get("logFiles", {})
        }
        return details

    def wait_for_completion(
        self,
        show_output: bool = False,
        wait_post_processing: bool = False,
        raise_on_error: bool = True,
        file: IO[str] | None = None,
    ) -> dict[str, Any]:
        """Wait for the run to end; with ``show_output``, stream its log as it is written.

        Returns ``get_details()``. Works from any process that holds the run. Unlike Azure ML,
        which returns at Finalizing unless ``wait_post_processing``, this always waits for the
        final status: a local run's post-processing (uploading ``outputs/``, stopping its
        processes) is short, and only the final status says whether the run failed.

        Raises:
            ActivityFailedError: the run Failed (unless ``raise_on_error=False``).
        """
        out = file or sys.stdout
        if show_output:
            print(f"RunId: {self.id}", file=out)
            print(f"\nStreaming {STD_LOG}\n{'=' * (len(STD_LOG) + 10)}\n", file=out)
        offset = 0
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        keep_waiting = RUNNING_STATUSES | POST_PROCESSING_STATUSES
        while True:
            status = self._refresh().status
            if show_output:
                offset += self._print_log(offset, out, decoder)
            if status not in keep_waiting:
                break
            time.sleep(POLL_SECONDS)
        if show_output:
            offset += self._print_log(offset, out, decoder)
            print(f"\nExecution Summary\n=================\nRunId: {self.id}\n", file=out)
        details = self.get_details()
        if self._info.status is RunStatus.FAILED:
            error = details.get("error", {})
            if raise_on_error:
                raise ActivityFailedError("Activity Failed:\n" + json.dumps(error, indent=4), error)
            if show_output:
                print(f"\nError:\n{json.dumps(error, indent=4)}\n", file=out)
        return details

    def _print_log(self, offset: int, out: IO[str], decoder: codecs.IncrementalDecoder) -> int:
        data = self._store.read_log(self.id, STD_LOG, offset)
        if data:
            out.write(decoder.decode(data))
            out.flush()
        return len(data)
