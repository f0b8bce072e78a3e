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
from typing import TYPE_CHECKING, Any

from runyard.entities import NewRun, RunInfo, RunStatus
from runyard.errors import SnapshotError, StoreError
from runyard.runners import launch
from runyard.runners.supervisor import launch_spec, prepare_workdir, run_folder

if TYPE_CHECKING:
    from runyard.sdk.script_run_config import ScriptRunConfig
    from runyard.sdk.workspace import Workspace

SCRIPT_RUN_TYPE = "runyard.scriptrun"
MAX_SUBMIT_FILES = 2000
MAX_SUBMIT_BYTES = 25 * 1024 * 1024


def new_run_id(experiment_name: str) -> str:
    """``<experiment>_<epoch seconds>_<8 hex>``, as Azure ML names submitted runs."""
    return f"{experiment_name}_{int(time.time())}_{uuid.uuid4().hex[:8]}"


def _snapshot(workspace: Workspace, source: Path) -> str:
    from runyard.sdk.snapshot import take_snapshot

    try:
        return take_snapshot(workspace.store, source, MAX_SUBMIT_FILES, MAX_SUBMIT_BYTES)
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

    def submit(
        self,
        workspace: Workspace,
        experiment_name: str,
        config: ScriptRunConfig,
        tags: dict[str, str | None],
        parent_run_id: str | None = None,
        run_id: str | None = None,
    ) -> RunInfo:
        """Create the Queued run and launch its supervisor; return at once."""
        from runyard.sdk.git import git_properties
        from runyard.settings import RunnerSettings

        RunnerSettings.from_env()  # the supervisor reads them: a wrong one fails here, not there
        source = Path(config.source_directory).resolve()
        script = config.relative_script()  # where the script is in the working copy
        properties = {"runyard.ComputeTargetType": self.target, **git_properties(source)}
        properties["ContentSnapshotId"] = _snapshot(workspace, source)
        definition: dict[str, Any] = {
            **config.run_config.to_definition(),
            "script": script,
            "python": sys.executable,
            "sourceDirectory": str(source),
        }
        new = NewRun(
            run_id=run_id or new_run_id(experiment_name),
            experiment_name=experiment_name,
            status=RunStatus.QUEUED,
            parent_run_id=parent_run_id,
            run_type=SCRIPT_RUN_TYPE,
            target=self.target,
            tags=tags,
            properties=properties,
            run_definition=definition,
            submitted_by=_user(),
        )
        info = workspace.store.create_runs([new])[0]
        workspace.store.heartbeat(info.run_id)  # the run holds its queue place from now on
        try:
            self._launch(workspace, info)
        except OSError as exc:
            from runyard.sdk.details import build_error

            message = f"Could not start the run's supervisor process: {exc}"
            workspace.store.set_run_status(
                info.run_id, RunStatus.FAILED, build_error(message, "SystemError", time.time())
            )
            raise StoreError(message) from exc
        return workspace.store.get_run(info.run_id)

    def _launch(self, workspace: Workspace, info: RunInfo) -> None:
        from runyard.settings import RunnerSettings

        folder = run_folder(info.run_id)
        folder.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.pop("RUNYARD_RUN_ID", None)
        env["RUNYARD_TRACKING_URI"] = workspace.tracking_uri
        if workspace.artifact_root:
            env["RUNYARD_ARTIFACT_ROOT"] = workspace.artifact_root
        # If a slot is free now, take it here and lay the run out, so that the launcher starts
        # the script before its own imports; otherwise the supervisor queues the run.
        settings = RunnerSettings.from_env()
        claimed = workspace.store.claim_queued_run(
            info.run_id,
            self.target,
            settings.max_concurrent_runs,
            time.time() - settings.not_responding_seconds,
        )
        started = claimed.status is RunStatus.STARTING
        if started:
            prepare_workdir(workspace.store, claimed, folder / "work")
            spec = launch_spec(workspace.tracking_uri, workspace.artifact_root, claimed, env)
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
                workspace.store.set_run_status(info.run_id, RunStatus.RUNNING)
        finally:
            os.close(read_end)
            if write_end >= 0:
                os.close(write_end)


def _script_started(read_end: int, timeout: float = 5.0) -> bool:
    """Wait (briefly) for the launcher's word that the script's process exists."""
    ready, _, _ = select.select([read_end], [], [], timeout)
    return bool(ready) and os.read(read_end, 64).startswith(b"started")


RUNNERS: dict[str, type[LocalRunner]] = {"local": LocalRunner}
"""Compute targets by name."""


def runner_for(target: str) -> LocalRunner:
    from runyard.errors import UserError

    try:
        return RUNNERS[target]()
    except KeyError:
        known = ", ".join(sorted(RUNNERS))
        raise UserError(
            f"Unknown compute target {target!r}. runyard runs scripts on: {known} "
            "(use compute_target='local')."
        ) from None
