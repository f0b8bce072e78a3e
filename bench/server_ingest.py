"""Tracking-server ingest, points per second from 1 and 4 client processes: runyard's server
against ``mlflow server`` on the same machine, logging the same points.

For each tool and each client count (``--clients``, default 1 and 4), a fresh server runs on
127.0.0.1 on a free port, in its own temporary folder, as a subprocess:

runyard
    ``runyard server --data <tmp> --workers N`` (SQLite, one file per workspace; with
    ``--postgres URL``: ``--store URL``). A workspace and a writer token are created first with
    ``runyard server workspaces create`` and ``runyard server tokens create``; the script waits
    for ``/healthz`` (and for every worker to answer it). Each client process opens
    ``Workspace(tracking_uri=http://127.0.0.1:PORT/<workspace>)`` (``RUNYARD_TOKEN`` set),
    ``Experiment(ws, 'ingest').start_logging(snapshot_directory=None)``, then logs ``--points``
    points with ``run.log(name, value, step=...)`` over 4 names round-robin and calls
    ``run.flush()``. Afterwards the script reads every run back through the SDK (the HTTP store)
    and checks that every point arrived exactly once, in order, with its step.

MLflow
    ``mlflow server --backend-store-uri sqlite:///<tmp>/mlflow.db --default-artifact-root
    <tmp>/artifacts --workers N`` (uvicorn, MLflow's default), waiting for ``/health``. Each client
    process creates its run, then sends the same points with ``MlflowClient().log_batch(run_id,
    metrics=[...])``, 1000 metrics per call (MLflow's maximum per request and its fastest way
    in). MLflow is time-boxed (``--mlflow-seconds``, 30 s per configuration): a client stops
    sending after that long and points/s counts what landed. Counts are checked with
    ``get_metric_history`` (every step once, the right value).

Clients do their setup (imports, opening the workspace, creating the run, drawing the values)
before a start signal; points/s = all points / (the first client's first call .. the end of the
last client's flush, or last ``log_batch``). The script also measures the CPU time of the
clients and of the server's processes over that window, and the CPU that other processes on the
machine used meanwhile (the machine may be shared: the numbers are then pessimistic).

Every server is stopped by its PID (SIGTERM, then its worker PIDs, then SIGKILL after a grace
period); temporary folders are removed.

Usage: ``python bench/server_ingest.py [--points N] [--clients 1,4] [--workers 4]
[--postgres URL] [--mlflow-seconds S] [--no-mlflow] [--json PATH]``
(``make bench`` runs it in ``.venv-bench``, which needs runyard's ``server`` extra.)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from log_throughput import load, machine  # the same machine description in every benchmark

NAMES = ("loss", "accuracy", "lr", "grad_norm")
MLFLOW_BATCH = 1000
TARGET_POINTS_PER_S = 200_000
TARGET_CLIENTS = 4
WORKSPACE = "ingest"
CLK_TCK = os.sysconf("SC_CLK_TCK")
STARTUP_TIMEOUT = 90.0
STOP_GRACE = 10.0


class BenchError(RuntimeError):
    """A benchmark found that the points it logged did not all land, exactly once."""


def now_ns() -> int:
    """CLOCK_MONOTONIC: one clock for every process of the machine."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def client_values(points: int, client: int) -> list[float]:
    """The values client ``client`` logs: full-precision floats, the same for both tools."""
    rng = random.Random(1000 + client)
    return [rng.random() * 2.0 for _ in range(points)]


# -- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state is [0]); None when gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(") ", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (children of all its threads), parents first."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except (FileNotFoundError, ProcessLookupError):
            continue
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    todo.extend(int(child) for child in handle.read().split())
            except (FileNotFoundError, ProcessLookupError):
                pass
    return found


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of the live processes of ``pid``'s tree."""
    total = 0
    for member in descendants(pid):
        fields = _stat(member)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLK_TCK


def busy_cpu_s() -> float:
    """CPU seconds the whole machine has been busy since boot (all cores)."""
    with open("/proc/stat") as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLK_TCK


class Server:
    """A server subprocess, its log in its folder; stopped by PID (its tree, by PID too)."""

    def __init__(self, command: list[str], folder: Path, env: dict[str, str]) -> None:
        self.log_path = folder / "server.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            command,
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.pid = self.process.pid

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def wait_healthy(self, url: str, workers: int, pid_key: str | None) -> float:
        """Seconds until ``url`` answers 200 (and, with ``pid_key``, until ``workers`` distinct
        worker PIDs have answered, or 15 s after the first answer)."""
        start = time.perf_counter()
        pids: set[Any] = set()
        first: float | None = None
        while True:
            if self.process.poll() is not None:
                raise BenchError(f"the server exited ({self.process.returncode}):\n{self.tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    body = response.read()
                    ok = response.status == 200
            except (urllib.error.URLError, OSError):
                ok, body = False, b""
            elapsed = time.perf_counter() - start
            if ok:
                first = elapsed if first is None else first
                if pid_key is None:
                    return elapsed
                pids.add(json.loads(body).get(pid_key))
                if len(pids) >= workers or elapsed - first > 15:
                    return elapsed
            elif elapsed > STARTUP_TIMEOUT:
                raise BenchError(f"the server did not answer {url} in time:\n{self.tail()}")
            time.sleep(0.05)

    def cpu_s(self) -> float:
        return tree_cpu_s(self.pid)

    def stop(self) -> None:
        """SIGTERM to the server; then to whichever of its processes are left; then SIGKILL."""
        tree = [(pid, (_stat(pid) or [""] * 22)[19]) for pid in descendants(self.pid)]
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(STOP_GRACE)

        def left() -> list[int]:  # the same processes (start time checked), still alive
            alive = []
            for pid, started in tree[1:]:
                fields = _stat(pid)
                if fields is not None and fields[19] == started and fields[0] != "Z":
                    alive.append(pid)
            return alive

        for sig in (signal.SIGTERM, signal.SIGKILL):
            remaining = left()
            if not remaining:
                break
            for pid in remaining:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + STOP_GRACE
            while left() and time.monotonic() < deadline:
                time.sleep(0.05)
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._log.close()


def run_cli(command: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"{' '.join(command[:4])} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout.strip()


def bin_path(name: str) -> str:
    """A console script of this interpreter's environment (``runyard``, ``mlflow``)."""
    return str(Path(sys.executable).parent / name)


# -- clients -----------------------------------------------------------------------------------


def start_clients(
    tool: str,
    count: int,
    points: int,
    target: str,
    seconds: float,
    folder: Path,
    sample: Callable[[], dict[str, float]],
) -> tuple[list[dict[str, Any]], dict[str, float], dict[str, float]]:
    """Start ``count`` client processes, let each set up, then start them together.

    Returns their reports (each with its start and end on the monotonic clock) and ``sample()``
    taken just before the start signal and just after the last report came in (the clients
    tidy up after reporting: ending the run, closing the store)."""
    processes = []
    for index in range(count):
        cwd = folder / f"client-{index}"
        cwd.mkdir()
        command = [
            sys.executable,
            os.path.abspath(__file__),
            "_client",
            tool,
            target,
            str(points),
            str(index),
            str(seconds),
        ]
        processes.append(
            subprocess.Popen(
                command,
                cwd=cwd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                bufsize=1,
            )
        )
    try:
        for process in processes:
            assert process.stdout is not None
            line = "?"
            while line and line.strip() != "ready":  # skip anything a library printed
                line = process.stdout.readline()
            if not line:
                raise BenchError(f"a {tool} client failed to start (exit {process.wait()})")
        before = sample()
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        reports = []
        for process in processes:
            assert process.stdout is not None
            line = "?"
            while line and not line.startswith("{"):
                line = process.stdout.readline()
            if not line:
                raise BenchError(f"a {tool} client failed (exit {process.wait()})")
            reports.append(json.loads(line))
        after = sample()
        for process in processes:
            if process.wait() != 0:
                raise BenchError(f"a {tool} client failed (exit {process.returncode})")
        return reports, before, after
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def client_main(argv: Sequence[str]) -> int:
    """One client process: set up, print ``ready``, wait for ``go``, log, print a JSON report."""
    tool, target, points_text, index_text, seconds_text = argv
    points, index, seconds = int(points_text), int(index_text), float(seconds_text)
    values = client_values(points, index)
    width = len(NAMES)
    if tool == "runyard":
        from runyard import Experiment, Workspace

        workspace = Workspace(tracking_uri=target)
        run = Experiment(workspace, "ingest").start_logging(snapshot_directory=None)
        log = run.log
        names = NAMES
        print("ready", flush=True)
        sys.stdin.readline()
        cpu0, t0 = time.process_time(), now_ns()
        for i in range(points):
            log(names[i % width], values[i], step=i // width)
        t1 = now_ns()
        run.flush()
        t2, cpu1 = now_ns(), time.process_time()
        report = {"run_id": run.id, "sent": points, "failed_calls": 0}
        tidy: list[Callable[[], Any]] = [run.complete, workspace.close]
    else:
        import logging

        from mlflow.entities import Metric
        from mlflow.tracking import MlflowClient

        logging.getLogger("mlflow").setLevel(logging.WARNING)
        client = MlflowClient(tracking_uri=target)
        experiment = client.get_experiment_by_name("ingest")
        assert experiment is not None
        run_id = client.create_run(experiment.experiment_id).info.run_id
        print("ready", flush=True)
        sys.stdin.readline()
        cpu0, t0 = time.process_time(), now_ns()
        deadline = t0 + int(seconds * 1e9)
        sent = failed = 0
        t2 = t0
        for start in range(0, points, MLFLOW_BATCH):
            stamp = int(time.time() * 1000)
            batch = [
                Metric(NAMES[i % width], values[i], stamp, i // width)
                for i in range(start, min(points, start + MLFLOW_BATCH))
            ]
            try:
                client.log_batch(run_id, metrics=batch)
                sent += len(batch)
            except Exception as exc:  # counted, not fatal: what landed is counted afterwards
                failed += 1
                print(f"log_batch failed: {exc}"[:300], file=sys.stderr)
            t2 = now_ns()
            if t2 >= deadline:
                break
        t1, cpu1 = t2, time.process_time()
        report = {"run_id": run_id, "sent": sent, "failed_calls": failed}
        tidy = [lambda: client.set_terminated(run_id)]
    report.update(
        {"client": index, "start_ns": t0, "logged_ns": t1, "end_ns": t2, "cpu_s": cpu1 - cpu0}
    )
    print(json.dumps(report), flush=True)
    for step in tidy:
        step()
    return 0


# -- verifying ---------------------------------------------------------------------------------


def expected_series(values: list[float], count: int) -> dict[str, tuple[list[float], list[int]]]:
    """Name -> (values, steps) of the first ``count`` points a client sent."""
    width = len(NAMES)
    out = {}
    for k, name in enumerate(NAMES):
        out[name] = (values[k:count:width], list(range(len(range(k, count, width)))))
    return out


def verify_runyard(target: str, reports: list[dict[str, Any]], points: int) -> int:
    """Read every run back through the SDK: every point there exactly once, in order."""
    from runyard import Run, Workspace

    workspace = Workspace(tracking_uri=target)
    landed = 0
    try:
        for report in reports:
            run = Run.get(workspace, report["run_id"])
            data = {d.name: d for d in workspace.store.read_metrics([run.id])}
            expected = expected_series(client_values(points, report["client"]), points)
            if sorted(data) != sorted(expected):
                raise BenchError(f"runyard run {run.id}: series {sorted(data)}")
            for name, (values, steps) in expected.items():
                got = data[name]
                if list(got.values) != values or list(got.steps) != steps:
                    raise BenchError(
                        f"runyard run {run.id}, {name!r}: {len(got.values)} points came back, "
                        f"{len(values)} sent, or not the same points"
                    )
                landed += len(got.values)
            if run.get_status() != "Completed":
                raise BenchError(f"runyard run {run.id} is {run.get_status()}")
    finally:
        workspace.close()
    return landed


def verify_mlflow(target: str, reports: list[dict[str, Any]], points: int) -> int:
    """Count what landed with ``get_metric_history``: each step once, with its value, and at
    least every point whose ``log_batch`` succeeded."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=target)
    landed = 0
    for report in reports:
        values = client_values(points, report["client"])
        run_landed = 0
        for k, name in enumerate(NAMES):
            history = client.get_metric_history(report["run_id"], name)
            steps = [m.step for m in history]
            if len(set(steps)) != len(steps):
                raise BenchError(f"mlflow run {report['run_id']}, {name!r}: duplicated points")
            for metric in history:
                if metric.value != values[k + metric.step * len(NAMES)]:
                    raise BenchError(f"mlflow run {report['run_id']}, {name!r}: wrong value")
            run_landed += len(history)
        if run_landed < report["sent"]:
            raise BenchError(
                f"mlflow run {report['run_id']}: {report['sent']} points acknowledged, "
                f"{run_landed} landed"
            )
        landed += run_landed
    return landed


# -- one configuration -------------------------------------------------------------------------


def measure(
    tool: str,
    server: Server,
    target: str,
    clients: int,
    points: int,
    seconds: float,
    folder: Path,
) -> dict[str, Any]:
    """Run the clients against a started server; the window's points/s and CPU use."""

    def sample() -> dict[str, float]:
        return {"server": server.cpu_s(), "busy": busy_cpu_s(), "wall": now_ns() / 1e9}

    reports, before, after = start_clients(tool, clients, points, target, seconds, folder, sample)
    start = min(r["start_ns"] for r in reports)
    end = max(r["end_ns"] for r in reports)
    seconds_taken = (end - start) / 1e9
    verify0 = time.perf_counter()
    if tool == "runyard":
        landed = verify_runyard(target, reports, points)
        if landed != clients * points:
            raise BenchError(f"runyard: {clients * points} points logged, {landed} landed")
    else:
        landed = verify_mlflow(target, reports, points)
    verify_s = time.perf_counter() - verify0
    client_cpu = sum(r["cpu_s"] for r in reports)
    # From the start signal to the last report: "others" is the rest of the machine's busy time.
    outside_s = after["wall"] - before["wall"]
    server_cpu = after["server"] - before["server"]
    busy = after["busy"] - before["busy"]
    return {
        "tool": tool,
        "clients": clients,
        "points_per_client": points,
        "points": landed,
        "complete": landed == clients * points,
        "seconds": seconds_taken,
        "points_per_s": landed / seconds_taken,
        "log_loop_s": max(r["logged_ns"] - r["start_ns"] for r in reports) / 1e9,
        "failed_calls": sum(r["failed_calls"] for r in reports),
        "client_cpu_s": client_cpu,
        "client_cpu_us_per_point": client_cpu / max(1, landed) * 1e6,
        "server_cpu_s": server_cpu,
        "server_cpu_us_per_point": server_cpu / max(1, landed) * 1e6,
        "window_s": outside_s,
        "machine_busy_cpu_s": busy,
        "others_cpu_s": busy - server_cpu - client_cpu,
        "verify_s": verify_s,
    }


def runyard_config(
    clients: int, points: int, workers: int, postgres: str | None, folder: Path
) -> dict[str, Any]:
    env = dict(os.environ)
    port = free_port()
    data = folder / "data"
    runyard = bin_path("runyard")
    workspace = f"{WORKSPACE}_{os.getpid()}_{clients}" if postgres else WORKSPACE
    where = ["--store", postgres, "--artifacts", str(folder / "artifacts")] if postgres else []
    where = where or ["--data", str(data)]
    run_cli([runyard, "server", "workspaces", "create", workspace, *where], env)
    grant = ["--workspace", workspace, "--role", "writer", "--name", "bench"]
    token = run_cli([runyard, "server", "tokens", "create", *grant, *where], env)
    listen = ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    server = Server([runyard, "server", *where, *listen], folder, env)
    target = f"http://127.0.0.1:{port}/{workspace}"
    # The clients inherit these, and the check reads with them. A client keeps a journal only
    # when the server is away: in this folder, not in ~/.cache.
    given = {k: os.environ.get(k) for k in ("RUNYARD_TOKEN", "RUNYARD_JOURNAL_DIR")}
    os.environ.update({"RUNYARD_TOKEN": token, "RUNYARD_JOURNAL_DIR": str(folder / "journal")})
    try:
        startup = server.wait_healthy(f"http://127.0.0.1:{port}/healthz", workers, "pid")
        result = measure("runyard", server, target, clients, points, 0.0, folder)
    finally:
        server.stop()
        for key, value in given.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    result.update(
        {"workers": workers, "store": "postgresql" if postgres else "sqlite", "startup_s": startup}
    )
    if not postgres:
        result["db_bytes"] = sum(p.stat().st_size for p in data.glob(f"{workspace}.db*"))
    return result


def mlflow_config(
    clients: int, points: int, workers: int, seconds: float, folder: Path
) -> dict[str, Any]:
    from mlflow.tracking import MlflowClient

    port = free_port()
    env = dict(os.environ)
    env.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    command = [bin_path("mlflow"), "server", "--backend-store-uri"]
    command += [f"sqlite:///{folder / 'mlflow.db'}", "--default-artifact-root"]
    command += [str(folder / "artifacts"), "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers)]
    server = Server(command, folder, env)
    target = f"http://127.0.0.1:{port}"
    try:
        startup = server.wait_healthy(f"{target}/health", workers, None)
        MlflowClient(tracking_uri=target).create_experiment("ingest")
        result = measure("mlflow", server, target, clients, points, seconds, folder)
    finally:
        server.stop()
    result.update({"workers": workers, "store": "sqlite", "startup_s": startup})
    result["time_boxed"] = not result["complete"]
    result["db_bytes"] = sum(p.stat().st_size for p in folder.glob("mlflow.db*"))
    return result


# -- report ------------------------------------------------------------------------------------


def table(configs: list[dict[str, Any]]) -> str:
    header = ("tool", "clients", "workers", "points", "seconds", "points/s", "note")
    rows = [header]
    for c in configs:
        note = "time-boxed: counts what landed" if c.get("time_boxed") else ""
        if c["failed_calls"]:
            note = (note + f"; {c['failed_calls']} failed calls").lstrip("; ")
        tool = c["tool"] if c["tool"] == "mlflow" else f"runyard ({c['store']})"
        rows.append(
            (
                tool,
                str(c["clients"]),
                str(c["workers"]),
                f"{c['points']:,}",
                f"{c['seconds']:.2f}",
                f"{c['points_per_s']:,.0f}",
                note,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = []
    for n, row in enumerate(rows):
        cells = [
            c.ljust(w) if i in (0, len(header) - 1) else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def cpu_lines(configs: list[dict[str, Any]]) -> str:
    lines = []
    if any(c["store"] == "postgresql" for c in configs):
        lines.append("  (with PostgreSQL, its processes count among the other processes)")
    for c in configs:
        lines.append(
            f"  {c['tool']:<7} {c['clients']} client(s): clients {c['client_cpu_s']:.2f} CPU-s "
            f"({c['client_cpu_us_per_point']:.2f} µs/point), server {c['server_cpu_s']:.2f} "
            f"CPU-s ({c['server_cpu_us_per_point']:.2f} µs/point), other processes "
            f"{c['others_cpu_s']:.2f} CPU-s, over {c['window_s']:.2f} s (timed part "
            f"{c['seconds']:.2f} s, of which the log loop {c['log_loop_s']:.2f} s)"
        )
    return "\n".join(lines)


def ratios(configs: list[dict[str, Any]]) -> dict[str, float]:
    """runyard points/s / MLflow points/s, by client count."""
    out = {}
    for ours in configs:
        for theirs in configs:
            if (ours["tool"], theirs["tool"]) == ("runyard", "mlflow") and ours["clients"] == (
                theirs["clients"]
            ):
                out[f"{ours['clients']}_clients"] = ours["points_per_s"] / theirs["points_per_s"]
    return out


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_client"]:
        return client_main(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--points", type=int, default=250_000, help="points per client")
    parser.add_argument(
        "--clients", default="1,4", help="client process counts, comma-separated (default 1,4)"
    )
    parser.add_argument("--workers", type=int, default=4, help="server worker processes")
    parser.add_argument(
        "--postgres", metavar="URL", help="runyard on this PostgreSQL (postgresql+psycopg://...)"
    )
    parser.add_argument(
        "--mlflow-seconds", type=float, default=30.0, help="time box per MLflow configuration"
    )
    parser.add_argument("--no-mlflow", action="store_true", help="measure runyard only")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.clients.split(",") if n.strip()]
    if args.points % len(NAMES) or args.points <= 0 or not counts or min(counts) < 1:
        parser.error(f"--points must be a positive multiple of {len(NAMES)}; --clients >= 1")
    json_path = args.json.resolve() if args.json else None

    results: dict[str, Any] = {"machine": machine(), "load_before": load(), "configs": []}
    results["settings"] = {
        "points_per_client": args.points,
        "clients": counts,
        "workers": args.workers,
        "store": "postgresql" if args.postgres else "sqlite",
        "mlflow_seconds": None if args.no_mlflow else args.mlflow_seconds,
    }
    info = results["machine"]
    print(
        f"{info['date']}  {info['cpu']}, {info['cores']} cores, {info['ram_gib']} GiB RAM\n"
        f"Python {info['python']}, SQLite {info['sqlite']}, SQLAlchemy {info['sqlalchemy']}, "
        f"runyard {info['runyard']} ({info['runyard_source']}), MLflow {info['mlflow']}\n"
        f"load before: {results['load_before']}",
        flush=True,
    )
    if results["load_before"]["busy_pct_last_second"] > 10:
        print("warning: the machine is busy; the numbers below will be pessimistic", flush=True)
    plan = [("runyard", n) for n in counts]
    if not args.no_mlflow:
        plan += [("mlflow", n) for n in counts]
    for tool, clients in plan:
        what = f"{args.points:,} points per client"
        if tool == "mlflow":
            what += f", at most {args.mlflow_seconds:g} s"
        print(f"{tool}: {clients} client(s), {args.workers} workers, {what} ...", flush=True)
        with tempfile.TemporaryDirectory(prefix=f"{tool}-ingest-") as tmp:
            if tool == "runyard":
                config = runyard_config(
                    clients, args.points, args.workers, args.postgres, Path(tmp)
                )
            else:
                config = mlflow_config(
                    clients, args.points, args.workers, args.mlflow_seconds, Path(tmp)
                )
        print(
            f"  {config['points']:,} points in {config['seconds']:.2f} s = "
            f"{config['points_per_s']:,.0f} points/s; others used "
            f"{config['others_cpu_s']:.1f} CPU-s meanwhile",
            flush=True,
        )
        results["configs"].append(config)
    results["load_after"] = load()
    configs = results["configs"]
    print()
    print(table(configs))
    print("\nCPU time over each configuration (whole client processes and server process trees):")
    print(cpu_lines(configs))
    results["ratios"] = ratios(configs)
    for key, ratio in results["ratios"].items():
        print(f"runyard / mlflow points/s, {key.replace('_', ' ')}: {ratio:,.1f}x")
    target = [c for c in configs if c["tool"] == "runyard" and c["clients"] == TARGET_CLIENTS]
    if target:
        met = target[0]["points_per_s"] >= TARGET_POINTS_PER_S
        results["targets_met"] = {f"points_per_s_{TARGET_CLIENTS}_clients>=200000": met}
        print(
            f"target: >= {TARGET_POINTS_PER_S:,} points/s from {TARGET_CLIENTS} clients: "
            f"{'met' if met else 'NOT met'} ({target[0]['points_per_s']:,.0f})"
        )
    print(f"load before: {results['load_before']}, after: {results['load_after']}")
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(results, indent=2) + "\n")
        print(f"results written to {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
