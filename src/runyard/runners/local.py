"""The local target: a submitted script becomes a Queued run and a detached supervisor process."""

from __future__ import annotations

import getpass
import json
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from runyard.capture.error import build_error
from runyard.capture.git import git_properties
from runyard.capture.snapshot import take_snapshot
from runyard.entities import COMPUTE_TARGET_PROPERTY, NewRun, RunInfo, RunStatus, RunType
from runyard.errors import SnapshotError, StoreError
from runyard.runners import launch
from runyard.runners.environments import EnvironmentSpec, check_buildable, user_interpreter
from runyard.runners.submission import ScriptSubmission
from runyard.runners.supervisor import launch_spec, prepare_workdir, run_folder
from runyard.settings import (
    ARTIFACT_ROOT_ENV,
    RUN_ID_ENV,
    TRACKING_URI_ENV,
    RunnerSettings,
    TrackingUri,
)
from runyard.store.base import Store

MAX_SUBMIT_FILES = 2000
MAX_SUBMIT_BYTES = 25 * 1024 * 1024


def new_run_id(experiment_name: str) -> str:
    """``<experiment>_<epoch seconds>_<8 hex>``, as Azure ML names submitted runs."""
    return f"{experiment_name}_{int(time.time())}_{uuid.uuid4().hex[:8]}"


def _snapshot(store: Store, source: Path) -> str:
    try:
        return take_snapshot(store, source, MAX_SUBMIT_FILES, MAX_SUBMIT_BYTES)
    except SnapshotError as exc:
        raise SnapshotError(
            f"Your configuration directory {source} exceeds the limit of "
            f"{MAX_SUBMIT_BYTES / (1024 * 1024):.1f} MB or {MAX_SUBMIT_FILES} files after ignore "
            "rules. Move data out of the source folder, or list what to leave out in a "
            f".runyardignore file (gitignore syntax). ({exc})"
        ) from None


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return None


class LocalRunner:
    """Runs scripts on this machine, each under its own supervisor process."""

    target = "local"
    kind = "local"

    def submit(
        self,
        store: Store,
        tracking_uri: TrackingUri,
        artifact_root: str | None,
        submission: ScriptSubmission,
    ) -> RunInfo:
        """Create the Queued run in ``store`` and launch its supervisor; return at once.

        The supervisor and the script reach the store through ``tracking_uri`` and
        ``artifact_root`` (the workspace's), handed to them in their environment.

        Raises:
            WorkspaceConfigError: a runner setting (``RunnerSettings``) is not valid.
            SnapshotError: the source folder is over the submit limits.
            EnvironmentSpecError: the environment asks for Docker, a conda-only package without
                conda, or a Python version not installed (nothing is created).
            StoreError: the supervisor process could not be started (the run is then Failed).
        """
        RunnerSettings.from_env()  # the supervisor reads them: a wrong one fails here, not there
        extra, builds = self.check(store, tracking_uri, submission)
        source = submission.source_directory
        properties = {COMPUTE_TARGET_PROPERTY: self.kind, **git_properties(source)}
        properties["ContentSnapshotId"] = _snapshot(store, source)
        definition: dict[str, Any] = {
            **submission.run_definition,
            "script": submission.script,  # where the script is in the working copy
            "python": user_interpreter(submission.run_definition) or sys.executable,
            "sourceDirectory": str(source),
            **extra,
        }
        new = NewRun(
            run_id=submission.run_id or new_run_id(submission.experiment_name),
            experiment_name=submission.experiment_name,
            status=RunStatus.QUEUED,
            parent_run_id=submission.parent_run_id,
            run_type=RunType.SCRIPT.value,
            target=self.target,
            tags=submission.tags,
            properties=properties,
            run_definition=definition,
            submitted_by=_user(),
        )
        info = store.create_runs([new])[0]
        store.heartbeat(info.run_id)  # the run holds its queue place from now on
        try:
            self._launch(store, tracking_uri, artifact_root, info, builds=builds)
        except OSError as exc:
            message = f"Could not start the run's supervisor process: {exc}"
            store.set_run_status(
                info.run_id, RunStatus.FAILED, build_error(message, "SystemError", time.time())
            )
            raise StoreError(message) from exc
        return store.get_run(info.run_id)

    def check(
        self, store: Store, tracking_uri: TrackingUri, submission: ScriptSubmission
    ) -> tuple[dict[str, Any], bool]:
        """Refuse at submit what is sure to fail on this target (nothing is created then).

        Returns:
            (what to add to the run definition, whether the supervisor does all the start: no
            script is started by the submitter).

        Raises:
            EnvironmentSpecError: the environment asks for Docker, a conda-only package without
                conda, or a Python version not installed.
        """
        # What would make the environment's build fail for sure fails the submit instead.
        spec = EnvironmentSpec.from_definition(submission.run_definition, tracking_uri)
        if spec is not None:
            check_buildable(spec)
        return {}, spec is not None

    def _launch(
        self,
        store: Store,
        tracking_uri: TrackingUri,
        artifact_root: str | None,
        info: RunInfo,
        builds: bool = False,
    ) -> None:
        folder = run_folder(info.run_id)
        folder.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.pop(RUN_ID_ENV, None)
        env[TRACKING_URI_ENV] = tracking_uri.uri
        if artifact_root:
            env[ARTIFACT_ROOT_ENV] = artifact_root
        # If a slot is free now, take it here and lay the run out, so that the launcher starts
        # the script before its own imports; otherwise the supervisor queues the run. A run
        # whose environment is to be built leaves it all to the supervisor (Preparing).
        settings = RunnerSettings.from_env()
        started = False
        if not builds:
            claimed = store.claim_queued_run(
                info.run_id,
                self.target,
                settings.max_concurrent_runs,
                time.time() - settings.not_responding_seconds,
            )
            started = claimed.status is RunStatus.STARTING
        if started:
            prepare_workdir(store, claimed, folder / "work")
            python = user_interpreter(claimed.run_definition)
            spec = launch_spec(tracking_uri, artifact_root, claimed, env, python=python)
            # Only this user may read it: the environment can hold tokens.
            handle = os.open(folder / launch.LAUNCH_FILE, os.O_WRONLY | os.O_CREAT, 0o600)
            with os.fdopen(handle, "w") as out:
                json.dump(spec, out)
        read_end, write_end = os.pipe()
        try:
            with (folder / "supervisor.log").open("ab") as log:
                process = subprocess.Popen(
                    [sys.executable, launch.__file__, info.run_id, str(folder), str(write_end)],
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # the run outlives the notebook that submitted it
                    close_fds=True,
                    pass_fds=(write_end,),
                )
            os.close(write_end)
            write_end = -1
            # Reap the supervisor when it ends, so that a long-lived submitter keeps no zombies.
            threading.Thread(target=process.wait, name="runyard-reaper", daemon=True).start()
            if started and _script_started(read_end):
                # The script runs: say so now rather than after the supervisor's imports.
                store.set_run_status(info.run_id, RunStatus.RUNNING)
        finally:
            os.close(read_end)
            if write_end >= 0:
                os.close(write_end)


def _script_started(read_end: int, timeout: float = 5.0) -> bool:
    """Wait (briefly) for the launcher's word that the script's process exists."""
    ready, _, _ = select.select([read_end], [], [], timeout)
    return bool(ready) and os.read(read_end, 64).startswith(b"started")
