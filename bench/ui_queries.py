"""The web UI's queries, timed through a real ``runyard server`` over HTTP: the runs page over
100,000 runs and the chart of a 1,000,000-point series (server time and bytes sent).

A fresh ``runyard server --data <tmp>`` (SQLite, tokens on, 1 worker) runs on 127.0.0.1 on a
free port. The script fills a workspace in bulk through the HTTP store (``Store.create_runs``
in batches of 1,000 runs, ``Store.log_metrics`` with every run's ``loss`` and ``accuracy``
series, 10 points each, and one run with a 1,000,000-point ``loss`` series with a spike), then
times, with httpx on one kept-alive connection, ``--repeat`` times each (median, min, max of
the time from sending the request to the last byte received; bytes = the body as sent; the
first, cold call is reported apart: for a chart it is the one that reads the series from the
store, later ones reuse its arrays, as zooming does):

runs page (what the runs table asks the store for)
    ``POST /api/v1/workspaces/<ws>/runs/search`` with ``page_size=100`` and
    ``include_metrics``: the newest 100; the same sorted by ``metrics.loss``; the same filtered
    by ``metrics.accuracy > 0.9 AND properties.lr = '0.01'``; and ``runs/count`` of all runs.
chart (the routes of ``runyard.server.ui.series``, with the UI's session cookie)
    ``GET /ui/api/w/<ws>/runs/<id>/metrics/loss?buckets=1000``: the first view, downsampled;
    a zoomed window of 100,000 steps (still downsampled); a zoomed window of 2,000 steps around
    the spike (full resolution); and the run's metric list.

With ``--browser`` (Playwright and Debian's chromium, ``$RUNYARD_TEST_CHROMIUM`` or
``chromium`` on the PATH), it also opens the compare page of the 1,000,000-point run and
reports the time from navigation to the chart drawn (median of the repetitions).

Usage: ``python bench/ui_queries.py [--runs 100000] [--points 1000000] [--repeat 7]
[--browser] [--json PATH]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from log_throughput import machine
from server_ingest import Server, bin_path, free_port, run_cli

from runyard.entities import MetricChunk, MetricKind, NewRun, ValueType
from runyard.store import open_store

WORKSPACE = "uibench"
EXPERIMENT = "bench"
BATCH = 1_000
SPIKE_STEP = 654_321


def populate(uri: str, runs: int, points: int) -> str:
    """Fill the workspace; returns the id of the run holding the long series."""
    store = open_store(uri)
    try:
        now = time.time()
        for first in range(0, runs, BATCH):
            batch = [
                NewRun(
                    run_id=uuid.uuid4().hex,
                    experiment_name=EXPERIMENT,
                    display_name=f"trial-{i}",
                    tags={"team": ("vision", "nlp", "speech")[i % 3]},
                    properties={"lr": ("0.1", "0.01", "0.001")[i % 3], "seed": str(i)},
                )
                for i in range(first, min(first + BATCH, runs))
            ]
            store.create_runs(batch)
            chunks = []
            for k, run in enumerate(batch):
                i = first + k
                for name, base in (("loss", 1.0 / (1 + i % 97)), ("accuracy", (i % 1000) / 1000)):
                    chunks.append(
                        MetricChunk(
                            run_id=run.run_id,
                            name=name,
                            kind=MetricKind.VECTOR,
                            value_type=ValueType.NUMBER,
                            values=[base + s / 100 for s in range(10)],
                            times=[now + s for s in range(10)],
                            steps=list(range(10)),
                        )
                    )
            store.log_metrics(chunks)
        long_id = uuid.uuid4().hex
        store.create_runs([NewRun(run_id=long_id, experiment_name="long-series")])
        step = 100_000
        for first in range(0, points, step):
            count = min(step, points - first)
            values = [1.0 + 0.01 * (((first + s) * 7919) % 101 - 50) / 50 for s in range(count)]
            if first <= SPIKE_STEP < first + count:
                values[SPIKE_STEP - first] = 50.0
            store.log_metrics(
                [
                    MetricChunk(
                        run_id=long_id,
                        name="loss",
                        kind=MetricKind.VECTOR,
                        value_type=ValueType.NUMBER,
                        values=values,
                        times=[now + (first + s) * 0.01 for s in range(count)],
                        steps=list(range(first, first + count)),
                    )
                ]
            )
        return long_id
    finally:
        store.close()


def timed(call: Callable[[], httpx.Response], repeat: int) -> dict[str, Any]:
    start = time.perf_counter()
    call()  # the cold call (for a chart: the series read from the store); then warm ones
    cold = time.perf_counter() - start
    seconds = []
    size = 0
    for _ in range(repeat):
        start = time.perf_counter()
        response = call()
        seconds.append(time.perf_counter() - start)
        response.raise_for_status()
        size = len(response.content)
    return {
        "cold_ms": round(cold * 1000, 1),
        "median_ms": round(statistics.median(seconds) * 1000, 1),
        "min_ms": round(min(seconds) * 1000, 1),
        "max_ms": round(max(seconds) * 1000, 1),
        "bytes": size,
        "answer": response.json(),
    }


def browser_draw_ms(url: str, token: str, run_id: str, repeat: int) -> dict[str, float] | None:
    chromium = os.environ.get("RUNYARD_TEST_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        return None
    from playwright.sync_api import sync_playwright

    times: list[float] = []
    draws: list[float] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.add_cookies([{"name": "runyard_session", "value": token, "url": url + "/ui"}])
        page = context.new_page()
        for _ in range(repeat + 1):
            page.goto(f"{url}/ui/w/{WORKSPACE}/compare?run={run_id}")
            page.wait_for_function(
                "() => { const el = document.querySelector('#overlay-charts .plot');"
                " return el && el.dataset.state === 'ready'; }",
                polling=5,
            )
            times.append(page.evaluate("performance.now()"))
            draws.append(
                float(page.locator("#overlay-charts .plot").get_attribute("data-draw-ms") or "nan")
            )
        browser.close()
    return {
        "navigation_to_chart_ms": round(statistics.median(times[1:]), 1),
        "chart_fetch_and_draw_ms": round(statistics.median(draws[1:]), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--browser", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"machine": machine(), "runs": args.runs, "points": args.points}
    with tempfile.TemporaryDirectory(prefix="runyard-uibench-") as tmp:
        folder = Path(tmp)
        env = dict(os.environ)
        runyard = bin_path("runyard")
        where = ["--data", str(folder / "data")]
        run_cli([runyard, "server", "workspaces", "create", WORKSPACE, *where], env)
        grant = ["--workspace", WORKSPACE, "--role", "writer", "--name", "bench"]
        token = run_cli([runyard, "server", "tokens", "create", *grant, *where], env)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        listen = ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        server = Server([runyard, "server", *where, *listen], folder, env)
        try:
            server.wait_healthy(f"{url}/healthz", 1, None)
            os.environ["RUNYARD_TOKEN"] = token
            start = time.perf_counter()
            long_id = populate(f"{url}/{WORKSPACE}", args.runs, args.points)
            results["populate_s"] = round(time.perf_counter() - start, 1)
            print(f"populated in {results['populate_s']} s", file=sys.stderr)
            results.update(measure(url, token, long_id, args.repeat))
            if args.browser:
                results["browser_draw_ms"] = browser_draw_ms(url, token, long_id, args.repeat)
        finally:
            server.stop()
    for key, value in results.items():
        if isinstance(value, dict) and "median_ms" in value:
            ms, cold, size = value["median_ms"], value["cold_ms"], value["bytes"]
            print(f"{key:24} {ms:7.1f} ms (cold {cold:6.1f})  {size:>9,} bytes  {value['note']}")
        elif key != "machine":
            print(f"{key:28} {value}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def measure(url: str, token: str, long_id: str, repeat: int) -> dict[str, Any]:
    api = f"{url}/api/v1/workspaces/{WORKSPACE}"
    ui = f"{url}/ui/api/w/{WORKSPACE}/runs/{long_id}"
    out: dict[str, Any] = {}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(headers=headers, cookies={"runyard_session": token}, timeout=120) as client:
        page = {"experiment_name": EXPERIMENT, "include_metrics": True, "page_size": 100}
        searches = {
            "runs_page_newest": page,
            "runs_page_by_loss": {**page, "order_by": ["metrics.loss ASC"]},
            "runs_page_filtered": {
                **page,
                "filter": "metrics.accuracy > 0.9 AND properties.lr = '0.01'",
                "order_by": ["metrics.accuracy DESC"],
            },
        }
        for key, body in searches.items():
            found = timed(lambda b=body: client.post(f"{api}/runs/search", json=b), repeat)
            found["note"] = f"{len(found.pop('answer')['runs'])} runs with metrics"
            out[key] = found
        counted = timed(
            lambda: client.post(f"{api}/runs/count", json={"experiment_name": EXPERIMENT}), repeat
        )
        counted["note"] = f"count = {counted.pop('answer')}"
        out["runs_count"] = counted
        charts = {
            "chart_first_view": {"buckets": 1000},
            "chart_zoom_100k_steps": {"buckets": 1000, "start": 600_000, "end": 700_000},
            "chart_zoom_2k_steps": {
                "buckets": 1000,
                "start": SPIKE_STEP - 1000,
                "end": SPIKE_STEP + 1000,
            },
        }
        for key, params in charts.items():
            window = timed(lambda p=params: client.get(f"{ui}/metrics/loss", params=p), repeat)
            answer = window.pop("answer")
            assert max(answer["y"]) == 50.0, "the spike must be drawn"
            window["note"] = (
                f"{answer['returned']:,} of {answer['total']:,} points"
                f"{' (downsampled)' if answer['downsampled'] else ' (full resolution)'}"
            )
            out[key] = window
        listed = timed(lambda: client.get(f"{ui}/metrics"), repeat)
        listed["note"] = f"{len(listed.pop('answer')['metrics'])} series"
        out["chart_metric_list"] = listed
        out["commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            check=False,
        ).stdout.strip()
    return out


if __name__ == "__main__":
    raise SystemExit(main())
