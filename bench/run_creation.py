"""How many runs a second a process can start and complete, against MLflow on the same machine.

Two cases, each tool in a fresh temporary workspace, from an empty temporary folder as the
current folder (so that runyard's default snapshot of ``.`` is small):

(a) bare
    runyard: ``run = exp.start_logging(); run.complete()``.
    MLflow: ``mlflow.start_run(); mlflow.end_run()``.
(b) with data
    runyard: as (a), plus ``run.add_properties({'p': i})``, ``run.set_tags({'a': ...})``,
    ``run.tag('b', ...)`` and ``run.log('acc', 0.9)`` before ``complete()``.
    MLflow: ``log_param``, ``set_tag`` twice and ``log_metric`` before ``end_run()``.

runyard is measured with ``start_logging``'s defaults (a snapshot of the current folder, and
``./outputs`` uploaded at the end) and with ``snapshot_directory=None, outputs=False``. Each
measurement creates ``--runs`` runs after ``--warmup`` runs not timed; it is repeated
``--repeat`` times (a fresh workspace each) and the median counts. Every run is then read back
(its status, and in (b) its tags, property and metric), or the script fails.

MLflow (``sqlite:///<tmp>/mlflow.db``) is measured when it is importable, unless
``--no-mlflow``. The machine's load is sampled before and after: another busy process on a
2-core machine lowers every number here.

Usage: ``python bench/run_creation.py [--runs N] [--repeat R] [--json PATH] [--no-mlflow]``
(``make bench`` runs it in ``.venv-bench``).
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from log_throughput import load, machine  # the same machine description in every benchmark

from runyard import Experiment, Run, Workspace


class BenchError(RuntimeError):
    """A benchmark found that a run it created did not come back as it was made."""


CASES = ("bare", "with data")
RUNYARD_MODES = {
    "defaults": {},
    "no snapshot, no outputs": {"snapshot_directory": None, "outputs": False},
}


# -- runyard -----------------------------------------------------------------------------------


def runyard_once(
    folder: Path, runs: int, warmup: int, with_data: bool, options: dict[str, Any]
) -> dict[str, Any]:
    """Create ``warmup`` + ``runs`` runs in a new workspace from the empty folder ``folder``."""
    cwd = folder / "cwd"
    cwd.mkdir()
    os.chdir(cwd)  # start_logging snapshots '.' and creates ./outputs by default
    workspace = Workspace.create(folder / "workspace")
    experiment = Experiment(workspace, "bench")

    def one(i: int) -> str:
        run = experiment.start_logging(**options)
        if with_data:
            run.add_properties({"p": str(i)})
            run.set_tags({"a": str(i)})
            run.tag("b", "x")
            run.log("acc", 0.9)
        run.complete()
        return run.id

    for i in range(warmup):
        one(i)
    gc.collect()
    clock = time.perf_counter
    cpu0 = time.process_time()
    t0 = clock()
    ids = [one(warmup + i) for i in range(runs)]
    elapsed = clock() - t0
    cpu_s = time.process_time() - cpu0
    check_runyard(experiment, ids, warmup, with_data)
    workspace.close()
    return {
        "runs": runs,
        "total_s": elapsed,
        "runs_per_s": runs / elapsed,
        "us_per_run": elapsed / runs * 1e6,
        "cpu_per_wall": cpu_s / elapsed,
        "db_bytes": sum(p.stat().st_size for p in (folder / "workspace").rglob("runyard.db*")),
    }


def check_runyard(experiment: Experiment, ids: list[str], warmup: int, with_data: bool) -> None:
    """Every timed run is Completed, with its data (a sample of 50 is read back in full)."""
    statuses = {r.id: r.status for r in experiment.get_runs()}
    if len(statuses) != warmup + len(ids) or any(statuses[i] != "Completed" for i in ids):
        raise BenchError("runyard: not every run came back Completed")
    step = max(1, len(ids) // 50)
    for index in range(0, len(ids), step):
        run = Run(experiment, ids[index])
        if not with_data:
            continue
        i = warmup + index
        if run.get_properties().get("p") != str(i):
            raise BenchError(f"runyard: run {run.id} lost its property")
        if run.get_tags() != {"a": str(i), "b": "x"}:
            raise BenchError(f"runyard: run {run.id} has tags {run.get_tags()}")
        if run.get_metrics() != {"acc": 0.9}:
            raise BenchError(f"runyard: run {run.id} has metrics {run.get_metrics()}")


# -- MLflow ------------------------------------------------------------------------------------


def quiet_mlflow() -> None:
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", module="mlflow")


def mlflow_once(folder: Path, runs: int, warmup: int, with_data: bool) -> dict[str, Any]:
    import mlflow
    from mlflow.tracking import MlflowClient

    quiet_mlflow()
    cwd = folder / "cwd"
    cwd.mkdir()
    os.chdir(cwd)
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    experiment_id = mlflow.set_experiment("bench").experiment_id

    def one(i: int) -> str:
        run = mlflow.start_run()
        if with_data:
            mlflow.log_param("p", str(i))
            mlflow.set_tag("a", str(i))
            mlflow.set_tag("b", "x")
            mlflow.log_metric("acc", 0.9)
        mlflow.end_run()
        return str(run.info.run_id)

    for i in range(warmup):
        one(i)
    gc.collect()
    clock = time.perf_counter
    cpu0 = time.process_time()
    t0 = clock()
    ids = [one(warmup + i) for i in range(runs)]
    elapsed = clock() - t0
    cpu_s = time.process_time() - cpu0
    client = MlflowClient()
    step = max(1, len(ids) // 50)
    for index in range(0, len(ids), step):
        data = client.get_run(ids[index])
        if data.info.status != "FINISHED":
            raise BenchError(f"mlflow: run {ids[index]} is {data.info.status}")
        if with_data and (
            data.data.params.get("p") != str(warmup + index)
            or data.data.tags.get("b") != "x"
            or data.data.metrics.get("acc") != 0.9
        ):
            raise BenchError(f"mlflow: run {ids[index]} lost its data")
    found = len(client.search_runs([experiment_id], max_results=50_000))
    if found != warmup + runs:
        raise BenchError(f"mlflow: {warmup + runs} runs made, {found} found")
    return {
        "runs": runs,
        "total_s": elapsed,
        "runs_per_s": runs / elapsed,
        "us_per_run": elapsed / runs * 1e6,
        "cpu_per_wall": cpu_s / elapsed,
    }


# -- driver ------------------------------------------------------------------------------------


def repeated(measure: Callable[[Path], dict[str, Any]], repeat: int, home: Path) -> dict[str, Any]:
    """``measure`` ``repeat`` times, each in a fresh temporary folder; the median run, with all
    the runs/s seen."""
    results = []
    for _ in range(repeat):
        gc.collect()
        with tempfile.TemporaryDirectory(prefix="runyard-bench-") as tmp:
            try:
                results.append(measure(Path(tmp)))
            finally:
                os.chdir(home)
    ordered = sorted(results, key=lambda r: r["runs_per_s"])
    median = dict(ordered[(len(ordered) - 1) // 2])
    median["repeat"] = repeat
    median["all_runs_per_s"] = [r["runs_per_s"] for r in results]
    return median


def table(results: dict[str, Any]) -> str:
    """One row per tool and mode: runs/s of each case, and how runyard compares."""
    mlflow = results.get("mlflow", {})
    header = ["tool", *(f"{case} runs/s" for case in CASES), *(f"{case} µs/run" for case in CASES)]
    if mlflow:
        header += [f"{case} vs mlflow" for case in CASES]
    rows = []
    for label, by_case in [
        *((f"runyard ({mode})", modes) for mode, modes in results["runyard"].items()),
        *([("mlflow 3 (sqlite)", mlflow)] if mlflow else []),
    ]:
        row = [label]
        row += [f"{by_case[case]['runs_per_s']:,.0f}" for case in CASES]
        row += [f"{by_case[case]['us_per_run']:,.0f}" for case in CASES]
        if mlflow:
            row += [
                f"{by_case[case]['runs_per_s'] / mlflow[case]['runs_per_s']:.1f}x" for case in CASES
            ]
        rows.append(row)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for index, row in enumerate([header, *rows]):
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=2000, help="timed runs per measurement")
    parser.add_argument("--warmup", type=int, default=50, help="untimed runs first")
    parser.add_argument("--repeat", type=int, default=3, help="measurements; the median counts")
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
        f"load before: {results['load_before']}",
        flush=True,
    )
    if results["load_before"]["busy_pct_last_second"] > 10:
        print("warning: the machine is busy; the numbers below will be pessimistic", flush=True)
    try:
        for mode, options in RUNYARD_MODES.items():
            results["runyard"][mode] = {}
            for case in CASES:
                print(f"runyard ({mode}), {case}: {args.repeat} x {args.runs} runs ...", flush=True)
                results["runyard"][mode][case] = repeated(
                    lambda folder, case=case, options=options: runyard_once(
                        folder, args.runs, args.warmup, case == "with data", options
                    ),
                    args.repeat,
                    home,
                )
        if not args.no_mlflow:
            try:
                import mlflow  # noqa: F401
            except ImportError:
                print("mlflow is not importable: measured runyard only", flush=True)
            else:
                results["mlflow"] = {}
                for case in CASES:
                    print(f"mlflow, {case}: {args.repeat} x {args.runs} runs ...", flush=True)
                    results["mlflow"][case] = repeated(
                        lambda folder, case=case: mlflow_once(
                            folder, args.runs, args.warmup, case == "with data"
                        ),
                        args.repeat,
                        home,
                    )
    finally:
        os.chdir(home)
    results["load_after"] = load()

    print()
    print(table(results))
    for mode, by_case in results["runyard"].items():
        for case, result in by_case.items():
            seen = ", ".join(f"{r:,.0f}" for r in result["all_runs_per_s"])
            print(f"runyard ({mode}), {case}: runs/s of each measurement {seen}")
    targets = {
        "bare>=1000/s": results["runyard"]["defaults"]["bare"]["runs_per_s"] >= 1000,
        "with_data>=500/s": results["runyard"]["defaults"]["with data"]["runs_per_s"] >= 500,
    }
    results["targets_met"] = targets
    print(f"load before: {results['load_before']}, after: {results['load_after']}")
    print(
        "targets (defaults): "
        + ", ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in targets.items())
    )
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(results, indent=2) + "\n")
        print(f"results written to {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
