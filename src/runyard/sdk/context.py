"""``Run.get_context()``: the run a submitted script belongs to, found from its environment.

Inside a script launched by a runyard supervisor, the run id and the tracking URI in the
environment (``settings.RUN_ID_ENV``, ``settings.TRACKING_URI_ENV``) name the run;
``get_context`` returns a ``SubmittedRun`` for it, the same object on every call. Elsewhere:

- with ``settings.EXPERIMENT_ENV`` set to an experiment's name (the opt-in MLflow users expect:
  a script run directly is tracked too), a real run of that experiment, started at the first
  call as ``Experiment(Workspace.from_config(), name).start_logging()`` does (``./outputs``, a
  snapshot of the current folder) and the same object on every later call. This process owns
  it (``lifetime``): it is Completed when the interpreter exits, or Failed with the exception
  that ended the program;
- otherwise an ``OfflineRun`` that prints what it would have logged (or ``RunEnvironmentError``
  with ``allow_offline=False``).
"""

from __future__ import annotations

import logging
import time
from types import TracebackType
from typing import Any

from runyard.capture.error import build_error
from runyard.errors import RunEnvironmentError
from runyard.sdk.experiment import Experiment
from runyard.sdk.offline import OfflineRun as OfflineRun  # what get_context returns offline
from runyard.sdk.run import Run
from runyard.sdk.workspace import Workspace
from runyard.settings import (
    ARTIFACT_ROOT_ENV,
    EXPERIMENT_ENV,
    RUN_ID_ENV,
    TRACKING_URI_ENV,
    env_value,
)

logger = logging.getLogger("runyard")

# One SubmittedRun per (tracking URI, run id) in this process: get_context returns the same
# object every time, as Azure ML does.
_submitted: dict[tuple[str, str], SubmittedRun] = {}
# The run started for settings.EXPERIMENT_ENV, by experiment name: one per process.
_started: dict[str, Run] = {}


class SubmittedRun(Run):
    """The run of the script this process runs: its exit code decides the final status."""

    def complete(self, _set_status: bool = True) -> None:
        """Flush metrics; the status is set from the script's exit code."""
        self.flush()

    def fail(self, error_details: Any = None, error_code: str | None = None, **_: Any) -> None:
        """Record the error; the status is set from the script's exit code."""
        self.flush()
        self._store.record_error(self.id, build_error(error_details, error_code, time.time()))

    def cancel(self) -> None:
        logger.warning("cancel is not supported for submitted runs.")

    def __enter__(self) -> SubmittedRun:
        # No tee: the supervisor already stores all the script prints in user_logs/std_log.txt.
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        self.complete()
        propagate = False  # exceptions propagate; the script's exit code decides the status
        return propagate


def get_context(allow_offline: bool = True) -> Run | OfflineRun:
    run_id = env_value(RUN_ID_ENV)
    uri = env_value(TRACKING_URI_ENV)
    if run_id and uri:
        found = _submitted.get((uri, run_id))
        if found is None:
            workspace = Workspace(uri, artifact_root=env_value(ARTIFACT_ROOT_ENV))
            info = workspace.store.get_run(run_id)
            # By id: the experiment may have been renamed since the run was submitted.
            found_experiment = workspace.store.get_experiment_by_id(info.experiment_id)
            experiment = Experiment(workspace, found_experiment.name, _info=found_experiment)
            found = _submitted[(uri, run_id)] = SubmittedRun(experiment, run_id, _info=info)
        return found
    experiment_name = env_value(EXPERIMENT_ENV)
    if experiment_name:
        return _started_run(experiment_name)
    if not allow_offline:
        raise RunEnvironmentError(
            "Could not load a submitted run, if outside of an execution context, use "
            "experiment.start_logging to initialize a runyard Run, or set "
            f"{EXPERIMENT_ENV}=<experiment name> to start one in Run.get_context()."
        )
    return OfflineRun()


def _started_run(experiment_name: str) -> Run:
    """The run this process started for ``settings.EXPERIMENT_ENV``, started at the first call
    (``lifetime`` ends it at exit: Completed, or Failed with an uncaught exception)."""
    found = _started.get(experiment_name)
    if found is None:
        experiment = Experiment(Workspace.from_config(), experiment_name)
        found = _started[experiment_name] = experiment.start_logging()
    return found
