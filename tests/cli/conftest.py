"""Fixtures of the CLI tests: a runner that invokes ``runyard`` in-process, and run factories.

For submitted runs (real supervisor and script processes): ``script_runs`` shortens the runner's
timings and cancels what a test leaves running, ``runyard_process`` starts the command line as
a real process, and ``Lines`` reads its output as it comes.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any, Protocol

import pytest
from click.testing import CliRunner, Result

from runyard import Experiment, Run, Workspace
from runyard.cli.main import main
from runyard.entities import RunInfo, RunQuery
from runyard.sdk.script_run import ScriptRun

TIMEOUT = 30.0
"""The most any one wait of these tests may take; a run normally ends within a few seconds."""


class Invoke(Protocol):
    def __call__(self, *args: str, env: Mapping[str, str | None] | None = None) -> Result: ...


TERMINAL_ENV = ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES")
"""Variables through which the caller's terminal would reach rich; unset unless a test sets them."""


@pytest.fixture
def cli() -> Invoke:
    """``cli("runs", "list")`` runs the command line; unexpected exceptions are not swallowed."""
    runner = CliRunner()

    def invoke(*args: str, env: Mapping[str, str | None] | None = None) -> Result:
        full_env: dict[str, str | None] = dict.fromkeys(TERMINAL_ENV)
        full_env.update(env or {})
        return runner.invoke(main, list(args), env=full_env, catch_exceptions=False)

    return invoke


@pytest.fixture
def cli_json(cli: Invoke) -> Callable[..., Any]:
    """``cli_json("runs", "list")`` runs a command with ``--json``, checks it worked, parses it."""

    def invoke(*args: str, env: Mapping[str, str | None] | None = None) -> Any:
        result = cli(*args, "--json", env=env)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout, parse_constant=_reject_constant)

    return invoke


def _reject_constant(name: str) -> Any:
    raise AssertionError(f"{name} is not JSON")


@pytest.fixture
def start_run(experiment: Experiment) -> Callable[..., Run]:
    """Start a Running run of ``experiment`` without snapshot or outputs folder (fast)."""

    def start(experiment_: Experiment | None = None, **kwargs: Any) -> Run:
        target = experiment_ or experiment
        return target.start_logging(snapshot_directory=None, outputs=False, **kwargs)

    return start


# -- submitted runs ------------------------------------------------------------------------------


@pytest.fixture
def script_runs(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """The workspace, with fast runner timings; submitted runs still going at the end are
    canceled (their processes stopped)."""
    monkeypatch.setenv("RUNYARD_HEARTBEAT_SECONDS", "0.2")
    monkeypatch.setenv("RUNYARD_POLL_SECONDS", "0.05")
    monkeypatch.setenv("RUNYARD_CANCEL_GRACE_SECONDS", "2")
    yield workspace
    for info in workspace.store.search_runs(RunQuery(include_children=True)).runs:
        run = Run.get(workspace, info.run_id)
        if isinstance(run, ScriptRun) and not info.status.is_terminal:
            run.cancel()


def write_script(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(body))
    return path


GATED_SCRIPT = """\
    import os, sys, time
    print("waiting for the gate", flush=True)
    deadline = time.monotonic() + 30
    while not os.path.exists(sys.argv[1]):
        if time.monotonic() > deadline:
            sys.exit("the test never opened the gate")
        time.sleep(0.05)
    print("through the gate")
    """
"""Prints a line, then waits until the file named by its first argument exists."""


def wait_until_ended(workspace: Workspace, run_id: str) -> RunInfo:
    deadline = time.monotonic() + TIMEOUT
    while True:
        info = workspace.store.get_run(run_id)
        if info.status.is_terminal:
            return info
        assert time.monotonic() < deadline, f"run {run_id} still {info.status} after {TIMEOUT} s"
        time.sleep(0.05)


def wait_for_log(workspace: Workspace, run_id: str, text: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while text.encode() not in workspace.store.read_log(run_id, "user_logs/std_log.txt"):
        assert time.monotonic() < deadline, f"{text!r} never reached the log of run {run_id}"
        time.sleep(0.05)


@pytest.fixture
def runyard_process() -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """``runyard_process("submit", "x.py")`` starts ``runyard`` as a real process (pipes for
    stdout and stderr, no terminal); any still running at the end is killed."""
    started: list[subprocess.Popen[str]] = []
    env = {k: v for k, v in os.environ.items() if k not in TERMINAL_ENV}

    def start(*args: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "runyard.cli.main", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()


class Lines:
    """The lines of a stream as they come, read by a thread (so that reading can time out)."""

    def __init__(self, stream: IO[str]) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)

    def until(self, text: str) -> list[str]:
        """The lines up to and including the first containing ``text``."""
        seen: list[str] = []
        deadline = time.monotonic() + TIMEOUT
        while not seen or text not in seen[-1]:
            line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            assert line is not None, f"{text!r} never came; got {seen}"
            seen.append(line)
        return seen

    def rest(self) -> list[str]:
        """Every line up to the end of the stream."""
        seen: list[str] = []
        deadline = time.monotonic() + TIMEOUT
        while (line := self._queue.get(timeout=max(0.0, deadline - time.monotonic()))) is not None:
            seen.append(line)
        return seen


def finish(process: subprocess.Popen[str], lines: Lines) -> tuple[list[str], str]:
    """The rest of the process's stdout (read by ``lines``) and all its stderr, once it ended."""
    rest = lines.rest()
    assert process.stderr is not None
    stderr = process.stderr.read()
    process.wait(timeout=TIMEOUT)
    return rest, stderr
