"""Submit and cancel latency of a local script run: runyard against MLflow Projects.

What is measured, for each tool, ``--repeat`` times on a fresh workspace:

- submit returns: the time the submit call takes;
- submit to started: from the submit call to the script's first line of code (it writes its
  PID to a file first thing);
- submit to Running: from the submit call to the tracking store saying RUNNING;
- cancel to gone: from the cancel call, on a run that has been running for ``SETTLE`` seconds,
  to the script's process having disappeared and the cancel call having returned (for MLflow, a
  script still alive 5 s after cancel counts as "left running").

runyard: ``exp.submit(ScriptRunConfig(...))`` then ``run.cancel()``, with a 10 s grace period
that a well-behaved script (default SIGTERM handling) never uses. MLflow: ``mlflow.projects.run``
with ``env_manager="local"`` and ``synchronous=False`` (its fastest local mode), then
``submitted.cancel()``.

Usage: python bench/script_latency.py [--repeat 10] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from log_throughput import machine  # the same machine description in both benchmarks

SCRIPT = """\
import os, sys, time
with open(os.environ.get("PID_FILE", "pid.txt"), "w") as handle:
    handle.write(str(os.getpid()))
print("started", flush=True)
time.sleep(600)
"""
GONE_TIMEOUT = 5.0
SETTLE = 1.0
"""Seconds a run runs before it is canceled: a run cancelled in its first ~0.4 s waits for its
supervisor to finish importing (the script starts before that), which is measured apart."""


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, poll: float = 0.002) -> float:
    """Seconds until ``predicate()`` holds (raises after ``timeout``)."""
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout:
            raise TimeoutError("condition not met in time")
        time.sleep(poll)
    return time.perf_counter() - start


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def read_pid(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text else None


def bench_runyard(folder: Path, repeat: int) -> dict[str, list[float]]:
    from runyard import Experiment, ScriptRunConfig, Workspace

    (folder / "sleeper.py").write_text(SCRIPT)
    ws = Workspace.create(folder)
    exp = Experiment(ws, "latency")
    results: dict[str, list[float]] = {k: [] for k in ("submit", "started", "running", "gone")}
    for i in range(repeat):
        pid_file = folder / f"pid-{i}.txt"
        config = ScriptRunConfig(source_directory=str(folder), script="sleeper.py")
        config.run_config.environment_variables["PID_FILE"] = str(pid_file)
        start = time.perf_counter()
        run = exp.submit(config)
        results["submit"].append(time.perf_counter() - start)
        wait_for(lambda f=pid_file: read_pid(f) is not None)
        results["started"].append(time.perf_counter() - start)
        wait_for(lambda r=run: r.get_status() == "Running")
        results["running"].append(time.perf_counter() - start)
        time.sleep(SETTLE)
        pid = read_pid(pid_file)
        assert pid is not None
        start = time.perf_counter()
        run.cancel()
        wait_for(lambda p=pid: not alive(p), timeout=GONE_TIMEOUT)
        results["gone"].append(time.perf_counter() - start)
        assert run.get_status() == "Canceled", run.get_status()
    ws.close()
    return results


def bench_mlflow(folder: Path, repeat: int) -> dict[str, list[float]]:
    import mlflow
    import mlflow.projects
    from mlflow.tracking import MlflowClient

    # MLflow Projects launch the `mlflow` command: it must be on PATH (it is in this venv).
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
    (folder / "sleeper.py").write_text(SCRIPT)
    (folder / "MLproject").write_text(
        "name: latency\nentry_points:\n  main:\n    command: 'python sleeper.py'\n"
    )
    mlflow.set_tracking_uri(f"sqlite:///{folder}/mlflow.db")
    client = MlflowClient()
    results: dict[str, list[float]] = {k: [] for k in ("submit", "started", "running", "gone")}
    results["left running"] = []
    for i in range(repeat):
        pid_file = folder / f"pid-{i}.txt"
        os.environ["PID_FILE"] = str(pid_file)
        start = time.perf_counter()
        submitted = mlflow.projects.run(
            str(folder),
            parameters={},
            env_manager="local",
            synchronous=False,
            experiment_name="latency",
        )
        results["submit"].append(time.perf_counter() - start)
        wait_for(lambda f=pid_file: read_pid(f) is not None)
        results["started"].append(time.perf_counter() - start)
        run_id = submitted.run_id
        wait_for(lambda r=run_id: client.get_run(r).info.status == "RUNNING")
        results["running"].append(time.perf_counter() - start)
        time.sleep(SETTLE)
        pid = read_pid(pid_file)
        assert pid is not None
        start = time.perf_counter()
        submitted.cancel()
        try:
            wait_for(lambda p=pid: not alive(p), timeout=GONE_TIMEOUT)
            results["gone"].append(time.perf_counter() - start)
        except TimeoutError:
            results["left running"].append(1.0)
            os.kill(pid, 9)  # clean up the orphan MLflow left behind
    return results


def summary(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return f"{statistics.median(values) * 1000:7.1f} ms (p90 {p90 * 1000:.1f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--skip-mlflow", action="store_true")
    args = parser.parse_args()
    results: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="runyard-latency-") as tmp:
        folder = Path(tmp, "runyard")
        folder.mkdir()
        results["runyard"] = bench_runyard(folder, args.repeat)
        if not args.skip_mlflow:
            folder = Path(tmp, "mlflow")
            folder.mkdir()
            results["mlflow"] = bench_mlflow(folder, args.repeat)
    print(f"machine: {machine()}")
    print(f"{'measure':<22}" + "".join(f"{tool:>30}" for tool in results))
    for measure in ("submit", "started", "running", "gone"):
        label = {
            "submit": "submit returns",
            "started": "submit to started",
            "running": "submit to Running",
            "gone": "cancel to gone",
        }[measure]
        print(f"{label:<22}" + "".join(f"{summary(r[measure]):>30}" for r in results.values()))
    if "mlflow" in results:
        left = len(results["mlflow"]["left running"])
        print(f"MLflow left the script running after cancel in {left} of {args.repeat} runs")
        for measure in ("started", "running", "gone"):
            ours, theirs = results["runyard"][measure], results["mlflow"][measure]
            if ours and theirs:
                ratio = statistics.median(theirs) / statistics.median(ours)
                print(f"  {measure}: MLflow / runyard = {ratio:.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": machine(), "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
