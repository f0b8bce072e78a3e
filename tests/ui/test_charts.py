"""Metric charts in the browser: a spike survives downsampling and zooming re-queries the window
at full resolution; x axis, log scale and smoothing; tables, strings, images with a step
slider; and the series routes over HTTP (errors, image types, sessions)."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from runyard import Experiment, Run
from runyard import Workspace as SdkWorkspace
from runyard.server.control import Role
from runyard.server.ui.access import SESSION_COOKIE
from tests.server.process import ServerProcess, Workspace
from tests.ui.conftest import screenshot, sign_in

SPIKE_STEP = 123_457
POINTS = 200_000


@pytest.fixture
def sdk(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[SdkWorkspace]:
    monkeypatch.setenv("RUNYARD_TOKEN", workspace.writer)
    ws = SdkWorkspace(workspace.uri)
    yield ws
    ws.close()


def new_run(ws: SdkWorkspace, name: str = "charts") -> Run:
    return Experiment(ws, name).start_logging(snapshot_directory=None, outputs=False)


def png(path: Path, shade: int, size: int = 8) -> Path:
    """A small grey PNG (written by hand: no imaging library needed)."""
    raw = b"".join(b"\x00" + bytes([shade]) * size for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    return path


def open_run_metrics(page: Page, server: ServerProcess, workspace: Workspace, run: Run) -> Locator:
    """The compare page of one run, whose 'Metrics of each run' section is the run's metrics
    section (``runyardCharts.mountRunMetrics``, as the run page mounts it)."""
    sign_in(page, server, workspace.tokens[Role.READER])
    page.goto(f"{server.url}/ui/w/{workspace.name}/compare?run={run.id}")
    section = page.locator(".run-metrics")
    expect(section.locator("table.metric-list")).to_be_visible()
    return section


def plotted(plot: Locator) -> dict[str, Any]:
    """What the chart draws, read from the Plotly graph div."""
    result: dict[str, Any] = plot.evaluate(
        """el => {
          const by = (role) => el.data.filter((t) => t.meta && t.meta.role === role);
          const ys = (role) => by(role).flatMap((t) => Array.from(t.y));
          return { line: ys("line"), lineX: by("line").flatMap((t) => Array.from(t.x)),
                   bandMax: ys("band-max"), bandMin: ys("band-min"), smooth: ys("smooth"),
                   lineOpacity: by("line").map((t) => t.opacity), traces: el.data.length,
                   downsampled: el.dataset.downsampled, total: Number(el.dataset.total),
                   yType: el.layout.yaxis.type, xTitle: el.layout.xaxis.title.text,
                   xType: el.layout.xaxis.type };
        }"""
    )
    return result


def wait_ready(plot: Locator, window: str) -> None:
    plot.page.wait_for_function(
        "([el, w]) => el.dataset.state === 'ready' && el.dataset.window === w",
        arg=[plot.element_handle(), window],
    )


def test_a_zoomed_chart_draws_the_spike_inside_its_window(
    page: Page, server: ServerProcess, workspace: Workspace, sdk: SdkWorkspace
) -> None:
    run = new_run(sdk)
    noise = [1.0 + 0.01 * ((i * 7919) % 101 - 50) / 50 for i in range(POINTS)]
    noise[SPIKE_STEP] = 50.0
    for step, value in enumerate(noise):
        run.log("loss", value, step=step)
    run.flush()
    section = open_run_metrics(page, server, workspace, run)
    chart = section.get_by_role("group", name="loss")
    plot = chart.locator(".plot")
    wait_ready(plot, "")
    first = plotted(plot)
    assert first["downsampled"] == "true" and first["total"] == POINTS
    assert max(first["line"]) >= 50.0 and max(first["bandMax"]) >= 50.0
    assert len(first["line"]) <= 4 * 2000  # at most 4 points per bucket, never 200,000
    expect(chart.locator(".chart-status")).to_contain_text("200,000 points, drawn from")
    screenshot(page, "chart-band")

    # a user's drag zoom is a relayout of the x range; the chart re-queries that window
    plot.evaluate(
        f"el => Plotly.relayout(el, {{'xaxis.range': [{SPIKE_STEP - 500}, {SPIKE_STEP + 500}]}})"
    )
    wait_ready(plot, f"{SPIKE_STEP - 500},{SPIKE_STEP + 500}")
    zoomed = plotted(plot)
    assert zoomed["downsampled"] == "false" and zoomed["total"] == 1001
    assert zoomed["bandMax"] == [] and len(zoomed["line"]) == 1001
    assert zoomed["lineX"][zoomed["line"].index(50.0)] == SPIKE_STEP
    expect(chart.locator(".chart-status")).to_have_text("all 1,001 points")
    screenshot(page, "chart-zoomed")

    plot.evaluate("el => Plotly.relayout(el, {'xaxis.range[0]': 10000, 'xaxis.range[1]': 11000})")
    wait_ready(plot, "10000,11000")
    elsewhere = plotted(plot)
    assert elsewhere["downsampled"] == "false" and elsewhere["total"] == 1001
    assert max(elsewhere["line"]) < 2.0

    # double-click resets the zoom: the whole series, downsampled again
    plot.evaluate("el => Plotly.relayout(el, {'xaxis.autorange': true})")
    wait_ready(plot, "")
    assert plotted(plot)["downsampled"] == "true"


def test_chart_controls_axis_log_scale_and_smoothing(
    page: Page, server: ServerProcess, workspace: Workspace, sdk: SdkWorkspace
) -> None:
    run = new_run(sdk)
    for step in range(100):
        run.log("acc", 1.0 + step % 7, step=step * 2)
    run.flush()
    section = open_run_metrics(page, server, workspace, run)
    chart = section.get_by_role("group", name="acc")
    plot = chart.locator(".plot")
    wait_ready(plot, "")
    drawn = plotted(plot)
    assert drawn["downsampled"] == "false" and drawn["traces"] == 1 and drawn["total"] == 100
    assert drawn["lineX"][:3] == [0, 2, 4] and drawn["xTitle"] == "Step"

    chart.get_by_label("X axis").select_option("relative")
    page.wait_for_function(
        "el => el.dataset.state === 'ready' && el.layout.xaxis.title.text.startsWith('Relative')",
        arg=plot.element_handle(),
    )
    relative = plotted(plot)
    assert relative["lineX"][0] >= 0 and relative["lineX"] == sorted(relative["lineX"])
    chart.get_by_label("X axis").select_option("wall")
    page.wait_for_function(
        "el => el.dataset.state === 'ready' && el.layout.xaxis.type === 'date'",
        arg=plot.element_handle(),
    )

    chart.get_by_label("Log scale").check()
    page.wait_for_function("el => el.layout.yaxis.type === 'log'", arg=plot.element_handle())

    chart.get_by_label("Smoothing").fill("0.9")
    page.wait_for_function(
        "el => el.data.some((t) => t.meta.role === 'smooth')", arg=plot.element_handle()
    )
    smooth = plotted(plot)
    assert smooth["lineOpacity"] == [0.3] and len(smooth["smooth"]) == 100
    assert max(smooth["smooth"]) < max(smooth["line"])  # smoothing flattens the peaks


def test_tables_strings_images_and_json_metrics_are_shown(
    page: Page,
    server: ServerProcess,
    workspace: Workspace,
    sdk: SdkWorkspace,
    tmp_path: Path,
) -> None:
    run = new_run(sdk)
    run.log_row("scores", fold=1, score=0.5, note="<script>alert(1)</script>")
    run.log_row("scores", fold=2, score=0.75, note="ok")
    run.log("phase", "warm-up")
    run.log("phase", "<b>train</b>")
    for shade in (0, 128, 255):
        run.log_image("samples", path=str(png(tmp_path / f"sample{shade}.png", shade)))
    run.log_confusion_matrix(
        "confusion", {"schema_type": "confusion_matrix", "data": {"matrix": [[3, 1], [0, 4]]}}
    )
    run.flush()
    section = open_run_metrics(page, server, workspace, run)
    listing = section.locator("table.metric-list")
    expect(listing.locator("tbody tr")).to_have_count(4)

    scores = section.get_by_role("group", name="scores")
    expect(scores.locator("thead th")).to_have_text(["fold", "score", "note"])
    expect(scores.locator("tbody tr")).to_have_count(2)
    expect(scores.get_by_role("cell", name="<script>alert(1)</script>")).to_be_visible()

    phase = section.get_by_role("group", name="phase")
    expect(phase.locator("li")).to_have_text(["warm-up", "<b>train</b>"])

    samples = section.get_by_role("group", name="samples")
    image = samples.get_by_role("img", name="samples")
    slider = samples.get_by_label("Image step")
    expect(slider).to_have_value("2")
    page.wait_for_function("el => el.complete && el.naturalWidth === 8", arg=image.element_handle())
    last = image.get_attribute("src")
    slider.fill("0")
    expect(image).not_to_have_attribute("src", last or "")
    expect(samples).to_contain_text("image 1 of 3")
    page.wait_for_function("el => el.complete && el.naturalWidth === 8", arg=image.element_handle())

    confusion = section.get_by_role("group", name="confusion")
    expect(confusion.locator("pre")).to_contain_text('"matrix"')
    section.get_by_label("Filter metrics").fill("sco")
    expect(scores).to_be_visible()
    expect(phase).to_be_hidden()


def test_series_routes_over_http(
    server: ServerProcess, workspace: Workspace, sdk: SdkWorkspace, tmp_path: Path
) -> None:
    run = new_run(sdk)
    for step in range(10_000):
        run.log("loss", float(step % 10), step=step)
    run.log("phase", "train")
    run.log_image("picture", path=str(png(tmp_path / "p.png", 10)))
    page_file = tmp_path / "evil.html"
    page_file.write_text("<script>alert(1)</script>")
    run.upload_file("outputs/evil.html", str(page_file))
    run.flush()
    api = f"{server.url}/ui/api/w/{workspace.name}/runs/{run.id}"
    cookies = {SESSION_COOKIE: workspace.tokens[Role.READER]}
    with httpx.Client(cookies=cookies) as client:
        listed = client.get(f"{api}/metrics").json()["metrics"]
        assert [(m["name"], m["kind"], m["count"], m["numeric"]) for m in listed] == [
            ("loss", "vector", 10_000, True),
            ("phase", "vector", 1, False),
            ("picture", "image", 1, False),
        ]
        whole = client.get(f"{api}/metrics/loss", params={"buckets": 100}).json()
        assert whole["downsampled"] and whole["total"] == 10_000 and whole["returned"] <= 400
        assert min(whole["band"]["min"]) == 0.0 and max(whole["band"]["max"]) == 9.0
        part = client.get(f"{api}/metrics/loss", params={"start": 20, "end": 29}).json()
        assert part["x"] == list(range(20, 30)) and part["band"] is None
        assert (
            client.get(f"{api}/metrics/nope")
            .json()["error"]["message"]
            .endswith("it has: loss, phase, picture.")
        )
        refused = client.get(f"{api}/metrics/phase")
        assert refused.status_code == 400 and "metric-values" in refused.text
        backwards = client.get(f"{api}/metrics/loss", params={"start": 5, "end": 1})
        assert backwards.status_code == 400 and "after its end" in backwards.text
        path = client.get(f"{api}/metric-values", params={"name": "picture"}).json()["images"][0]
        image = client.get(f"{api}/metric-image", params={"path": path})
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        assert image.headers["x-content-type-options"] == "nosniff"
        assert image.headers["content-security-policy"] == "sandbox"
        html = client.get(f"{api}/metric-image", params={"path": "outputs/evil.html"})
        assert html.status_code == 404 and "not a PNG" in html.text
    assert httpx.get(f"{api}/metrics").status_code == 401  # no session
