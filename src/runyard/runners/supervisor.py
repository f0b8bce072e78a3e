"""The supervisor: one small process per local script run, detached from the submitter.

How it starts: ``runners/local.py`` runs ``python .../runyard/runners/launch.py RUN_ID
RUN_FOLDER NOTIFY_FD`` in a new session. That launcher (standard library only) starts the script
at once when the submitter has laid the run out already (``launch.json``), then imports this
module and calls ``main([RUN_ID], process=...)``: the supervisor takes over the running script.
(``python -m runyard.runners.supervisor RUN_ID`` runs ``main`` without a started script.) It

1. when no script was started for it (the run is Queued): waits for the run's turn in the local
   queue (Queued -> Starting), heartbeating meanwhile, then lays the run's snapshot out as a
   working copy; builds or reuses the run's declared environment (Preparing; see
   ``runners/environments.py``); and starts the script there, with that environment's Python
   (else the submitter's), in its own process group;
2. marks the run Running, streams stdout and stderr line by line into the run's log
   ``user_logs/std_log.txt``, heartbeats, and watches for a stop request (``cancel()`` or
   ``fail()`` from anywhere) and for ``max_run_duration_seconds``;
3. on a stop request: SIGTERM to the whole process group, a grace period, then SIGKILL;
4. when the script ends: Finalizing, uploads ``outputs/``, then Completed (exit code 0), Failed
   (with the script's error) or the requested stop status.

Everything the supervisor knows it learns from the store, so any process can cancel a run.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from runyard.capture.error import build_error
from runyard.capture.outputs import upload_new
from runyard.capture.snapshot import extract_snapshot
from runyard.entities import RunInfo, RunStatus, stop_ends_as
from runyard.errors import EnvironmentBuildError, EnvironmentSpecError
from runyard.runners import bootstrap, launch
from runyard.runners.environments import (
    BUILD_LOG,
    EnvironmentSpec,
    build,
    user_interpreter,
)
from runyard.runners.liveness import expire_dead_runs
from runyard.settings import (
    ARTIFACT_ROOT_ENV,
    ERROR_FILE_ENV,
    EXPERIMENT_NAME_ENV,
    KEEP_WORKDIR_ENV,
    OUTPUT_DIRECTORY_ENV,
    RUN_ID_ENV,
    TRACKING_URI_ENV,
    RunnerSettings,
    TrackingUri,
    env_cache_dir,
    env_value,
    tracking_uri_from_env,
)
from runyard.store import Store, open_store

STD_LOG = "user_logs/std_log.txt"
SUPERVISOR_LOG = "system_logs/supervisor.txt"
LOG_FLUSH_BYTES = 64 * 1024
RUNS_DIR = "runyard_runs"


def run_folder(run_id: str) -> Path:
    """Where a local run's working copy and supervisor files live."""
    return Path(tempfile.gettempdir()) / RUNS_DIR / run_id


class _LogPump:
    """Reads the script's output line by line; the supervisor writes it out in batches."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self._buffer: list[bytes] = []
        self._size = 0
        self.thread = threading.Thread(target=self._read, name="runyard-log-pump", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        for line in iter(self._stream.readline, b""):
            with self._lock:
                self._buffer.append(line)
                self._size += len(line)

    def take(self) -> bytes:
        with self._lock:
            data = b"".join(self._buffer)
            self._buffer = []
            self._size = 0
        return data

    @property
    def pending(self) -> int:
        return self._size


class Supervisor:
    """One run's supervisor: ``store`` is the run's, opened from ``tracking_uri`` and
    ``artifact_root``, which the script is handed too."""

    def __init__(
        self,
        store: Store,
        run_id: str,
        settings: RunnerSettings,
        tracking_uri: TrackingUri,
        artifact_root: str | None,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.settings = settings
        self.tracking_uri = tracking_uri
        self.artifact_root = artifact_root
        self.folder = run_folder(run_id)
        self.workdir = self.folder / "work"
        self._last_beat = 0.0

    # -- helpers -------------------------------------------------------------------------------

    def note(self, message: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.store.append_log(self.run_id, SUPERVISOR_LOG, f"{stamp} {message}\n".encode())

    def beat(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_beat >= self.settings.heartbeat_seconds:
            self.store.heartbeat(self.run_id)
            self._last_beat = now

    def reap(self) -> None:
        expire_dead_runs(self.store, self.settings)

    # -- phases --------------------------------------------------------------------------------

    def wait_for_turn(self, info: RunInfo) -> RunInfo:
        """Block until the run may start (Starting) or was stopped while queued."""
        target = info.target
        while True:
            self.beat()
            stale = time.time() - self.settings.not_responding_seconds
            info = self.store.claim_queued_run(
                self.run_id, target, self.settings.max_concurrent_runs, stale
            )
            if info.status is not RunStatus.QUEUED:
                return info
            self.reap()
            time.sleep(self.settings.poll_seconds)

    def prepare(self, info: RunInfo) -> None:
        prepare_workdir(self.store, info, self.workdir)

    def stop(self, process: subprocess.Popen[bytes], pump: _LogPump, reason: str) -> None:
        """SIGTERM to the process group, the grace period, then SIGKILL."""
        grace = self.settings.cancel_grace_seconds
        self.note(f"{reason}: sending SIGTERM to process group {process.pid} (grace {grace} s)")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        # Heartbeat through the grace period: a reader must not take a stopping run for dead.
        while process.poll() is None and time.monotonic() < deadline:
            # Wake as soon as the script exits, not at the next poll.
            _wait(process, min(self.settings.poll_seconds, deadline - time.monotonic()))
            self.beat()
            self._flush_log(pump)
        if process.poll() is None:
            self.note("still running after the grace period: sending SIGKILL")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def prepare_environment(self, info: RunInfo) -> tuple[bool, str | None]:
        """Build (or reuse) the run's declared environment, the run Preparing meanwhile.

        Returns:
            (go on, interpreter): go on is False when the build failed (the run is then Failed)
            or the run was stopped meanwhile; the interpreter is None for the submitter's.
        """
        try:
            spec = EnvironmentSpec.from_definition(info.run_definition, self.tracking_uri)
        except EnvironmentSpecError as exc:
            self._fail_build(exc)
            return False, None
        if spec is None:
            return True, user_interpreter(info.run_definition)
        self.store.set_run_status(self.run_id, RunStatus.PREPARING)
        log = _BuildLog(self.store, self.run_id)
        try:
            result = build(spec, env_cache_dir(), log.line)
        except (EnvironmentSpecError, EnvironmentBuildError) as exc:
            log.line(f"FAILED: {exc}")
            log.flush()
            self._fail_build(exc)
            return False, None
        finally:
            log.flush()
        self.store.add_properties(
            self.run_id,
            {
                "runyard.environment.name": spec.name,
                "runyard.environment.hash": spec.key,
                "runyard.environment.reused": str(result.reused).lower(),
                "runyard.environment.build_seconds": f"{result.seconds:.1f}",
            },
        )
        self.note(
            f"environment {spec.name!r} {'reused' if result.reused else 'built'} in "
            f"{result.seconds:.1f} s: {result.python}"
        )
        current = self.store.get_run(self.run_id)
        if current.status is RunStatus.CANCEL_REQUESTED or current.status.is_terminal:
            self._end_without_start(current)
            return False, None
        return True, result.python

    def _fail_build(self, exc: Exception) -> None:
        code = type(exc).__name__.removesuffix("Error")
        error = build_error(str(exc), code, time.time())
        self.store.set_run_status(self.run_id, RunStatus.FAILED, error)
        self.note(f"the environment could not be prepared: Failed ({exc})")

    def execute(
        self,
        info: RunInfo,
        process: subprocess.Popen[bytes] | None = None,
        python: str | None = None,
    ) -> tuple[int, str | None]:
        """Run the script (or take over the one ``launch.py`` started) with ``python`` (None:
        the submitter's); return its exit code and why it was stopped (None if it ended by
        itself)."""
        definition = dict(info.run_definition or {})
        if process is None:
            spec = launch_spec(self.tracking_uri, self.artifact_root, info, python=python)
            process = launch.start(spec)
        self.note(f"started process {process.pid}: {' '.join(process.args)}")  # type: ignore[arg-type]
        assert process.stdout is not None
        pump = _LogPump(process.stdout)
        info = self.store.set_run_status(self.run_id, RunStatus.RUNNING)
        limit = float(definition.get("maxRunDurationSeconds") or 0) or None
        started = time.monotonic()
        last_flush = started
        stopped: str | None = None
        while process.poll() is None:
            _wait(process, self.settings.poll_seconds)
            self.beat()
            now = time.monotonic()
            if pump.pending >= LOG_FLUSH_BYTES or now - last_flush >= self.settings.poll_seconds:
                self._flush_log(pump)
                last_flush = now
            info = self.store.get_run(self.run_id)
            asked = info.status is RunStatus.CANCEL_REQUESTED or info.status.is_terminal
            if asked and stopped is None:
                stopped = f"stop requested ({stop_ends_as(info).value})"
                self.stop(process, pump, stopped)
            elif limit is not None and now - started > limit and stopped is None:
                stopped = f"max_run_duration_seconds ({limit:g} s) exceeded"
                self.stop(process, pump, stopped)
        # Processes the script left behind hold the pipe open: end them too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        pump.thread.join(timeout=5)
        self._flush_log(pump)
        return process.returncode, stopped

    def _flush_log(self, pump: _LogPump) -> None:
        data = pump.take()
        if data:
            self.store.append_log(self.run_id, STD_LOG, data)

    def finish(self, code: int, stopped: str | None) -> None:
        info = self.store.get_run(self.run_id)
        if info.status is RunStatus.RUNNING:
            info = self.store.set_run_status(self.run_id, RunStatus.FINALIZING)
        upload_new(self.store, self.run_id, "outputs", self.workdir / "outputs")
        now = time.time()
        if info.status is RunStatus.CANCEL_REQUESTED or stopped:
            final = stop_ends_as(info)
            error = None
            if stopped and "max_run_duration" in stopped:
                error = build_error(
                    f"The run was canceled: {stopped}.", "MaxRunDurationExceeded", now
                )
            self.store.set_run_status(self.run_id, final, error)
            self.note(f"run ended {final.value} ({stopped or 'stop requested'})")
            return
        if code == 0:
            self.store.set_run_status(self.run_id, RunStatus.COMPLETED)
            self.note("the script exited with code 0: Completed")
            return
        self.store.set_run_status(self.run_id, RunStatus.FAILED, self._script_error(code, now))
        self.note(f"the script exited with code {code}: Failed")

    def _script_error(self, code: int, now: float) -> dict[str, Any]:
        error_file = self.folder / "error.json"
        if error_file.is_file():
            found = json.loads(error_file.read_text())
            error = build_error(
                f"User program failed with {found['type']}: {found['message']}", None, now
            )
            error["error"]["debugInfo"] = {
                "type": found["type"],
                "message": found["message"],
                "stackTrace": found["traceback"],
            }
            return error
        if code < 0:
            name = (
                signal.Signals(-code).name if -code in signal.Signals._value2member_map_ else code
            )
            return build_error(f"User program was killed by signal {name}.", None, now)
        return build_error(f"User program exited with code {code}.", None, now)

    # -- the whole life ------------------------------------------------------------------------

    def run(self, process: subprocess.Popen[bytes] | None = None) -> int:
        info = self.store.get_run(self.run_id)
        self.beat(force=True)
        stop_beating = self._beat_in_background()
        try:
            # Not at the top: runners/ray.py builds on local.py, which imports this module.
            from runyard.runners import ray

            if ray.is_ray_run(info):  # the job runs on the cluster: follow it
                ray.follow(self, info)
                return 0
            if process is None:  # the run queues: wait for its turn, then lay it out
                info = self.wait_for_turn(info)
                if info.status is not RunStatus.STARTING:
                    self._end_without_start(info)
                    return 0
                self.prepare(info)
            go_on, python = self.prepare_environment(info)
            if not go_on:
                return 0
            code, stopped = self.execute(info, process, python)
            self.finish(code, stopped)
            return 0
        finally:
            stop_beating.set()

    def _beat_in_background(self) -> threading.Event:
        """Heartbeat from a thread too, so that long steps (laying out the working copy,
        uploading outputs) never look like a dead supervisor."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(self.settings.heartbeat_seconds):
                try:
                    self.store.heartbeat(self.run_id)
                except Exception as exc:  # a missed beat shows as such; say why in the log
                    print(f"runyard supervisor: heartbeat failed: {exc}", file=sys.stderr)

        threading.Thread(target=loop, name="runyard-heartbeat", daemon=True).start()
        return stop

    def _end_without_start(self, info: RunInfo) -> None:
        if info.status is RunStatus.CANCEL_REQUESTED:
            self.store.set_run_status(self.run_id, stop_ends_as(info))
        self.note(
            f"the run ended before it started ({self.store.get_run(self.run_id).status.value})"
        )


class _BuildLog:
    """The environment build's log, written to the run's ``BUILD_LOG`` in batches."""

    def __init__(self, store: Store, run_id: str) -> None:
        self._store = store
        self._run_id = run_id
        self._lines: list[str] = []
        self._last = time.monotonic()

    def line(self, text: str) -> None:
        stamp = time.strftime("%H:%M:%S", time.gmtime())
        self._lines.append(f"{stamp} {text}\n")
        if len(self._lines) >= 200 or time.monotonic() - self._last >= 1.0:
            self.flush()

    def flush(self) -> None:
        if self._lines:
            data = "".join(self._lines).encode()
            self._lines = []
            self._store.append_log(self._run_id, BUILD_LOG, data)
        self._last = time.monotonic()


def _wait(process: subprocess.Popen[bytes], seconds: float) -> None:
    """Sleep up to ``seconds``, returning early when the process ends."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=max(0.0, seconds))


def prepare_workdir(store: Store, info: RunInfo, workdir: Path) -> None:
    """Lay the run's snapshot out as its working copy, with ``outputs/`` and ``logs/``."""
    snapshot_id = info.properties.get("ContentSnapshotId")
    workdir.mkdir(parents=True, exist_ok=True)
    if snapshot_id:
        extract_snapshot(store, snapshot_id, workdir)
    (workdir / "outputs").mkdir(exist_ok=True)
    (workdir / "logs").mkdir(exist_ok=True)


PYTHON_NAMES = frozenset({"python", "python3"})
"""A command starting with one of these runs the submitter's interpreter (``python`` above)."""


def launch_spec(
    tracking_uri: TrackingUri,
    artifact_root: str | None,
    info: RunInfo,
    base_env: dict[str, str] | None = None,
    python: str | None = None,
) -> dict[str, Any]:
    """The command, folder and environment the script of ``info`` runs with: ``python`` (its
    environment's interpreter; None: the submitter's) runs the script, and a command's leading
    ``python``."""
    definition = dict(info.run_definition or {})
    folder = run_folder(info.run_id)
    workdir = folder / "work"
    interpreter = python or definition.get("python") or sys.executable
    if definition.get("command"):
        command = [str(part) for part in definition["command"]]
        if command and command[0] in PYTHON_NAMES:
            command[0] = interpreter  # the run's interpreter, not whichever is first on PATH
    else:
        arguments = [str(a) for a in definition.get("arguments") or []]
        # The bootstrap runs as a file, not `-m runyard...`: importing the runyard package
        # would cost the script's start a few hundred milliseconds it does not need.
        command = [interpreter, "-u", bootstrap.__file__, str(definition["script"]), *arguments]
    env = dict(os.environ if base_env is None else base_env)
    env.update({str(k): str(v) for k, v in (definition.get("environmentVariables") or {}).items()})
    env.update(
        {
            RUN_ID_ENV: info.run_id,
            EXPERIMENT_NAME_ENV: info.experiment_name,
            TRACKING_URI_ENV: tracking_uri.uri,
            OUTPUT_DIRECTORY_ENV: str(workdir / "outputs"),
            ERROR_FILE_ENV: str(folder / "error.json"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    if artifact_root:
        env[ARTIFACT_ROOT_ENV] = artifact_root
    return {"command": command, "cwd": str(workdir), "env": env}


def main(argv: list[str], process: subprocess.Popen[bytes] | None = None) -> int:
    if len(argv) != 1:
        print("usage: python -m runyard.runners.supervisor RUN_ID", file=sys.stderr)
        return 2
    run_id = argv[0]
    tracking_uri = tracking_uri_from_env()
    if tracking_uri is None:
        print(f"runyard supervisor: {TRACKING_URI_ENV} is not set", file=sys.stderr)
        return 2
    artifact_root = env_value(ARTIFACT_ROOT_ENV)
    store = open_store(tracking_uri, artifact_root)
    code = 1
    try:
        settings = RunnerSettings.from_env()
        code = Supervisor(store, run_id, settings, tracking_uri, artifact_root).run(process)
        return code
    except BaseException as exc:
        traceback.print_exc()
        message = f"The runyard supervisor failed: {type(exc).__name__}: {exc}"
        with contextlib.suppress(Exception):
            store.set_run_status(
                run_id, RunStatus.FAILED, build_error(message, "SystemError", time.time())
            )
        return 1
    finally:
        if not env_value(KEEP_WORKDIR_ENV):
            # The folder's supervisor.log holds a crash's traceback: only the copy goes then.
            folder = run_folder(run_id)
            shutil.rmtree(folder if code == 0 else folder / "work", ignore_errors=True)
        store.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
