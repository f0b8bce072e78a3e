"""The stock MLflow client against ``runyard server`` (its MLflow REST API) and against
``mlflow server``: the same calls, the same machine, the same run, SQLite behind both.

The client is ``mlflow.MlflowClient`` of the full ``mlflow`` package, in this process, over
HTTP, **one client thread** (what a training script does; ``--threads 1,4`` adds a mode where
4 threads call at once, each on its own run). For each server worker count (``--workers``,
1 and 4 by default) both servers run at once, each on a fresh copy of the same populated
database, on 127.0.0.1 on free ports, as subprocesses; every row is measured on runyard and
then on MLflow, so the two numbers of a ratio are taken seconds apart (the machine may be
shared; the server not being measured idles):

runyard
    ``runyard server --data DIR --workers N`` (one SQLite file per workspace, DIR/<ws>.db), with
    a writer token from ``runyard server tokens create`` that the client sends as
    ``MLFLOW_TRACKING_TOKEN`` (``--runyard-auth none`` serves without tokens instead). The
    tracking URI is ``http://127.0.0.1:PORT/<ws>``, the URI runyard's own SDK uses.
MLflow
    ``mlflow server --backend-store-uri sqlite:///DIR/mlflow.db --default-artifact-root
    DIR/artifacts --workers N`` (uvicorn), the tracking URI ``http://127.0.0.1:PORT``.

Before the first row each server's process tree must have been quiet for 3 s (``mlflow
server`` starts a job runner and 7 huey consumers after it answers ``/health``: up to two
minutes on a busy machine). Rows, each time-boxed (``--seconds`` per row, at least
``--min-ops`` operations, at most the row's own count) after two untimed operations:

1. runs/s: one run is ``client.create_run(exp_id)`` then ``client.set_terminated(run_id)``:
   3 HTTP requests (``runs/create``; ``runs/get``, which ``set_terminated`` makes to print the
   run's URL; ``runs/update``). The script counts the requests the client actually makes and
   prints requests per operation for every row.
2. ``log_metric`` calls/s: ``client.log_metric(run_id, "loss", v, step=i)``, 1 call each.
3. ``log_batch`` points/s: ``client.log_batch(run_id, metrics=[...])`` with 1,000 metrics per
   call (MLflow's limit per request), 4 names, steps increasing.
4. ``search_runs`` over 10,000 runs: searches/s (and ms per search) of
   ``client.search_runs([exp_id], filter_string="metrics.loss < 0.5", order_by=["metrics.loss
   ASC"], max_results=100)``; 4b the same search with the filter ``params.author = 'ann' and
   tags.quality = 'good' and metrics.loss < 0.5``. Both tools must return the 100 runs
   expected, in order (checked on the first call).

The 10,000 runs (run ``i`` the same in both: id, name, params ``author`` in 5 values and ``lr``,
tag ``quality`` in 3, metric ``loss`` with 3 steps and ``acc`` with one) are written in this
process, in bulk: for runyard through its store (``create_runs``, ``log_metrics``) into the
workspace file of a ``--data`` folder made by ``runyard server workspaces create``; for MLflow
through its ``SqlAlchemyStore`` (the experiment) and the store's own ORM tables, inserted in
one transaction (MLflow's verbs would take ~8 minutes). Both are cached in
``bench/.work/mlflow_api/`` (keyed by runyard's migrations and MLflow's version) and copied
for every server. What each write row logged is read back afterwards (metric histories, the
last run's status): a row whose data did not all land is reported as such.

A row that fails (an unsupported route, an error answer) is reported with the failing request,
its status and body, and the other rows go on. The script records the CPU time of the client
(this process) and of the server's process tree over each row, the machine's load, and stops
every server by its PID (its process tree) whatever happens.

Usage: ``python bench/mlflow_api.py [--workers 1,4] [--threads 1] [--seconds S]
[--no-runyard] [--no-mlflow] [--json PATH]`` (``make bench`` runs it in ``.venv-bench``).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import io
import json
import logging
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from log_throughput import load, machine  # the same machine description in every benchmark
from run_queries import schema_key  # a cached runyard database is keyed by the migrations
from server_ingest import BenchError, Server, bin_path, descendants, free_port, run_cli

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "mlflow_api"
WORKSPACE = "bench"
SEARCH_EXPERIMENT = "search"
WRITE_EXPERIMENT = "writes"
SEARCH_RUNS = 10_000
PAGE = 100
BATCH = 1000  # metrics per log_batch call: MLflow's limit per request
NAMES = ("loss", "accuracy", "lr", "grad_norm")
AUTHORS = ("ann", "bob", "cat", "dan", "eve")
LRS = ("0.1", "0.03", "0.01", "0.003", "0.001")
QUALITIES = ("good", "fair", "poor")
USER = "bench"
TARGET_RATIO = 10.0
WARMUP = 2

SEARCHES = {
    "search": "metrics.loss < 0.5",
    "search_and": "params.author = 'ann' and tags.quality = 'good' and metrics.loss < 0.5",
}
ORDER = ["metrics.loss ASC"]


# -- the population ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Spec:
    """What run ``index`` of the search experiment holds, the same in both tools."""

    index: int
    author: str
    lr: str
    quality: str
    acc: float
    loss: tuple[float, float, float]

    @property
    def run_id(self) -> str:  # 32 hex digits, as MLflow's own ids
        return hashlib.md5(f"run-{self.index}".encode()).hexdigest()

    @property
    def name(self) -> str:
        return f"run-{self.index:05d}"


def specs(n: int) -> list[Spec]:
    rng = random.Random(11)
    out = []
    for i in range(n):
        author, lr, quality = rng.choice(AUTHORS), rng.choice(LRS), rng.choice(QUALITIES)
        acc = rng.random()
        loss = (rng.random() * 2, rng.random() * 1.5, rng.random())
        out.append(Spec(i, author, lr, quality, acc, loss))
    return out


def expected(all_specs: list[Spec], key: str) -> list[str]:
    """The run ids the search ``key`` must return: filtered by the last loss, sorted by it."""
    found = [s for s in all_specs if s.loss[-1] < 0.5]
    if key == "search_and":
        found = [s for s in found if s.author == "ann" and s.quality == "good"]
    found.sort(key=lambda s: s.loss[-1])
    return [s.run_id for s in found[:PAGE]]


def populate_runyard(n: int) -> tuple[Path, float | None]:
    """A ``runyard server --data`` folder whose workspace holds the ``n`` runs; build seconds."""
    from runyard import Workspace
    from runyard.entities import MetricChunk, MetricKind, NewRun, RunStatus, ValueType

    folder = WORK / f"runyard-{n}-{schema_key()}"
    if (folder / "data" / f"{WORKSPACE}.db").exists():
        return folder / "data", None
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    t0 = time.perf_counter()
    data = tmp / "data"
    create = ["server", "workspaces", "create", WORKSPACE, "--data", str(data)]
    run_cli([bin_path("runyard"), *create], dict(os.environ))
    workspace = Workspace(f"sqlite:///{data / WORKSPACE}.db")
    store = workspace.store
    now = time.time()
    all_specs = specs(n)
    for start in range(0, n, BATCH):
        batch = all_specs[start : start + BATCH]
        store.create_runs(
            [
                NewRun(
                    run_id=s.run_id,
                    experiment_name=SEARCH_EXPERIMENT,
                    status=RunStatus.COMPLETED,
                    display_name=s.name,
                    tags={"quality": s.quality},
                    properties={"author": s.author, "lr": s.lr},
                    submitted_by=USER,
                )
                for s in batch
            ]
        )
        chunks = []
        for s in batch:
            times = [now + s.index, now + s.index + 1, now + s.index + 2]
            kind, number = MetricKind.VECTOR, ValueType.NUMBER
            chunks.append(
                MetricChunk(s.run_id, "loss", kind, number, list(s.loss), times, [0, 1, 2])
            )
            chunks.append(MetricChunk(s.run_id, "acc", kind, number, [s.acc], times[:1], [0]))
        store.log_metrics(chunks)
    workspace.close()
    seconds = time.perf_counter() - t0
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return folder / "data", seconds


def populate_mlflow(n: int) -> tuple[Path, float | None]:
    """A folder with ``mlflow.db`` holding the ``n`` runs (written through the SqlAlchemyStore's
    session and ORM tables, in one transaction); build seconds."""
    import mlflow
    from mlflow.store.tracking.dbmodels import models
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
    from sqlalchemy import insert

    folder = WORK / f"mlflow-{n}-{mlflow.__version__}"
    if (folder / "mlflow.db").exists():
        return folder, None
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    t0 = time.perf_counter()
    store = SqlAlchemyStore(f"sqlite:///{tmp / 'mlflow.db'}", str(tmp / "artifacts"))
    exp_id = store.create_experiment(SEARCH_EXPERIMENT)
    artifact_root = store.get_experiment(exp_id).artifact_location
    base_ms = int(time.time() * 1000)
    runs, tags, params, metrics, latest = [], [], [], [], []
    for s in specs(n):
        ms = base_ms + s.index * 1000
        runs.append(
            {
                "run_uuid": s.run_id,
                "name": s.name,
                "source_type": "LOCAL",
                "source_name": "",
                "entry_point_name": "",
                "user_id": USER,
                "status": "FINISHED",
                "start_time": ms,
                "end_time": ms + 2000,
                "source_version": "",
                "lifecycle_stage": "active",
                "artifact_uri": f"{artifact_root}/{s.run_id}/artifacts",
                "experiment_id": int(exp_id),
            }
        )
        for key, value in (("mlflow.runName", s.name), ("mlflow.user", USER)):
            tags.append({"key": key, "value": value, "run_uuid": s.run_id})
        tags.append({"key": "quality", "value": s.quality, "run_uuid": s.run_id})
        params.append({"key": "author", "value": s.author, "run_uuid": s.run_id})
        params.append({"key": "lr", "value": s.lr, "run_uuid": s.run_id})
        points = [("loss", v, ms + 1000 * k, k) for k, v in enumerate(s.loss)]
        points.append(("acc", s.acc, ms, 0))
        for key, value, stamp, step in points:
            row = {"key": key, "value": value, "timestamp": stamp, "step": step, "is_nan": False}
            metrics.append({**row, "run_uuid": s.run_id})
        for key, value, stamp, step in (points[2], points[3]):  # the latest of each name
            row = {"key": key, "value": value, "timestamp": stamp, "step": step, "is_nan": False}
            latest.append({**row, "run_uuid": s.run_id})
    with store.ManagedSessionMaker() as session:
        session.execute(insert(models.SqlRun), runs)
        session.execute(insert(models.SqlTag), tags)
        session.execute(insert(models.SqlParam), params)
        session.execute(insert(models.SqlMetric), metrics)
        session.execute(insert(models.SqlLatestMetric), latest)
    # Read back through the store's own search: the rows are what MLflow's verbs would write.
    found = store.search_runs([exp_id], "params.author = 'ann'", 1, max_results=1)
    if not found or found[0].data.params.get("author") != "ann":
        raise BenchError("the MLflow population cannot be searched")
    store.engine.dispose()
    seconds = time.perf_counter() - t0
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return folder, seconds


# -- counting the client's requests --------------------------------------------------------------


class Requests:
    """Every HTTP request the MLflow client makes goes through ``rest_utils.http_request``; this
    counts them and keeps the last refused one (method, path, status, body) for the report."""

    def __init__(self) -> None:
        self.count = 0
        self.last_failure: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def install(self) -> None:
        from mlflow.utils import rest_utils

        real = rest_utils.http_request

        def counted(*args: Any, **kwargs: Any) -> Any:
            response = real(*args, **kwargs)
            with self._lock:
                self.count += 1
                if response.status_code >= 400:
                    sent = kwargs.get("json", kwargs.get("params"))
                    self.last_failure = {
                        "method": kwargs.get("method"),
                        "url": response.url,
                        "body_sent": json.dumps(sent)[:300] if sent is not None else None,
                        "status": response.status_code,
                        "body": response.text[:1000],
                    }
            return response

        rest_utils.http_request = counted


REQUESTS = Requests()


# -- the rows ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Row:
    key: str
    label: str
    unit: str  # what the rate counts
    per_op: int  # units per operation
    max_ops: int  # per client thread


ROWS = (
    Row("runs", "runs created (create_run + set_terminated)", "runs", 1, 5_000),
    Row("log_metric", "log_metric calls", "calls", 1, 20_000),
    Row("log_batch", "log_batch points (1,000 per call)", "points", BATCH, 1_000),
    Row(
        "search",
        f"search_runs over {SEARCH_RUNS:,} runs: {SEARCHES['search']}",
        "searches",
        1,
        2_000,
    ),
    Row("search_and", "search_runs: params AND tags AND metric", "searches", 1, 2_000),
)


@dataclasses.dataclass
class Target:
    """A started server, seen through the MLflow client."""

    tool: str
    uri: str
    server: Server
    search_experiment: str = ""
    write_experiment: str = ""
    startup_s: float = 0.0
    env: dict[str, str | None] = dataclasses.field(default_factory=dict)
    idle: dict[str, Any] = dataclasses.field(default_factory=dict)


def client_for(target: Target) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=target.uri)


def make_op(
    row: Row, target: Target, want: dict[str, list[str]]
) -> tuple[Callable[[int], Any], Callable[[int], None]]:
    """One client thread's operation ``op(i)`` for ``row`` and its check ``verify(done)``, run
    after the timing, given how many operations (warm-up included) were done."""
    from mlflow.entities import Metric, RunStatus

    client = client_for(target)
    if row.key == "runs":
        last: list[str] = []

        def create(i: int) -> None:
            run_id = client.create_run(target.write_experiment).info.run_id
            client.set_terminated(run_id)
            last[:] = [run_id]

        def verify_runs(done: int) -> None:
            status = client.get_run(last[0]).info.status
            if status != RunStatus.to_string(RunStatus.FINISHED):
                raise BenchError(f"{target.tool}: the last run created is {status}, not FINISHED")

        return create, verify_runs
    if row.key in ("log_metric", "log_batch"):
        run_id = client.create_run(target.write_experiment).info.run_id
        values = random.Random(row.key).random

        if row.key == "log_metric":

            def log_metric(i: int) -> None:
                client.log_metric(run_id, "loss", values(), step=i)

            def verify_metric(done: int) -> None:
                history = client.get_metric_history(run_id, "loss")
                if sorted(m.step for m in history) != list(range(done)):
                    raise BenchError(
                        f"{target.tool}: {done} log_metric calls, {len(history)} points landed"
                    )

            return log_metric, verify_metric

        width = len(NAMES)

        def log_batch(i: int) -> None:
            stamp = int(time.time() * 1000)
            base = i * (BATCH // width)
            batch = [
                Metric(NAMES[k % width], values(), stamp, base + k // width) for k in range(BATCH)
            ]
            client.log_batch(run_id, metrics=batch)

        def verify_batch(done: int) -> None:
            landed = sum(len(client.get_metric_history(run_id, name)) for name in NAMES)
            if landed != done * BATCH:
                raise BenchError(f"{target.tool}: {done * BATCH:,} points sent, {landed:,} landed")

        return log_batch, verify_batch

    filter_string = SEARCHES[row.key]

    def search(i: int) -> None:
        found = client.search_runs(
            [target.search_experiment],
            filter_string=filter_string,
            order_by=ORDER,
            max_results=PAGE,
        )
        if i == 0 and [r.info.run_id for r in found] != want[row.key]:
            got = [r.info.run_id for r in found][:3]
            raise BenchError(
                f"{target.tool}: search {filter_string!r} returned {len(found)} runs "
                f"(first {got}), not the {len(want[row.key])} expected (first "
                f"{want[row.key][:3]})"
            )

    return search, lambda done: None


def drive(
    ops: list[Callable[[int], Any]], seconds: float, min_ops: int, max_ops: int
) -> dict[str, Any]:
    """Run ``ops`` (one per thread) together: ``WARMUP`` untimed calls each, then calls until
    ``seconds`` have passed (at least ``min_ops``, at most ``max_ops`` per thread)."""
    threads = len(ops)
    barrier = threading.Barrier(threads + 1)
    done = [0] * threads
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors: list[BaseException | None] = [None] * threads
    window: dict[str, float] = {}

    def worker(t: int) -> None:
        op = ops[t]
        try:
            for i in range(WARMUP):
                op(i)
                done[t] += 1
        except BaseException as exc:  # reported by the main thread
            errors[t] = exc
        barrier.wait()
        barrier.wait()
        if errors[t] is not None:
            return
        deadline = window["start"] + seconds
        clock = time.perf_counter
        mine = latencies[t]
        try:
            for n in range(max_ops):
                t0 = clock()
                op(WARMUP + n)
                t1 = clock()
                mine.append(t1 - t0)
                done[t] += 1
                if t1 >= deadline and n + 1 >= min_ops:
                    break
        except BaseException as exc:
            errors[t] = exc

    pool = [threading.Thread(target=worker, args=(t,), daemon=True) for t in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()  # every thread warmed up
    calls0, cpu0 = REQUESTS.count, time.process_time()
    window["start"] = time.perf_counter()
    barrier.wait()
    for thread in pool:
        thread.join()
    wall = time.perf_counter() - window["start"]
    timed_ops = sum(len(x) for x in latencies)
    flat = sorted(x for mine in latencies for x in mine)
    return {
        "ops": timed_ops,
        "done_per_thread": done,
        "seconds": wall,
        "ops_per_s": timed_ops / wall if timed_ops else 0.0,
        "median_ms": statistics.median(flat) * 1000 if flat else None,
        "p90_ms": flat[int(0.9 * (len(flat) - 1))] * 1000 if flat else None,
        "requests_per_op": (REQUESTS.count - calls0) / timed_ops if timed_ops else None,
        "client_cpu_s": time.process_time() - cpu0,
        "errors": [repr(e)[:2000] for e in errors if e is not None],
    }


def measure_row(
    row: Row, target: Target, threads: int, args: argparse.Namespace, want: dict[str, list[str]]
) -> dict[str, Any]:
    REQUESTS.last_failure = None
    result: dict[str, Any] = {"row": row.key, "threads": threads}
    try:
        with env_set(target.env):  # the client reads MLFLOW_TRACKING_TOKEN at every request
            pairs = [make_op(row, target, want) for _ in range(threads)]
            server0 = target.server.cpu_s()
            # set_terminated writes two "View run/experiment at" lines to stdout per run
            with contextlib.redirect_stdout(io.StringIO()):
                timing = drive([op for op, _ in pairs], args.seconds, args.min_ops, row.max_ops)
            timing["server_cpu_s"] = target.server.cpu_s() - server0
            result.update(timing)
            if not timing["errors"]:
                for (_, verify), done in zip(pairs, timing["done_per_thread"], strict=True):
                    verify(done)
    except Exception as exc:
        result.setdefault("errors", []).append(repr(exc)[:2000])
    if result.get("errors"):
        result["failed_request"] = REQUESTS.last_failure
        result["server_log_tail"] = target.server.tail(15)
        return result
    ops = result["ops"]
    result["rate"] = result["ops_per_s"] * row.per_op
    result["client_cpu_ms_per_op"] = result["client_cpu_s"] / ops * 1000
    result["server_cpu_ms_per_op"] = result["server_cpu_s"] / ops * 1000
    return result


# -- the servers ---------------------------------------------------------------------------------

# The server's process tree counts as started once it has used less than SETTLE_CPU CPU-seconds
# per second for SETTLE_QUIET seconds in a row with the same processes (mlflow server idles at
# about 0.03; while starting on a busy machine it is starved, so its rate alone can look low).
SETTLE_CPU = 0.15
SETTLE_QUIET = 3
SETTLE_TIMEOUT = 300.0


def settle(server: Server) -> dict[str, Any]:
    """Wait until the server's process tree is idle: answering health is not the end of its
    start-up (``mlflow server`` starts a job runner and 7 huey consumers, ~20 CPU-s of imports
    after ``/health`` answers). Returns the seconds waited, the tree's idle CPU rate, and
    whether it settled before SETTLE_TIMEOUT."""
    start = time.perf_counter()
    quiet = 0
    while True:
        members, cpu0, t0 = set(descendants(server.pid)), server.cpu_s(), time.perf_counter()
        time.sleep(1.0)
        rate = (server.cpu_s() - cpu0) / (time.perf_counter() - t0)
        same = set(descendants(server.pid)) == members
        quiet = quiet + 1 if rate < SETTLE_CPU and same else 0
        waited = time.perf_counter() - start
        if quiet >= SETTLE_QUIET or waited > SETTLE_TIMEOUT:
            return {"settle_s": waited, "idle_cpu_per_s": rate, "settled": quiet >= SETTLE_QUIET}


@contextlib.contextmanager
def env_set(values: dict[str, str | None]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def experiment_ids(uri: str) -> tuple[str, str]:
    """The search experiment's id and a new experiment for the write rows, through the client."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(SEARCH_EXPERIMENT)
    if found is None:
        raise BenchError(f"{uri}: no experiment {SEARCH_EXPERIMENT!r} (the population)")
    return found.experiment_id, client.create_experiment(WRITE_EXPERIMENT)


@contextlib.contextmanager
def runyard_server(data: Path, workers: int, auth: str, folder: Path) -> Iterator[Target]:
    runyard = bin_path("runyard")
    mine = folder / "data"
    shutil.copytree(data, mine)
    env = dict(os.environ)
    token = None
    if auth == "token":
        grant = ["--workspace", WORKSPACE, "--role", "writer", "--name", "bench"]
        token = run_cli([runyard, "server", "tokens", "create", *grant, "--data", str(mine)], env)
    port = free_port()
    command = [runyard, "server", "--data", str(mine), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers), "--auth", auth]
    server = Server(command, folder, env)
    uri = f"http://127.0.0.1:{port}/{WORKSPACE}"
    client_env: dict[str, str | None] = {"MLFLOW_TRACKING_TOKEN": token}
    try:
        startup = server.wait_healthy(f"http://127.0.0.1:{port}/healthz", workers, "pid")
        target = Target("runyard", uri, server, startup_s=startup, env=client_env)
        target.idle = settle(server)
        with env_set(client_env):
            try:
                target.search_experiment, target.write_experiment = experiment_ids(uri)
            except Exception as exc:
                raise SetupError(exc, REQUESTS.last_failure, server.tail(15)) from exc
        yield target
    finally:
        server.stop()


@contextlib.contextmanager
def mlflow_server(population: Path, workers: int, folder: Path) -> Iterator[Target]:
    shutil.copy(population / "mlflow.db", folder / "mlflow.db")
    env = dict(os.environ)
    env.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    port = free_port()
    command = [bin_path("mlflow"), "server", "--backend-store-uri"]
    command += [f"sqlite:///{folder / 'mlflow.db'}", "--default-artifact-root"]
    command += [str(folder / "artifacts"), "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers)]
    server = Server(command, folder, env)
    uri = f"http://127.0.0.1:{port}"
    client_env: dict[str, str | None] = {"MLFLOW_TRACKING_TOKEN": None}
    try:
        startup = server.wait_healthy(f"{uri}/health", workers, None)
        target = Target("mlflow", uri, server, startup_s=startup, env=client_env)
        target.idle = settle(server)
        with env_set(client_env):
            target.search_experiment, target.write_experiment = experiment_ids(uri)
        yield target
    finally:
        server.stop()


class SetupError(RuntimeError):
    """The server started but the client could not find its experiments through it."""

    def __init__(self, cause: BaseException, request: dict[str, Any] | None, tail: str) -> None:
        super().__init__(repr(cause)[:2000])
        self.request = request
        self.tail = tail


def open_server(
    stack: contextlib.ExitStack,
    tool: str,
    workers: int,
    populations: dict[str, Path],
    args: argparse.Namespace,
    config: dict[str, Any],
) -> Target | None:
    """Start ``tool``'s server in a temporary folder that ``stack`` removes after stopping it;
    None (and the failure in ``config``) when the client cannot use it."""
    print(f"{tool} server, {workers} worker(s) ...", flush=True)
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"mlflow-api-{tool}-")))
    if tool == "runyard":
        opened = runyard_server(populations["runyard"], workers, args.runyard_auth, folder)
    else:
        opened = mlflow_server(populations["mlflow"], workers, folder)
    try:
        target = stack.enter_context(opened)
    except (SetupError, BenchError) as exc:
        config["error"] = str(exc)
        if isinstance(exc, SetupError):
            config["failed_request"] = exc.request
            config["server_log_tail"] = exc.tail
        print(f"  {tool} with {workers} worker(s) failed: {exc}", flush=True)
        if isinstance(exc, SetupError) and exc.request:
            print(f"  failed request: {json.dumps(exc.request)}", flush=True)
        return None
    config["startup_s"] = target.startup_s
    config.update(target.idle)
    idle = target.idle
    print(
        f"  healthy after {target.startup_s:.1f} s, idle after "
        f"{idle['settle_s']:.1f} s more ({idle['idle_cpu_per_s']:.2f} CPU-s/s)"
        + ("" if idle["settled"] else ": NOT settled, numbers pessimistic"),
        flush=True,
    )
    return target


def measure_workers(
    tools: list[str],
    workers: int,
    populations: dict[str, Path],
    args: argparse.Namespace,
    want: dict[str, list[str]],
) -> list[dict[str, Any]]:
    """Both servers at once, each row measured on one then the other: the pair of numbers a
    ratio is made of is taken a few seconds apart (the machine may be shared), while the
    server not measured idles."""
    configs = {tool: {"tool": tool, "workers": workers, "rows": []} for tool in tools}
    with contextlib.ExitStack() as stack:
        targets = {}
        for tool in tools:
            target = open_server(stack, tool, workers, populations, args, configs[tool])
            if target is not None:
                targets[tool] = target
        for threads in args.threads:
            for row in ROWS:
                for tool, target in targets.items():
                    result = measure_row(row, target, threads, args, want)
                    configs[tool]["rows"].append(result)
                    print(f"  {tool:<7} " + row_line(row, result), flush=True)
    return list(configs.values())


# -- report --------------------------------------------------------------------------------------


def fmt_rate(row: Row, result: dict[str, Any]) -> str:
    if result.get("errors"):
        return "FAILED"
    if row.unit == "searches":
        return f"{result['rate']:,.1f}/s ({result['median_ms']:,.1f} ms)"
    return f"{result['rate']:,.0f} {row.unit}/s"


def row_line(row: Row, result: dict[str, Any]) -> str:
    head = f"{row.key:<10} {result['threads']} thread(s): "
    if result.get("errors"):
        failure = result.get("failed_request")
        more = f"; request {json.dumps(failure)}" if failure else ""
        return head + f"FAILED: {result['errors'][0][:600]}{more}"
    return head + (
        f"{fmt_rate(row, result)}, {result['ops']:,} ops in {result['seconds']:.2f} s, "
        f"median {result['median_ms']:.2f} ms, p90 {result['p90_ms']:.2f} ms, "
        f"{result['requests_per_op']:.2f} requests/op, CPU per op: client "
        f"{result['client_cpu_ms_per_op']:.2f} ms, server {result['server_cpu_ms_per_op']:.2f} ms"
    )


def pairs(configs: list[dict[str, Any]]) -> list[tuple[int, int, str, dict[str, Any]]]:
    """(workers, threads, row, {tool: its result or None}) for every row measured, in order."""
    order = [r.key for r in ROWS]
    keys = sorted(
        {(c["workers"], r["threads"], r["row"]) for c in configs for r in c["rows"]},
        key=lambda k: (k[0], k[1], order.index(k[2])),
    )
    by = {(c["tool"], c["workers"]): c for c in configs}
    out = []
    for workers, threads, key in keys:
        found: dict[str, Any] = {}
        for tool in ("runyard", "mlflow"):
            config = by.get((tool, workers), {"rows": []})
            found[tool] = next(
                (r for r in config["rows"] if (r["row"], r["threads"]) == (key, threads)), None
            )
        out.append((workers, threads, key, found))
    return out


def ok(result: dict[str, Any] | None) -> bool:
    return result is not None and not result.get("errors")


def comparisons(configs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per (workers, threads, row): both rates, runyard / mlflow, and what the client
    alone allows: ``client_bound`` is the rate if the server answered in no time (one over the
    client's CPU per operation: the client's threads share one interpreter, so about one core),
    so ``client_bound / mlflow`` is the best ratio any server could reach with this client."""
    out = []
    for workers, threads, key, found in pairs(configs):
        ours, theirs = found["runyard"], found["mlflow"]
        entry: dict[str, Any] = {"workers": workers, "threads": threads, "row": key}
        entry["runyard"] = ours["rate"] if ok(ours) else None
        entry["mlflow"] = theirs["rate"] if ok(theirs) else None
        entry["ratio"] = entry["runyard"] / entry["mlflow"] if ok(ours) and ok(theirs) else None
        entry["met"] = None if entry["ratio"] is None else entry["ratio"] >= TARGET_RATIO
        per_op = next(r.per_op for r in ROWS if r.key == key)
        client = ours if ok(ours) else theirs if ok(theirs) else None
        if client is not None and client["client_cpu_ms_per_op"] > 0:
            entry["client_bound"] = per_op * 1000 / client["client_cpu_ms_per_op"]
            if ok(theirs):
                entry["client_bound_ratio"] = entry["client_bound"] / theirs["rate"]
        if ok(ours) and ok(theirs) and ours["server_cpu_ms_per_op"] > 0:
            entry["server_cpu_ratio"] = (
                theirs["server_cpu_ms_per_op"] / ours["server_cpu_ms_per_op"]
            )
        out.append(entry)
    return out


def table(configs: list[dict[str, Any]]) -> str:
    rows = {r.key: r for r in ROWS}
    lines = [
        "| workers | client threads | row | runyard | mlflow | runyard / mlflow |",
        "|--:|--:|---|--:|--:|--:|",
    ]
    for workers, threads, key, found in pairs(configs):
        cells = [fmt_rate(rows[key], r) if r else "-" for r in found.values()]
        ratio = "-"
        if ok(found["runyard"]) and ok(found["mlflow"]):
            ratio = f"{found['runyard']['rate'] / found['mlflow']['rate']:,.1f}x"
        label = rows[key].label
        lines.append(f"| {workers} | {threads} | {label} | " + " | ".join(cells) + f" | {ratio} |")
    return "\n".join(lines)


def cpu_table(configs: list[dict[str, Any]], compared: list[dict[str, Any]]) -> str:
    """CPU milliseconds per operation: the client's (which bounds every rate of one client
    thread) and each server's."""
    lines = [
        "| workers | threads | row | client CPU/op | client-bound rate (/ mlflow) "
        "| server CPU/op runyard | mlflow | mlflow / runyard |",
        "|--:|--:|---|--:|--:|--:|--:|--:|",
    ]
    for (workers, threads, key, found), entry in zip(pairs(configs), compared, strict=True):
        ours, theirs = found["runyard"], found["mlflow"]
        client = ours if ok(ours) else theirs if ok(theirs) else None
        if client is None:
            continue
        bound = f"{entry['client_bound']:,.0f}" if "client_bound" in entry else "-"
        if "client_bound_ratio" in entry:
            bound += f" ({entry['client_bound_ratio']:,.1f}x)"
        cells = [
            f"{client['client_cpu_ms_per_op']:.2f} ms",
            bound,
            f"{ours['server_cpu_ms_per_op']:.2f} ms" if ok(ours) else "-",
            f"{theirs['server_cpu_ms_per_op']:.2f} ms" if ok(theirs) else "-",
            f"{entry['server_cpu_ratio']:,.1f}x" if "server_cpu_ratio" in entry else "-",
        ]
        lines.append(f"| {workers} | {threads} | {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--workers", default="1,4", help="server worker counts (default 1,4)")
    parser.add_argument("--threads", default="1", help="client thread counts (default 1; 1,4)")
    parser.add_argument("--seconds", type=float, default=6.0, help="time box per row")
    parser.add_argument("--min-ops", type=int, default=3, help="operations per row at least")
    parser.add_argument("--runyard-auth", choices=("token", "none"), default="token")
    parser.add_argument("--no-runyard", action="store_true", help="measure mlflow server only")
    parser.add_argument("--no-mlflow", action="store_true", help="measure runyard server only")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    args = parser.parse_args(argv)
    args.workers = [int(n) for n in args.workers.split(",") if n.strip()]
    args.threads = [int(n) for n in args.threads.split(",") if n.strip()]
    if not args.workers or min(args.workers) < 1 or not args.threads or min(args.threads) < 1:
        parser.error("--workers and --threads take positive counts")
    if args.no_runyard and args.no_mlflow:
        parser.error("--no-runyard and --no-mlflow leave nothing to measure")
    json_path = args.json.resolve() if args.json else None
    for name in ("mlflow", "alembic", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # an error shows at once
    REQUESTS.install()

    results: dict[str, Any] = {"machine": machine(), "load_before": load(), "configs": []}
    results["settings"] = {
        "workers": args.workers,
        "threads": args.threads,
        "seconds_per_row": args.seconds,
        "min_ops": args.min_ops,
        "warmup_ops": WARMUP,
        "search_runs": SEARCH_RUNS,
        "runyard_auth": args.runyard_auth,
    }
    info = results["machine"]
    print(
        f"{info['date']}  {info['cpu']}, {info['cores']} cores, {info['ram_gib']} GiB RAM\n"
        f"Python {info['python']}, SQLite {info['sqlite']}, SQLAlchemy {info['sqlalchemy']}, "
        f"runyard {info['runyard']} ({info['runyard_source']}), MLflow {info['mlflow']}\n"
        f"load before: {results['load_before']}",
        flush=True,
    )
    WORK.mkdir(parents=True, exist_ok=True)
    tools = [t for t, off in (("runyard", args.no_runyard), ("mlflow", args.no_mlflow)) if not off]
    populations: dict[str, Path] = {}
    results["populations"] = {}
    for tool in tools:
        build = populate_runyard if tool == "runyard" else populate_mlflow
        path, built = build(SEARCH_RUNS)
        populations[tool] = path
        results["populations"][tool] = {"path": str(path), "build_s": built}
        how = "cached" if built is None else f"built in {built:.1f} s"
        print(f"{tool}: {SEARCH_RUNS:,} runs for the searches, {how} ({path})", flush=True)
    all_specs = specs(SEARCH_RUNS)
    want = {key: expected(all_specs, key) for key in SEARCHES}
    for workers in args.workers:
        results["configs"] += measure_workers(tools, workers, populations, args, want)
    results["load_after"] = load()
    results["comparisons"] = comparisons(results["configs"])
    print()
    print(table(results["configs"]))
    print(
        "\nOne client, in this process (MlflowClient over HTTP); rates over each row's timed "
        "operations after 2 untimed ones.\n\nCPU per operation (client-bound rate: one over the "
        "client's CPU per operation, the most any server allows this client):\n"
    )
    print(cpu_table(results["configs"], results["comparisons"]))
    ratios = [c for c in results["comparisons"] if c["ratio"] is not None]
    if ratios:
        met = all(c["met"] for c in ratios)
        results["target_met"] = met and len(ratios) == len(results["comparisons"])
        print(
            f"target: runyard >= {TARGET_RATIO:g}x mlflow server on every row: "
            f"{'met' if results['target_met'] else 'NOT met'} (lowest "
            f"{min(c['ratio'] for c in ratios):,.1f}x)"
        )
    print(f"load before: {results['load_before']}, after: {results['load_after']}")
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(results, indent=2) + "\n")
        print(f"results written to {json_path}")
    failed = any(
        c.get("error") or any(r.get("errors") for r in c["rows"]) for c in results["configs"]
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
