"""How fast ``run.log`` is, against MLflow on the same machine, both into SQLite.

One invocation measures, each tool in a fresh temporary workspace:

runyard
    * per call: ``run.log('loss', v)`` timed in batches of ``--batch`` calls with
      ``time.perf_counter_ns``; median and p99 of the batch means (the writer thread runs
      meanwhile, as it does in real use). A second pass times single calls for the tail.
    * sustained: ``--points`` points across ``--names`` names (4) round-robin, with steps, as
      fast as a Python loop can call ``run.log``, then ``run.flush()``; points/s =
      N / (first log .. flush returns).
      ``run.get_metrics()`` must give back every point, in order, or the script fails. Done
      ``--repeat`` times (fresh workspace each); the median run is reported.

MLflow (``sqlite:///<tmp>/mlflow.db``)
    * ``mlflow.log_metric('loss', v, step=i)``: each call timed, for ``--mlflow-seconds`` or
      ``--mlflow-calls`` calls, whichever comes first.
    * ``mlflow.log_metric(..., synchronous=False)`` then ``mlflow.flush_async_logging()``.
    * ``MlflowClient().log_batch`` with 1000 metrics per call (MLflow's best case).
    Every mode counts what landed with ``get_metric_history``.

The machine's load is sampled before and after (another process on a 2-core machine halves
these numbers), and the process's CPU time / wall time of the sustained runs is reported.

Usage: ``python bench/log_throughput.py [--points N] [--repeat R] [--json PATH] [--no-mlflow]``
(``make bench`` runs it in ``.venv-bench``).
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import logging
import math
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import runyard
from runyard import Experiment, Workspace

NAMES = ("loss", "accuracy", "lr", "grad_norm")
MLFLOW_BATCH = 1000


class BenchError(RuntimeError):
    """A benchmark found that the points it logged did not all land."""


# -- helpers -----------------------------------------------------------------------------------


def percentile(data: Sequence[float], q: float) -> float:
    """The ``q`` percentile (0-100) of ``data``, nearest-rank on the sorted values."""
    ordered = sorted(data)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


def floats(n: int, seed: int) -> list[float]:
    """``n`` loss-like floats with full precision (17 significant digits, like a real loss)."""
    rng = random.Random(seed)
    return [rng.random() * 2.0 for _ in range(n)]


def source() -> dict[str, Any]:
    """Where runyard was imported from, and its git commit (read-only git calls)."""
    folder = Path(runyard.__file__).resolve().parent
    info: dict[str, Any] = {"path": str(folder), "commit": None, "dirty": None}
    git = ["git", "--no-optional-locks", "-C", str(folder)]
    try:
        info["commit"] = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            [*git, "status", "--porcelain", "--", "."], capture_output=True, text=True, check=True
        ).stdout
        info["dirty"] = bool(status.strip())
    except (OSError, subprocess.CalledProcessError):
        pass
    return info


def machine() -> dict[str, Any]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram_gib = float("nan")
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                ram_gib = int(line.split()[1]) / 1024**2
                break
    try:
        import mlflow

        mlflow_version = mlflow.__version__
    except ImportError:
        mlflow_version = None
    import sqlalchemy

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)),
        "ram_gib": round(ram_gib, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": sqlalchemy.__version__,
        "runyard": runyard.__version__,
        "runyard_source": source(),
        "mlflow": mlflow_version,
        "blas_env": {k: v for k, v in os.environ.items() if "BLAS" in k or k.startswith("OMP_")},
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def timer_overhead_ns() -> float:
    """The median cost of one back-to-back ``perf_counter_ns`` pair (included in single timings)."""
    clock = time.perf_counter_ns
    samples = []
    for _ in range(20_000):
        t0 = clock()
        t1 = clock()
        samples.append(t1 - t0)
    return statistics.median(samples)


def count_runyard(metrics: dict[str, Any]) -> int:
    return sum(len(v) if isinstance(v, list) else 1 for v in metrics.values())


# -- runyard -----------------------------------------------------------------------------------


def open_runyard(folder: Path) -> tuple[Workspace, runyard.Run]:
    os.chdir(folder)  # start_logging creates ./outputs; keep it in the temp folder
    workspace = Workspace(f"sqlite:///{folder / 'runyard.db'}")
    run = Experiment(workspace, "bench").start_logging(snapshot_directory=None)
    return workspace, run


def runyard_per_call(folder: Path, batch: int, batches: int, warmup: int) -> dict[str, Any]:
    """``run.log('loss', v)`` in batches: median and p99 of the batch means; then single calls."""
    workspace, run = open_runyard(folder)
    log = run.log
    clock = time.perf_counter_ns
    values = floats(batch, seed=1)
    means: list[float] = []
    for index in range(warmup + batches):
        t0 = clock()
        for value in values:
            log("loss", value)
        t1 = clock()
        if index >= warmup:
            means.append((t1 - t0) / batch)
    # Single calls, each timed: the tail a caller sees (timer overhead included, reported).
    singles: list[int] = []
    for _ in range(batches):
        for value in values:
            t0 = clock()
            log("loss", value)
            t1 = clock()
            singles.append(t1 - t0)
    # The floor: the same loop calling a no-op function of the same signature.
    noop_means: list[float] = []

    def noop(name: str, value: Any, description: str = "", step: int | None = None) -> None:
        pass

    for _ in range(max(10, batches // 10)):
        t0 = clock()
        for value in values:
            noop("loss", value)
        t1 = clock()
        noop_means.append((t1 - t0) / batch)
    logged = (warmup + 2 * batches) * batch
    t0 = clock()
    run.flush()
    flush_s = (clock() - t0) / 1e9
    landed = count_runyard(run.get_metrics())
    workspace.close()
    if landed != logged:
        raise BenchError(f"runyard per-call: logged {logged} points, {landed} landed")
    overhead = timer_overhead_ns()
    return {
        "batch": batch,
        "batches": batches,
        "median_us": statistics.median(means) / 1000,
        "p99_us": percentile(means, 99) / 1000,
        "min_us": min(means) / 1000,
        "max_us": max(means) / 1000,
        "single_calls": len(singles),
        "single_median_us": statistics.median(singles) / 1000,
        "single_p99_us": percentile(singles, 99) / 1000,
        "single_p999_us": percentile(singles, 99.9) / 1000,
        "single_max_us": max(singles) / 1000,
        "timer_overhead_us": overhead / 1000,
        "noop_call_us": statistics.median(noop_means) / 1000,
        "final_flush_s": flush_s,
        "points_logged": logged,
        "points_landed": landed,
    }


def metric_names(count: int) -> list[str]:
    return [*NAMES, *(f"metric_{i}" for i in range(len(NAMES), count))][:count]


def runyard_sustained(folder: Path, points: int, width: int) -> dict[str, Any]:
    """``points`` points over ``width`` names with steps, then flush; all must come back, in
    order."""
    workspace, run = open_runyard(folder)
    log = run.log
    values = floats(points, seed=2)
    names = metric_names(width)
    width = len(names)
    clock = time.perf_counter_ns
    cpu0 = time.process_time()
    t0 = clock()
    for i in range(points):
        log(names[i % width], values[i], step=i // width)
    t1 = clock()
    run.flush()
    t2 = clock()
    cpu_s = time.process_time() - cpu0
    metrics = run.get_metrics()
    t3 = clock()
    workspace.close()
    landed = count_runyard(metrics)
    if landed != points:
        raise BenchError(f"runyard sustained: logged {points} points, {landed} landed")
    for k, name in enumerate(names):
        expected = values[k::width]
        got = metrics[name]
        if (got if isinstance(got, list) else [got]) != expected:
            raise BenchError(f"runyard sustained: series {name!r} came back different")
    total_s = (t2 - t0) / 1e9
    return {
        "points": points,
        "names": width,
        "log_loop_s": (t1 - t0) / 1e9,
        "final_flush_s": (t2 - t1) / 1e9,
        "total_s": total_s,
        "points_per_s": points / total_s,
        "log_us_per_call": (t1 - t0) / points / 1000,
        "read_back_s": (t3 - t2) / 1e9,
        "cpu_s": cpu_s,
        "cpu_per_wall": cpu_s / total_s,
        "points_landed": landed,
        "db_bytes": sum(p.stat().st_size for p in folder.glob("runyard.db*")),
    }


def runyard_sustained_repeated(points: int, repeat: int, width: int) -> dict[str, Any]:
    """``runyard_sustained`` ``repeat`` times, each in a fresh workspace; the median run."""
    runs = []
    for _ in range(repeat):
        gc.collect()
        with tempfile.TemporaryDirectory(prefix="runyard-bench-") as tmp:
            runs.append(runyard_sustained(Path(tmp), points, width))
    ordered = sorted(runs, key=lambda r: r["points_per_s"])
    median = dict(ordered[(len(ordered) - 1) // 2])
    median["repeat"] = repeat
    median["all_points_per_s"] = [r["points_per_s"] for r in runs]
    median["all_cpu_per_wall"] = [r["cpu_per_wall"] for r in runs]
    return median


def _cpu_times() -> tuple[int, int]:
    with open("/proc/stat") as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


def load(window: float = 1.0) -> dict[str, Any]:
    """The machine's load now (this process is idle while it samples): other processes' CPU
    use skews every number here."""
    busy0, total0 = _cpu_times()
    time.sleep(window)
    busy1, total1 = _cpu_times()
    pressure = None
    try:
        with open("/proc/pressure/cpu") as handle:
            pressure = float(handle.readline().split()[1].split("=")[1])  # some avg10, %
    except (OSError, IndexError, ValueError):
        pass
    return {
        "busy_pct_last_second": round(100 * (busy1 - busy0) / max(1, total1 - total0), 1),
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "cpu_pressure_some_avg10_pct": pressure,
    }


# -- MLflow ------------------------------------------------------------------------------------


def quiet_mlflow() -> None:
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", module="mlflow")


def mlflow_count(client: Any, run_id: str, key: str) -> int:
    return len(client.get_metric_history(run_id, key))


def timed_calls(call: Callable[[int], Any], max_calls: int, max_seconds: float) -> list[int]:
    clock = time.perf_counter_ns
    deadline = clock() + int(max_seconds * 1e9)
    durations: list[int] = []
    for i in range(max_calls):
        t0 = clock()
        call(i)
        t1 = clock()
        durations.append(t1 - t0)
        if t1 >= deadline:
            break
    return durations


def mlflow_bench(folder: Path, max_calls: int, max_seconds: float) -> dict[str, Any]:
    import mlflow
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    quiet_mlflow()
    os.chdir(folder)
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    t0 = time.perf_counter()
    active = mlflow.start_run()
    setup_s = time.perf_counter() - t0  # creates the schema: not part of any measurement
    run_id = active.info.run_id
    client = MlflowClient()
    results: dict[str, Any] = {"setup_s": setup_s}

    # log_metric, synchronous: one SQLite transaction per call.
    values = floats(max_calls, seed=3)
    clock = time.perf_counter_ns
    start = clock()
    durations = timed_calls(
        lambda i: mlflow.log_metric("loss", values[i], step=i), max_calls, max_seconds
    )
    elapsed = (clock() - start) / 1e9
    landed = mlflow_count(client, run_id, "loss")
    if landed != len(durations):
        raise BenchError(f"mlflow log_metric: logged {len(durations)}, {landed} landed")
    results["log_metric"] = {
        "calls": len(durations),
        "median_us": statistics.median(durations) / 1000,
        "p99_us": percentile(durations, 99) / 1000,
        "points_per_s": len(durations) / elapsed,
        "total_s": elapsed,
        "points_landed": landed,
    }

    # log_metric, synchronous=False: queued to MLflow's own thread, then flushed.
    start = clock()
    durations = timed_calls(
        lambda i: mlflow.log_metric("loss_async", values[i], step=i, synchronous=False),
        max_calls,
        max_seconds,
    )
    queued = clock()
    mlflow.flush_async_logging()
    done = clock()
    landed = mlflow_count(client, run_id, "loss_async")
    if landed != len(durations):
        raise BenchError(f"mlflow async log_metric: logged {len(durations)}, {landed} landed")
    results["log_metric_async"] = {
        "calls": len(durations),
        "median_us": statistics.median(durations) / 1000,
        "p99_us": percentile(durations, 99) / 1000,
        "points_per_s": len(durations) / ((done - start) / 1e9),
        "log_loop_s": (queued - start) / 1e9,
        "final_flush_s": (done - queued) / 1e9,
        "total_s": (done - start) / 1e9,
        "points_landed": landed,
    }

    # log_batch, 1000 metrics a call: MLflow's fastest documented way in.
    batch_values = floats(MLFLOW_BATCH, seed=4)
    stamp = int(time.time() * 1000)

    def one_batch(b: int) -> None:
        base = b * MLFLOW_BATCH
        client.log_batch(
            run_id,
            metrics=[Metric("loss_batch", v, stamp, base + j) for j, v in enumerate(batch_values)],
        )

    start = clock()
    durations = timed_calls(one_batch, max_calls, max_seconds)
    elapsed = (clock() - start) / 1e9
    logged = len(durations) * MLFLOW_BATCH
    landed = mlflow_count(client, run_id, "loss_batch")
    if landed != logged:
        raise BenchError(f"mlflow log_batch: logged {logged}, {landed} landed")
    results["log_batch"] = {
        "calls": len(durations),
        "batch": MLFLOW_BATCH,
        "median_us": statistics.median(durations) / 1000 / MLFLOW_BATCH,
        "p99_us": percentile(durations, 99) / 1000 / MLFLOW_BATCH,
        "median_ms_per_batch": statistics.median(durations) / 1e6,
        "points_per_s": logged / elapsed,
        "total_s": elapsed,
        "points_landed": landed,
    }
    mlflow.end_run()
    return results


# -- report ------------------------------------------------------------------------------------


def table(results: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str, str]] = []
    per_call = results["runyard"]["per_call"]
    sustained = results["runyard"]["sustained"]
    rows.append(
        (
            "runyard run.log",
            f"{per_call['median_us']:.2f}",
            f"{per_call['p99_us']:.2f}",
            f"{sustained['points_per_s']:,.0f}",
        )
    )
    labels = {
        "log_metric": "mlflow log_metric",
        "log_metric_async": "mlflow log_metric async",
        "log_batch": f"mlflow log_batch ({MLFLOW_BATCH}/call)",
    }
    for key, label in labels.items():
        if key in results.get("mlflow", {}):
            mode = results["mlflow"][key]
            suffix = " per point" if key == "log_batch" else ""
            rows.append(
                (
                    label,
                    f"{mode['median_us']:,.2f}{suffix}",
                    f"{mode['p99_us']:,.2f}{suffix}",
                    f"{mode['points_per_s']:,.0f}",
                )
            )
    header = ("tool", "µs/call median", "µs/call p99", "sustained points/s")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    lines = [
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w)
            for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    ]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return "\n".join(lines)


def ratios(results: dict[str, Any]) -> dict[str, dict[str, float]]:
    """How many times faster runyard is: MLflow µs / runyard µs, runyard pts/s / MLflow pts/s."""
    per_call = results["runyard"]["per_call"]
    sustained = results["runyard"]["sustained"]
    out: dict[str, dict[str, float]] = {}
    for key, mode in results.get("mlflow", {}).items():
        if not isinstance(mode, dict):
            continue
        out[key] = {
            "per_call_median": mode["median_us"] / per_call["median_us"],
            "per_call_p99": mode["p99_us"] / per_call["p99_us"],
            "points_per_s": sustained["points_per_s"] / mode["points_per_s"],
        }
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--points", type=int, default=1_000_000, help="sustained points (runyard)")
    parser.add_argument("--batch", type=int, default=1000, help="calls per timed batch (runyard)")
    parser.add_argument("--batches", type=int, default=1000, help="timed batches (runyard)")
    parser.add_argument("--names", type=int, default=4, help="metric names, round-robin")
    parser.add_argument("--repeat", type=int, default=3, help="sustained runs; the median counts")
    parser.add_argument("--mlflow-seconds", type=float, default=5.0, help="time box per mode")
    parser.add_argument("--mlflow-calls", type=int, default=2000, help="call cap per mode")
    parser.add_argument("--no-mlflow", action="store_true", help="measure runyard only")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    args = parser.parse_args(argv)
    json_path = args.json.resolve() if args.json else None
    home = Path.cwd()

    results: dict[str, Any] = {"machine": machine(), "load_before": load(), "runyard": {}}
    info = results["machine"]
    print(
        f"{info['date']}  {info['cpu']}, {info['cores']} cores, {info['ram_gib']} GiB RAM\n"
        f"Python {info['python']}, SQLite {info['sqlite']}, SQLAlchemy {info['sqlalchemy']}, "
        f"runyard {info['runyard']} ({info['runyard_source']}), MLflow {info['mlflow']}\n"
        f"BLAS/OMP environment: {info['blas_env'] or 'none'}; "
        f"load before: {results['load_before']}",
        flush=True,
    )
    if results["load_before"]["busy_pct_last_second"] > 10:
        print("warning: the machine is busy; the numbers below will be pessimistic", flush=True)
    gc.collect()
    try:
        with tempfile.TemporaryDirectory(prefix="runyard-bench-") as tmp:
            folder = Path(tmp) / "per_call"
            folder.mkdir()
            print("runyard: per-call cost ...", flush=True)
            results["runyard"]["per_call"] = runyard_per_call(
                folder, args.batch, args.batches, warmup=20
            )
            os.chdir(home)
        gc.collect()
        print(
            f"runyard: {args.points:,} points over {args.names} names, {args.repeat} times ...",
            flush=True,
        )
        results["runyard"]["sustained"] = runyard_sustained_repeated(
            args.points, args.repeat, args.names
        )
        os.chdir(home)
        gc.collect()
        if not args.no_mlflow:
            with tempfile.TemporaryDirectory(prefix="mlflow-bench-") as tmp:
                print("mlflow: log_metric, async log_metric, log_batch ...", flush=True)
                results["mlflow"] = mlflow_bench(Path(tmp), args.mlflow_calls, args.mlflow_seconds)
                os.chdir(home)
    finally:
        os.chdir(home)
    results["load_after"] = load()

    per_call = results["runyard"]["per_call"]
    sustained = results["runyard"]["sustained"]
    print()
    print(table(results))
    print(
        f"\nrunyard single calls ({per_call['single_calls']:,} timed one by one, timer overhead "
        f"{per_call['timer_overhead_us'] * 1000:.0f} ns included): median "
        f"{per_call['single_median_us']:.2f} µs, p99 {per_call['single_p99_us']:.2f} µs, "
        f"p99.9 {per_call['single_p999_us']:.2f} µs, max {per_call['single_max_us']:,.0f} µs; "
        f"a no-op call in the same loop costs {per_call['noop_call_us']:.2f} µs"
    )
    print(
        f"runyard sustained, median of {sustained['repeat']} runs "
        f"(points/s: {', '.join(f'{p:,.0f}' for p in sustained['all_points_per_s'])}; "
        f"process CPU / wall: {sustained['cpu_per_wall']:.2f}):\n"
        f"  {sustained['points']:,} points in {sustained['total_s']:.2f} s = "
        f"log loop {sustained['log_loop_s']:.2f} s ({sustained['log_us_per_call']:.2f} µs/call) "
        f"+ final flush {sustained['final_flush_s']:.2f} s; all {sustained['points_landed']:,} "
        f"read back in {sustained['read_back_s']:.2f} s"
    )
    results["ratios"] = ratios(results)
    for key, ratio in results["ratios"].items():
        print(
            f"runyard vs mlflow {key}: {ratio['per_call_median']:,.0f}x faster per call "
            f"(median), {ratio['per_call_p99']:,.0f}x (p99), "
            f"{ratio['points_per_s']:,.0f}x the sustained points/s"
        )
    targets = {
        "points_per_s>=500000": sustained["points_per_s"] >= 500_000,
        "median_us_per_call<=2": per_call["median_us"] <= 2.0,
    }
    results["targets_met"] = targets
    print(f"load before: {results['load_before']}, after: {results['load_after']}")
    print("targets: " + ", ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in targets.items()))
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(results, indent=2) + "\n")
        print(f"results written to {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
