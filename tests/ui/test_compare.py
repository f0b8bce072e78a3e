"""The compare page: a sweep's runs overlaid, parallel coordinates, the diff table."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from runyard import Experiment, Run
from runyard import Workspace as SdkWorkspace
from runyard.server.control import Role
from tests.server.process import ServerProcess, Workspace
from tests.ui.conftest import screenshot, sign_in

SWEEP = [("0.1", "adam"), ("0.01", "sgd"), ("0.001", "adam")]


@pytest.fixture
def sweep(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Run, list[Run]]]:
    """A parent run and three children with properties, tags and two metrics each."""
    monkeypatch.setenv("RUNYARD_TOKEN", workspace.writer)
    ws = SdkWorkspace(workspace.uri)
    parent = Experiment(ws, "sweep").start_logging(snapshot_directory=None, outputs=False)
    children = []
    for i, (lr, optimizer) in enumerate(SWEEP):
        child = parent.child_run(name=f"trial-{i}")
        child.add_properties({"lr": lr, "optimizer": optimizer})
        child.set_tags({"team": "vision", "note": "<script>alert(1)</script>" if i == 0 else "ok"})
        for step in range(300):
            child.log("loss", 1.0 / (1 + step * float(lr)), step=step)
            child.log("accuracy", 0.5 + i * 0.1 + step / 1000, step=step)
        child.flush()
        children.append(child)
    yield parent, children
    ws.close()


def graph(page: Page, selector: str) -> Any:
    return page.locator(selector).evaluate(
        """el => ({ data: el.data.map((t) => ({ type: t.type, meta: t.meta, name: t.name,
              dimensions: (t.dimensions || []).map((d) => ({ label: d.label,
                values: Array.from(d.values), ticktext: d.ticktext || null })),
              color: t.line && t.line.color ? Array.from(t.line.color) : null })) })"""
    )


def test_compare_a_sweep_overlays_metrics_plots_parcoords_and_diffs(
    page: Page, server: ServerProcess, workspace: Workspace, sweep: tuple[Run, list[Run]]
) -> None:
    parent, _ = sweep
    sign_in(page, server, workspace.tokens[Role.READER])
    page.goto(f"{server.url}/ui/w/{workspace.name}/compare?parent={parent.id}")
    expect(page.get_by_role("heading", name="Runs (3)")).to_be_visible()
    expect(page.locator("#compare-runs li a")).to_have_text(["trial-0", "trial-1", "trial-2"])

    # metrics overlaid: loss is picked first, one line per run
    overlay = page.locator("#overlay-charts")
    loss = overlay.locator('.plot[data-metric="loss"]')
    page.wait_for_function("el => el.dataset.state === 'ready'", arg=loss.element_handle())
    lines = [t for t in graph(page, '#overlay-charts .plot[data-metric="loss"]')["data"]]
    assert [t["name"] for t in lines if t["meta"]["role"] == "line"] == [
        "trial-0",
        "trial-1",
        "trial-2",
    ]
    page.get_by_label("Metrics to overlay").select_option(["accuracy", "loss"])
    expect(overlay.get_by_role("group")).to_have_count(2)
    accuracy = overlay.locator('.plot[data-metric="accuracy"]')
    page.wait_for_function("el => el.dataset.state === 'ready'", arg=accuracy.element_handle())
    traces = graph(page, '#overlay-charts .plot[data-metric="accuracy"]')["data"]
    assert sum(t["meta"]["role"] == "line" for t in traces) == 3

    # parallel coordinates: varying properties and tags, categorical ones numbered, coloured
    parcoords = graph(page, "#parcoords")["data"][0]
    assert parcoords["type"] == "parcoords"
    dims = {d["label"]: d for d in parcoords["dimensions"]}
    assert list(dims) == ["property: lr", "property: optimizer", "tag: note", "loss (last)"]
    assert dims["property: lr"]["values"] == [0.1, 0.01, 0.001]
    assert dims["property: optimizer"]["ticktext"] == ["adam", "sgd"]
    assert dims["property: optimizer"]["values"] == [0, 1, 0]
    assert dims["tag: note"]["ticktext"] == ["<script>alert(1)</script>", "ok"]
    assert parcoords["color"] == dims["loss (last)"]["values"]
    assert parcoords["color"][2] > parcoords["color"][0]  # the smallest lr learns slowest
    page.get_by_label("Dimensions").select_option(["property: optimizer", "tag: team"])
    page.get_by_label("Colour by metric").select_option("accuracy")
    page.get_by_label("Metric value").select_option("max")
    parcoords = graph(page, "#parcoords")["data"][0]
    assert [d["label"] for d in parcoords["dimensions"]] == [
        "property: optimizer",
        "tag: team",
        "accuracy (max)",
    ]
    assert parcoords["dimensions"][1]["ticktext"] == ["vision"]

    # the diff: differing rows first and highlighted, then the same ones
    rows = page.locator("#compare-diff tbody tr")
    classes = rows.evaluate_all("rows => rows.map((r) => r.className)")
    assert classes == sorted(classes)  # every "differs" before every "same"
    assert classes.count("same") >= 1 and classes.count("differs") >= 8
    keys = rows.locator("th").all_inner_texts()
    assert any(k.startswith("lr") for k in keys[: classes.count("differs")])
    same = page.locator("#compare-diff tr.same")
    expect(same.filter(has_text="team")).to_have_count(1)
    expect(same.filter(has_text="team").locator("td")).to_have_text(
        ["Tag", "vision", "vision", "vision"]
    )
    note = page.locator("#compare-diff tr.differs", has_text="note")
    expect(note.locator("td").nth(1)).to_have_text("<script>alert(1)</script>")
    differing = page.locator("#compare-diff tr.differs").first
    assert differing.evaluate("el => getComputedStyle(el.cells[0]).backgroundColor") != (
        page.locator("#compare-diff tr.same").first.evaluate(
            "el => getComputedStyle(el.cells[0]).backgroundColor"
        )
    )
    screenshot(page, "compare")

    # each run's metrics open on demand
    box = page.locator("details.run-metrics-box", has_text="trial-1")
    box.locator("summary").click()
    expect(box.locator("table.metric-list tbody tr")).to_have_count(2)
    expect(box.get_by_role("group", name="loss")).to_be_visible()


def test_compare_selected_runs_and_unknown_ids(
    page: Page, server: ServerProcess, workspace: Workspace, sweep: tuple[Run, list[Run]]
) -> None:
    _, children = sweep
    sign_in(page, server, workspace.tokens[Role.READER])
    ids = [children[0].id, children[2].id, "no-such-run"]
    page.goto(f"{server.url}/ui/w/{workspace.name}/compare?" + "&".join(f"run={i}" for i in ids))
    expect(page.get_by_role("alert")).to_contain_text("no-such-run")
    expect(page.get_by_role("heading", name="Runs (2)")).to_be_visible()
    expect(page.locator("#compare-diff thead th")).to_have_text(
        ["Field", "Key", "trial-0", "trial-2"]
    )
    loss = page.locator('#overlay-charts .plot[data-metric="loss"]')
    page.wait_for_function("el => el.dataset.state === 'ready'", arg=loss.element_handle())
    assert loss.evaluate("el => el.data.filter((t) => t.meta.role === 'line').length") == 2
    page.goto(f"{server.url}/ui/w/{workspace.name}/compare")
    expect(page.get_by_text("No runs selected")).to_be_visible()
