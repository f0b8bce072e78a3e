"""Crash trials: a process logging in a tight loop is killed with SIGKILL at a random moment.

After every kill: the SQLite store passes ``PRAGMA integrity_check``; every point the process had
flushed (it says so on stdout once ``flush()`` returned) is stored, with nothing duplicated or out
of order; and the run leaves Running by itself, NotResponding and then Failed with the reason,
within the configured thresholds (shortened here through the documented variables). The trials
are seeded: the seed is in every assertion message, and ``RUNYARD_TEST_CRASH_SEED`` replays it
(as far as the machine's timing allows). See docs/reliability.md.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from runyard import Run, Workspace
from runyard.entities import RunStatus
from tests.server.process import start

SEED_ENV = "RUNYARD_TEST_CRASH_SEED"
TRIALS = 20
AT_ONCE = 5
"""Processes killed in one round: they log into one SQLite file at the same time."""
HEARTBEAT = 0.1
NOT_RESPONDING = 1.0
DEAD = 2.5
SLACK = 5.0
"""Allowed past a threshold before a status change is seen: the reader polls, the machine is
shared."""
THRESHOLDS = {
    "RUNYARD_HEARTBEAT_SECONDS": str(HEARTBEAT),
    "RUNYARD_NOT_RESPONDING_SECONDS": str(NOT_RESPONDING),
    "RUNYARD_DEAD_RUN_SECONDS": str(DEAD),
}
LOGGER = """
import sys
from runyard import Experiment, Workspace

flush_every = int(sys.argv[1])
run = Experiment(Workspace.from_config(), "crash").start_logging(
    snapshot_directory=None, outputs=False
)
print("run", run.id, flush=True)
step = 0
while True:
    run.log("loss", float(step), step=step)
    step += 1
    if step % flush_every == 0:
        run.flush()
        print("flushed", step, flush=True)
"""


@pytest.fixture(scope="module")
def seed() -> int:
    given = os.environ.get(SEED_ENV)
    return int(given) if given else random.SystemRandom().randrange(2**32)


@pytest.fixture(autouse=True)
def _short_thresholds(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in THRESHOLDS.items():
        monkeypatch.setenv(name, value)


@dataclass
class Trial:
    """One logging process, from its start to the end of its run."""

    label: str
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None
    run_id: str = ""
    killed_at: float = 0.0
    seen: list[tuple[str, float]] = field(default_factory=list)
    """Each status the reader saw, and how long after the kill it first saw it."""

    @classmethod
    def start(
        cls, label: str, folder: Path, script: Path, flush_every: int, env: Mapping[str, str]
    ) -> Trial:
        process = subprocess.Popen(
            [sys.executable, str(script), str(flush_every)],
            cwd=folder,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, **env},
        )
        trial = cls(label, process)
        trial.reader = threading.Thread(target=trial._read, daemon=True)
        trial.reader.start()
        return trial

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def wait_for_run(self) -> None:
        deadline = time.monotonic() + 60
        while not self.lines:
            assert self.process.poll() is None, f"{self.label}: the logger exited"
            assert time.monotonic() < deadline, f"{self.label}: the logger did not start"
            time.sleep(0.01)
        word, self.run_id = self.lines[0].split()
        assert word == "run", f"{self.label}: {self.lines[0]!r}"

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.killed_at = time.monotonic()

    def collect(self) -> None:
        """Wait for the killed process, and read what it printed before it died."""
        assert self.process.wait(timeout=30) == -signal.SIGKILL, self.label
        assert self.reader is not None
        self.reader.join(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()

    @property
    def flushed(self) -> int:
        """How many points the process knew stored (its last "flushed N" line). A SIGKILL may
        cut the line being printed: only whole lines (ending with a newline) count."""
        counts = [
            int(line.split()[1])
            for line in self.lines
            if line.startswith("flushed ") and line.endswith("\n")
        ]
        return max(counts, default=0)

    def observe(self, workspace: Workspace) -> bool:
        """Read the run's status once; True once it has ended."""
        status = Run.get(workspace, self.run_id).get_status()
        if not self.seen or self.seen[-1][0] != status:
            self.seen.append((status, time.monotonic() - self.killed_at))
        return RunStatus(status).is_terminal


def _watch_until_ended(workspace: Workspace, trials: list[Trial], context: str) -> None:
    pending = list(trials)
    deadline = time.monotonic() + DEAD + SLACK + 10
    while pending and time.monotonic() < deadline:
        pending = [t for t in pending if not t.observe(workspace)]
        time.sleep(0.02)
    assert not pending, f"{context}: still not ended: {[(t.label, t.seen) for t in pending]}"


def _check_run(workspace: Workspace, trial: Trial, context: str) -> None:
    where = f"{context}, {trial.label} (run {trial.run_id}; statuses seen {trial.seen})"
    statuses = [status for status, _ in trial.seen]
    assert statuses[-2:] == ["NotResponding", "Failed"], where
    silent_after = dict(trial.seen)["NotResponding"]
    failed_after = dict(trial.seen)["Failed"]
    assert silent_after <= NOT_RESPONDING + SLACK, where
    assert failed_after <= DEAD + SLACK, where
    error = Run.get(workspace, trial.run_id).get_details()["error"]["error"]
    assert error["code"] == "RunNotResponding", where
    assert "stopped sending heartbeats" in error["message"], where
    found = workspace.store.read_metrics([trial.run_id], ["loss"])
    values = list(found[0].values) if found else []
    assert values == [float(i) for i in range(len(values))], f"{where}: not a clean prefix"
    assert len(values) >= trial.flushed, f"{where}: {trial.flushed} flushed, {len(values)} stored"


def _integrity(database: Path, context: str) -> None:
    with sqlite3.connect(database) as conn:
        result = conn.execute("PRAGMA integrity_check").fetchall()
    conn.close()
    assert result == [("ok",)], f"{context}: {database}: {result}"


@pytest.fixture
def logger_script(tmp_path: Path) -> Path:
    script = tmp_path / "logger.py"
    script.write_text(LOGGER)
    return script


def _rounds(rng: random.Random) -> Iterator[list[tuple[int, float]]]:
    """(flush every N points, seconds to let it log before the kill) for each trial, by round."""
    trials = [(rng.choice((1, 10, 250, 5000)), rng.uniform(0.0, 0.8)) for _ in range(TRIALS)]
    for first in range(0, TRIALS, AT_ONCE):
        yield trials[first : first + AT_ONCE]


def test_crash_trials_sqlite(
    workspace: Workspace, tmp_path: Path, logger_script: Path, seed: int
) -> None:
    rng = random.Random(seed)
    database = workspace.tracking.sqlite_path
    assert database is not None
    number = 0
    for plan in _rounds(rng):
        trials = []
        for flush_every, _ in plan:
            number += 1
            label = f"trial {number} (flush every {flush_every})"
            trials.append(Trial.start(label, tmp_path, logger_script, flush_every, THRESHOLDS))
        context = f"seed {seed} (set {SEED_ENV}={seed} to replay)"
        for trial in trials:
            trial.wait_for_run()
        began = time.monotonic()
        for trial, (_, delay) in sorted(zip(trials, plan, strict=True), key=lambda p: p[1][1]):
            time.sleep(max(0.0, began + delay - time.monotonic()))
            status = workspace.store.get_run(trial.run_id).status
            assert not status.is_terminal, f"{context}, {trial.label}: {status} while alive"
            trial.kill()
        for trial in trials:
            trial.collect()
        _integrity(Path(database), context)
        _watch_until_ended(workspace, trials, context)
        for trial in trials:
            _check_run(workspace, trial, context)
    assert number == TRIALS


def test_crash_trial_through_a_server(
    tmp_path: Path, logger_script: Path, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    server = start(tmp_path / "server")
    try:
        target = server.new_workspace()
        monkeypatch.setenv("RUNYARD_TOKEN", target.writer)
        monkeypatch.setenv("RUNYARD_JOURNAL_DIR", str(tmp_path / "journal"))
        env = {
            **THRESHOLDS,
            "RUNYARD_TRACKING_URI": target.uri,
            "RUNYARD_TOKEN": target.writer,
            "RUNYARD_JOURNAL_DIR": str(tmp_path / "journal"),
        }
        flush_every, delay = rng.choice((10, 250)), rng.uniform(0.3, 1.0)
        context = f"seed {seed} (set {SEED_ENV}={seed} to replay), through a server"
        trial = Trial.start(f"flush every {flush_every}", tmp_path, logger_script, flush_every, env)
        trial.wait_for_run()
        time.sleep(delay)
        trial.kill()
        trial.collect()

        workspace = Workspace(target.uri)
        _watch_until_ended(workspace, [trial], context)
        _check_run(workspace, trial, context)
        workspace.close()
        assert server.data is not None
        for database in server.data.rglob("*.db"):
            _integrity(database, context)
    finally:
        server.stop()
