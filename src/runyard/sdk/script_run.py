"""ScriptRun: a submitted script's run, seen from outside (the submitter, or any process)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from runyard.capture.error import build_error
from runyard.entities import RunStatus
from runyard.errors import RunStateError
from runyard.runners.supervisor import STD_LOG
from runyard.sdk.run import Run
from runyard.settings import RunnerSettings


class ScriptRun(Run):
    """A run submitted with ``experiment.submit``; its supervisor process decides its status.
    ``Run(experiment, run_id)``, ``Run.get``, and the listings return one for such a run.

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

    # -- logs and files ------------------------------------------------------------------------

    def _log_files(self) -> dict[str, str]:
        # The script's output log is listed from the start, even before its first line.
        names = sorted({STD_LOG, *self._store.list_logs(self.id)})
        return {name: f"runyard://logs/{self.id}/{name}" for name in names}

    def get_file_names(self) -> list[str]:
        """Artifacts and logs, sorted by path; ``user_logs/std_log.txt`` is listed from the
        start, as in ``get_details()`` (empty while the script printed nothing)."""
        return self._files.get_file_names(known_logs=(STD_LOG,))

    def download_file(
        self, name: str, output_file_path: str | os.PathLike[str] | None = None, **_: Any
    ) -> Path:
        """Download the artifact or log ``name`` (its output log, empty or not, included)."""
        return self._files.download_file(name, output_file_path, known_logs=(STD_LOG,))

    def clean(self) -> list[str]:
        """Remove what the run left on its target: its folder ``<tmp>/runyard_runs/<run id>/``
        (the working copy the script ran in, kept after a failure or with the setting
        ``KEEP_WORKDIR_ENV``, and the supervisor's log); return the files removed. ``outputs/``
        was uploaded when the script ended; the run's files, logs and metrics in the store stay.

        Raises:
            RunStateError: the run has not ended (its script may still use the folder).
        """
        # The runners load with the first submit, not with ``import runyard``.
        from runyard.runners.supervisor import run_folder

        if not self._refresh().status.is_terminal:
            raise RunStateError(
                f"Run {self.id} is still {self._info.status.value}: clean() removes its working "
                "copy once it has ended (wait_for_completion() first, or cancel() it)."
            )
        folder = run_folder(self.id)
        removed = sorted(str(p) for p in folder.rglob("*") if p.is_file() or p.is_symlink())
        shutil.rmtree(folder, ignore_errors=True)
        return removed
