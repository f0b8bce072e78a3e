"""The entrypoint of a Ray job: the user's script under the bootstrap, then ``outputs/`` uploaded.

``python -m runyard.runners.ray_job SCRIPT [ARGS...]`` (or ``... ray_job --command PROGRAM
[ARGS...]`` for a run's command, run as a child process) runs on the cluster, in the job's working
directory (the run's working copy). The supervisor that follows the job runs on the submitting
machine and cannot see that directory, so the job uploads ``./outputs/**`` itself once the
script has ended -- whatever its exit code, after an uncaught exception too, as the local
supervisor does -- as the run's artifacts ``outputs/<relative path>``, through the store the job's
variables name (the tracking URI and token ``runners/ray.py`` hands it). Files the script
uploaded there itself are kept as they are (``upload_new`` skips existing paths). A job stopped
by a stop request (SIGTERM from Ray's ``stop_job``) uploads nothing (a command's job dies of the
signal).

The job then exits with the script's own exit code, so that the supervisor maps the job's end
as before. When the upload fails, the job says why in its log (one line starting with
``UPLOAD_FAILED``, which the supervisor looks for) and exits non-zero (the script's code, or 1
when the script succeeded): the run ends Failed with that reason as its error, since the files
the script meant to keep are not in the run.
"""

from __future__ import annotations

import subprocess
import sys
import traceback
from pathlib import Path

from runyard.runners import bootstrap
from runyard.settings import JOB_PYTHON_ENV, env_value

COMMAND_FLAG = "--command"
UPLOAD_FAILED = "runyard: uploading outputs/ from the Ray job failed:"
"""The start of the log line that says why the upload failed (``runners/ray.py`` finds it)."""


def upload_outputs(folder: Path) -> str | None:
    """Upload ``folder`` as the run's ``outputs/`` (the run and store of the job's variables).

    Returns:
        None when every file is in the run's store, else why not (one line).
    """
    # Imported only now: the script starts without waiting for the store's imports.
    from runyard.capture.outputs import upload_new
    from runyard.settings import ARTIFACT_ROOT_ENV, RUN_ID_ENV, env_value, tracking_uri_from_env
    from runyard.store import open_store
    from runyard.store.http.store import HttpStore

    try:
        tracking = tracking_uri_from_env()
        run_id = env_value(RUN_ID_ENV)
        if tracking is None or not run_id:
            return "the job has no tracking URI or run id in its environment"
        store = open_store(tracking, env_value(ARTIFACT_ROOT_ENV))
        try:
            upload_new(store, run_id, "outputs", folder)
            # An HTTP store keeps what the server did not take in a journal: on a cluster node,
            # in a job that is ending, the run would not get those files.
            kept = store.journal_pending if isinstance(store, HttpStore) else 0
        finally:
            store.close()
    except Exception as exc:
        traceback.print_exc()
        return f"{type(exc).__name__}: {exc}"
    if kept:
        return (
            f"the tracking server {tracking.uri} did not take {kept} file(s); they are kept in "
            "the journal of the cluster node (runyard sync there sends them)"
        )
    return None


def run_command(command: list[str]) -> int:
    """Run a run's command; its exit code (128 + N when signal N killed it), as a shell's."""
    try:
        code = subprocess.call(command)
    except OSError as exc:
        print(f"runyard: cannot run {command[0]!r}: {exc}", file=sys.stderr, flush=True)
        return 127
    return 128 - code if code < 0 else code


def python_mismatch() -> str | None:
    """Why the job cannot run its environment's Python, or None. A Ray job runs the cluster's
    interpreter (a runtime environment installs packages, not Python): an environment that asks
    for another ``major.minor`` fails its run at once rather than run on the wrong one."""
    wanted = env_value(JOB_PYTHON_ENV)
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if not wanted or wanted == running:
        return None
    return (
        f"the run's environment asks for Python {wanted}, and this Ray cluster runs Python "
        f"{running}: a Ray job runs the cluster's Python. Declare no python_version (or "
        f"{running}) for the Ray target, or run on a cluster of Python {wanted}."
    )


def main(argv: list[str]) -> int:
    """Run the script as the bootstrap does (or the command), then upload ``outputs/``.

    Returns:
        The script's exit code; 1 instead of 0 when the upload failed.
    """
    mismatch = python_mismatch()
    if mismatch is not None:
        print(f"runyard: {mismatch}", file=sys.stderr, flush=True)
        return 1
    outputs = Path.cwd() / "outputs"  # before the script runs: it may change directories
    code = run_command(argv[1:]) if argv[:1] == [COMMAND_FLAG] else bootstrap.main(argv)
    if bootstrap.stopped_by is not None:
        return code  # stopped: the run ends Canceled, nothing more to keep
    sys.stdout.flush()
    failure = upload_outputs(outputs)
    if failure is not None:
        print(
            f"{UPLOAD_FAILED} {failure} (the script exited with code {code})",
            file=sys.stderr,
            flush=True,
        )
        return code or 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
