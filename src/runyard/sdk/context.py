"""``Run.get_context()``: the run a submitted script belongs to, found from its environment.

Inside a script launched by a runyard supervisor, the run id and the tracking URI in the
environment (``settings.RUN_ID_ENV``, ``settings.TRACKING_URI_ENV``) name the run;
``get_context`` returns a ``SubmittedRun`` for it, the same object on every call. Elsewhere it
returns an ``OfflineRun`` that prints what it would have logged (or raises with
``allow_offline=False``).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

from runyard.capture.error import build_error
from runyard.errors import RunEnvironmentError
from runyard.sdk.experiment import Experiment
from runyard.sdk.run import Run
from runyard.sdk.workspace import Workspace
from runyard.settings import ARTIFACT_ROOT_ENV, RUN_ID_ENV, TRACKING_URI_ENV, env_value

logger = logging.getLogger("runyard")

# One SubmittedRun per (tracking URI, run id) in this process: get_context returns the same
# object every time, as Azure ML does.
_submitted: dict[tuple[str, str], SubmittedRun] = {}


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


def get_context(allow_offline: bool = True) -> SubmittedRun | OfflineRun:
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
    if not allow_offline:
        raise RunEnvironmentError(
            "Could not load a submitted run, if outside of an execution context, use "
            "experiment.start_logging to initialize a runyard Run."
        )
    return OfflineRun()


class OfflineRun:
    """What ``Run.get_context()`` returns outside a submitted run: it prints, stores nothing."""

    def __init__(self, run_id: str | None = None) -> None:
        self.id = run_id or f"OfflineRun_{uuid.uuid4()}"

    def _metric(self, kind: str, name: str, value: Any) -> None:
        print(f"Attempted to log {kind} metric {name}:\n{value}")

    def log(self, name: str, value: Any, description: str = "") -> None:
        self._metric("scalar", name, value)

    def log_list(self, name: str, value: Iterable[Any], description: str = "") -> None:
        self._metric("list", name, list(value))

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        self._metric("row", name, kwargs)

    def log_table(self, name: str, value: Mapping[str, Any], description: str = "") -> None:
        self._metric("table", name, dict(value))

    def log_image(self, name: str, path: str | None = None, plot: Any = None, **_: Any) -> None:
        self._metric("image", name, path if path is not None else plot)

    def tag(self, key: str, value: Any = None) -> None:
        print(f"Attempted to add tag {key} with value {value}")

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        for key, value in tags.items():
            self.tag(key, value)

    def add_properties(self, properties: Mapping[str, Any]) -> None:
        print(f"Attempted to add properties {dict(properties)}")

    def upload_file(self, name: str, path_or_stream: Any) -> None:
        print(f"Attempted to upload file {name}")

    def child_run(self, name: str | None = None, **_: Any) -> OfflineRun:
        return OfflineRun(f"{self.id}.{name or uuid.uuid4()}")

    def create_children(self, count: int | None = None, **_: Any) -> list[OfflineRun]:
        return [self.child_run() for _ in range(count or 0)]

    def flush(self, timeout_seconds: float = 300) -> None:
        """Nothing to flush offline."""

    def complete(self, _set_status: bool = True) -> None:
        """Nothing to complete offline."""

    def cancel(self) -> None:
        """Nothing to cancel offline."""

    def fail(self, error_details: Any = None, error_code: str | None = None, **_: Any) -> None:
        print(f"Run failed with error code {error_code or 'UserError'}:\n{error_details}")

    def __enter__(self) -> OfflineRun:
        print(f"[START] Run {self.id} context")
        return self

    def __exit__(self, *exc: object) -> None:
        print(f"[STOP] Run {self.id} context")

    def __repr__(self) -> str:
        return f"OfflineRun(Id: {self.id})"
