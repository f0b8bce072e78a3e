"""How fast questions asked of many runs are answered, against MLflow 3 on SQLite.

Populations (built once, cached under ``bench/.work/run_queries/`` keyed by size and by the
schema's migrations, then reused):

* runyard at each ``--sizes`` (1,000, 10,000 and 100,000 runs by default), written through the
  store in bulk (``create_runs`` of 1,000 ``NewRun`` at a time, then ``log_metrics``): how fast
  the SDK creates runs is another benchmark's business.
* MLflow at ``--mlflow-size`` runs (10,000), written through ``MlflowClient`` (``create_run``,
  ``log_batch``): minutes, once.

Run ``i`` of every population is the same: property (MLflow: param) ``author`` in 5 values,
tags ``lr`` (5 values) and ``quality`` (3), metric ``acc`` (one point, missing on 2 % of the
runs) and ``loss`` (3 points). A smaller population is the first runs of a bigger one.

Queries, each timed warm (one untimed call first) as the median of ``--repeat`` calls:

(a) the first 100 runs of ``properties.author = 'ann' and tags.lr = '0.01' and metrics.acc >
    0.5`` sorted by ``metrics.acc DESC`` (MLflow: ``params.author``, ``max_results=100``).
(b) the same with OR (runyard only: MLflow's grammar has no OR).
(c) every run with its tags, properties and metric summaries: runyard through the store (pages
    of 5,000, ``include_metrics``) and ``Experiment.get_runs_dataframe()``; MLflow through
    ``MlflowClient.search_runs`` (pages of 1,000) and ``mlflow.search_runs`` (a DataFrame).
(d) the first 100 runs sorted by ``metrics.acc DESC`` with no filter; and (d0) the first 100
    newest first (no sort).

Runyard and MLflow must return the same runs for (a) and (d) at the same size (checked).

Usage: ``python bench/run_queries.py [--sizes 1000,10000,100000] [--no-mlflow] [--json PATH]``
(``make bench`` runs it in ``.venv-bench``).
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import hashlib
import json
import logging
import os
import random
import shutil
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from log_throughput import machine as base_machine  # one machine description for all

import runyard
from runyard import Experiment, Workspace
from runyard.entities import MetricChunk, MetricKind, NewRun, RunQuery, ValueType

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "run_queries"
EXPERIMENT = "bench"
AUTHORS = ("ann", "bob", "cat", "dan", "eve")
LRS = ("0.1", "0.03", "0.01", "0.003", "0.001")
QUALITIES = ("good", "fair", "poor")
BATCH = 1000
PAGE = 100
FULL_PAGE = 5000
MLFLOW_FULL_PAGE = 1000

FILTER_AND = "properties.author = 'ann' and tags.lr = '0.01' and metrics.acc > 0.5"
FILTER_OR = "properties.author = 'ann' or tags.lr = '0.01' or metrics.acc > 0.5"
MLFLOW_FILTER_AND = "params.author = 'ann' and tags.lr = '0.01' and metrics.acc > 0.5"
ORDER = "metrics.acc DESC"


class BenchError(RuntimeError):
    """A population or a query gave something other than what it should."""


# -- the population ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Spec:
    """What run ``index`` holds, the same in both tools."""

    index: int
    author: str
    lr: str
    quality: str
    acc: float | None
    loss: tuple[float, float, float]

    @property
    def name(self) -> str:
        return f"run-{self.index:06d}"


def specs(n: int) -> list[Spec]:
    """The first ``n`` runs of the population (the same for every ``n``)."""
    rng = random.Random(9)
    out = []
    for i in range(n):
        author = AUTHORS[rng.randrange(5)]
        lr = LRS[rng.randrange(5)]
        quality = QUALITIES[rng.randrange(3)]
        acc = None if rng.random() < 0.02 else rng.random()
        loss = (rng.random() * 2, rng.random() * 1.5, rng.random())
        out.append(Spec(i, author, lr, quality, acc, loss))
    return out


def schema_key() -> str:
    """A hash of runyard's migrations: a cached database of another schema is rebuilt."""
    folder = Path(runyard.__file__).resolve().parent / "store" / "sql" / "migrations" / "versions"
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def runyard_db(n: int) -> Path:
    return WORK / f"runyard-{n}-{schema_key()}" / "runyard.db"


def populate_runyard(n: int) -> tuple[Path, float | None]:
    """The cached runyard database of ``n`` runs (built when missing); seconds to build it."""
    db = runyard_db(n)
    if db.exists():
        return db, None
    tmp = db.parent.with_name(db.parent.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    t0 = time.perf_counter()
    workspace = Workspace(f"sqlite:///{tmp / 'runyard.db'}")
    store = workspace.store
    now = time.time()
    all_specs = specs(n)
    for start in range(0, n, BATCH):
        batch = all_specs[start : start + BATCH]
        store.create_runs(
            [
                NewRun(
                    run_id=f"r{s.index:06d}",
                    experiment_name=EXPERIMENT,
                    display_name=s.name,
                    tags={"lr": s.lr, "quality": s.quality},
                    properties={"author": s.author},
                )
                for s in batch
            ]
        )
        chunks = []
        for s in batch:
            run_id = f"r{s.index:06d}"
            if s.acc is not None:
                chunks.append(
                    MetricChunk(
                        run_id, "acc", MetricKind.VECTOR, ValueType.NUMBER, [s.acc], [now], [0]
                    )
                )
            chunks.append(
                MetricChunk(
                    run_id,
                    "loss",
                    MetricKind.VECTOR,
                    ValueType.NUMBER,
                    list(s.loss),
                    [now, now + 1, now + 2],
                    [0, 1, 2],
                )
            )
        store.log_metrics(chunks)
    workspace.close()
    seconds = time.perf_counter() - t0
    tmp.rename(db.parent)
    return db, seconds


def mlflow_dir(n: int) -> Path:
    import mlflow

    return WORK / f"mlflow-{n}-{mlflow.__version__}"


def populate_mlflow(n: int) -> tuple[Path, float | None]:
    """The cached MLflow folder (``mlflow.db``, ``artifacts/``) of ``n`` runs; build seconds."""
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    folder = mlflow_dir(n)
    if (folder / "mlflow.db").exists():
        return folder, None
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    t0 = time.perf_counter()
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp / 'mlflow.db'}")
    exp_id = client.create_experiment(EXPERIMENT, artifact_location=str(tmp / "artifacts"))
    ms = int(time.time() * 1000)
    for s in specs(n):
        run = client.create_run(
            exp_id, run_name=s.name, tags={"lr": s.lr, "quality": s.quality}, start_time=ms
        )
        metrics = [Metric("loss", v, ms + k, k) for k, v in enumerate(s.loss)]
        if s.acc is not None:
            metrics.append(Metric("acc", s.acc, ms, 0))
        client.log_batch(run.info.run_id, metrics=metrics, params=[Param("author", s.author)])
        ms += 1
        if s.index % 1000 == 999:
            print(f"  mlflow: {s.index + 1} runs, {time.perf_counter() - t0:.0f} s", flush=True)
    seconds = time.perf_counter() - t0
    tmp.rename(folder)
    return folder, seconds


# -- timing --------------------------------------------------------------------------------------


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, list[float], Any]:
    """Median seconds of ``repeat`` calls after one untimed call, every sample, the last result."""
    result = fn()
    samples = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), samples, result


def machine() -> dict[str, Any]:
    """log_throughput's machine description, plus the load average at the start."""
    return {**base_machine(), "load_before": os.getloadavg()}


# -- runyard -------------------------------------------------------------------------------------


def measure_runyard(n: int, repeat: int, full_repeat: int) -> dict[str, Any]:
    db, built = populate_runyard(n)
    workspace = Workspace(f"sqlite:///{db}")
    store = workspace.store
    experiment = Experiment(workspace, EXPERIMENT)
    out: dict[str, Any] = {"size": n, "build_s": built, "db_mib": db.stat().st_size / 2**20}

    def page(filter: str | None, order_by: Sequence[str]) -> Callable[[], list[str]]:
        query = RunQuery(
            experiment_name=EXPERIMENT, filter=filter, order_by=list(order_by), page_size=PAGE
        )
        return lambda: [r.display_name for r in store.search_runs(query).runs]

    cases = {
        "a_and": page(FILTER_AND, [ORDER]),
        "b_or": page(FILTER_OR, [ORDER]),
        "d_sorted": page(None, [ORDER]),
        "d0_newest": page(None, []),
    }
    for name, fn in cases.items():
        median, samples, names = timed(fn, repeat)
        out[name] = {"median_s": median, "samples_s": samples, "rows": len(names), "names": names}

    def everything() -> tuple[int, int]:
        query = RunQuery(experiment_name=EXPERIMENT, include_metrics=True, page_size=FULL_PAGE)
        count = metrics = 0
        token = None
        while True:
            found = store.search_runs(dataclasses.replace(query, page_token=token))
            count += len(found.runs)
            metrics += sum(len(r.metrics or {}) for r in found.runs)
            token = found.next_page_token
            if token is None:
                return count, metrics

    median, samples, (count, metrics) = timed(everything, full_repeat)
    if count != n:
        raise BenchError(f"runyard: fetched {count} runs of {n}")
    out["c_store"] = {"median_s": median, "samples_s": samples, "rows": count, "series": metrics}
    median, samples, frame = timed(experiment.get_runs_dataframe, full_repeat)
    if len(frame) != n:
        raise BenchError(f"runyard: the DataFrame holds {len(frame)} runs of {n}")
    out["c_dataframe"] = {
        "median_s": median,
        "samples_s": samples,
        "rows": len(frame),
        "columns": len(frame.columns),
    }
    workspace.close()
    return out


# -- MLflow --------------------------------------------------------------------------------------


def measure_mlflow(n: int, repeat: int, full_repeat: int) -> dict[str, Any]:
    import mlflow
    from mlflow.tracking import MlflowClient

    folder, built = populate_mlflow(n)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(tracking_uri=uri)
    exp_id = client.get_experiment_by_name(EXPERIMENT).experiment_id
    db_mib = (folder / "mlflow.db").stat().st_size / 2**20
    out: dict[str, Any] = {"size": n, "build_s": built, "db_mib": db_mib}

    def page(filter: str, order_by: Sequence[str]) -> Callable[[], list[str]]:
        def call() -> list[str]:
            found = client.search_runs(
                [exp_id], filter_string=filter, order_by=list(order_by), max_results=PAGE
            )
            return [r.info.run_name for r in found]

        return call

    cases = {
        "a_and": page(MLFLOW_FILTER_AND, [ORDER]),
        "d_sorted": page("", [ORDER]),
        "d0_newest": page("", []),
    }
    for name, fn in cases.items():
        median, samples, names = timed(fn, repeat)
        out[name] = {"median_s": median, "samples_s": samples, "rows": len(names), "names": names}

    def everything() -> tuple[int, int]:
        count = metrics = 0
        token = None
        while True:
            found = client.search_runs([exp_id], max_results=MLFLOW_FULL_PAGE, page_token=token)
            count += len(found)
            metrics += sum(len(r.data.metrics) for r in found)
            token = found.token
            if not token:
                return count, metrics

    median, samples, (count, metrics) = timed(everything, full_repeat)
    if count != n:
        raise BenchError(f"MLflow: fetched {count} runs of {n}")
    out["c_store"] = {"median_s": median, "samples_s": samples, "rows": count, "series": metrics}
    median, samples, frame = timed(lambda: mlflow.search_runs([exp_id]), full_repeat)
    if len(frame) != n:
        raise BenchError(f"MLflow: the DataFrame holds {len(frame)} runs of {n}")
    out["c_dataframe"] = {
        "median_s": median,
        "samples_s": samples,
        "rows": len(frame),
        "columns": len(frame.columns),
    }
    return out


# -- report --------------------------------------------------------------------------------------

LABELS = {
    "a_and": "(a) first 100: property AND tag AND metric, by metric",
    "b_or": "(b) first 100: property OR tag OR metric, by metric",
    "c_store": "(c) all runs + tags, properties, metric summaries (store pages)",
    "c_dataframe": "(c) all runs as a DataFrame",
    "d_sorted": "(d) first 100 by metrics.acc DESC, no filter",
    "d0_newest": "(d0) first 100 newest first, no filter",
}


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def report(results: dict[str, Any]) -> str:
    sizes = [r["size"] for r in results["runyard"]]
    ml = results.get("mlflow")
    head = [*(f"runyard {n:,}" for n in sizes)]
    if ml:
        head += [f"MLflow {ml['size']:,}", f"MLflow ÷ runyard at {ml['size']:,}"]
    lines = ["| query | " + " | ".join(head) + " |", "|---|" + "--:|" * len(head)]
    for key, label in LABELS.items():
        cells = [f"{fmt(r[key]['median_s'])} ({r[key]['rows']:,})" for r in results["runyard"]]
        if ml:
            theirs = ml.get(key)
            mine = next((r for r in results["runyard"] if r["size"] == ml["size"]), None)
            cells.append(f"{fmt(theirs['median_s'])} ({theirs['rows']:,})" if theirs else "n/a")
            ratio = theirs["median_s"] / mine[key]["median_s"] if theirs and mine else None
            cells.append(f"{ratio:,.0f}×" if ratio else "-")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def check_same(results: dict[str, Any]) -> dict[str, bool]:
    """Whether runyard and MLflow returned the same runs, in the same order, at the same size."""
    ml = results.get("mlflow")
    if not ml:
        return {}
    mine = next((r for r in results["runyard"] if r["size"] == ml["size"]), None)
    if mine is None:
        return {}
    return {key: mine[key]["names"] == ml[key]["names"] for key in ("a_and", "d_sorted")}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="runyard population sizes")
    parser.add_argument("--mlflow-size", type=int, default=10_000, help="MLflow's population")
    parser.add_argument("--repeat", type=int, default=21, help="calls timed per page query")
    parser.add_argument("--full-repeat", type=int, default=5, help="calls timed per (c) query")
    parser.add_argument("--no-mlflow", action="store_true", help="measure runyard only")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    WORK.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": machine(), "runyard": []}
    for n in sizes:
        print(f"runyard, {n:,} runs ...", flush=True)
        results["runyard"].append(measure_runyard(n, args.repeat, args.full_repeat))
    if not args.no_mlflow:
        print(f"MLflow, {args.mlflow_size:,} runs ...", flush=True)
        results["mlflow"] = measure_mlflow(
            args.mlflow_size, args.repeat, max(3, args.full_repeat // 2)
        )
    results["same_runs"] = check_same(results)
    results["machine"]["load_after"] = os.getloadavg()
    m = results["machine"]
    print(
        f"\n{m['date']}  runyard {m['runyard']} ({m['runyard_source']['commit']}"
        f"{', dirty' if m['runyard_source']['dirty'] else ''})  MLflow {m['mlflow']}  "
        f"SQLite {m['sqlite']}  {m['cores']} cores  load {m['load_before'][0]:.2f} -> "
        f"{m['load_after'][0]:.2f}"
    )
    for r in results["runyard"] + ([results["mlflow"]] if "mlflow" in results else []):
        built = f", built in {r['build_s']:.1f} s" if r["build_s"] is not None else " (cached)"
        print(f"  population {r['size']:,}: {r['db_mib']:.1f} MiB{built}")
    print("\nmedian (rows returned)\n")
    print(report(results))
    if results["same_runs"]:
        print(f"\nsame runs as MLflow: {results['same_runs']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))
    if results["same_runs"] and not all(results["same_runs"].values()):
        print("runyard and MLflow disagree on the runs returned", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
