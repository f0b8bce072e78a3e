"""The runs page of an experiment: columns, sorting, filters, children, paging, the view in the
address, keyboard use and the selection for Compare, in Debian's chromium."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator, Sequence
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Locator, Page, expect

from runyard.entities import MetricChunk, MetricKind, NewRun, RunStatus, ValueType
from runyard.query import parse_order_by
from runyard.server.control import Role
from runyard.store import Store, open_store
from tests.server.process import ServerProcess, Workspace
from tests.ui.conftest import screenshot, sign_in


@pytest.fixture
def store(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The workspace's store through the server (a writer's token)."""
    monkeypatch.setenv("RUNYARD_TOKEN", workspace.writer)
    opened = open_store(workspace.uri)
    yield opened
    opened.close()


def new_run(experiment: str, name: str | None, **fields: object) -> NewRun:
    return NewRun(run_id=str(uuid.uuid4()), experiment_name=experiment, display_name=name, **fields)  # type: ignore[arg-type]


def log(store: Store, run_id: str, **values: float) -> None:
    """One point of each named metric of the run."""
    now = time.time()
    store.log_metrics(
        [
            MetricChunk(run_id, name, MetricKind.VECTOR, ValueType.NUMBER, [value], [now])
            for name, value in values.items()
        ]
    )


def log_series(store: Store, run_id: str, name: str, values: Sequence[float]) -> None:
    now = time.time()
    store.log_metrics(
        [
            MetricChunk(
                run_id, name, MetricKind.VECTOR, ValueType.NUMBER, list(values), [now] * len(values)
            )
        ]
    )


def open_runs(page: Page, server: ServerProcess, workspace: Workspace, query: str = "") -> None:
    sign_in(page, server, workspace.tokens[Role.READER])
    page.goto(f"{server.url}/ui/w/{workspace.name}/e/exp{query}")
    expect(page.locator("#runs")).to_have_attribute("aria-busy", "false")


def names(page: Page) -> list[str]:
    """The display names of the table's rows, top to bottom."""
    return page.locator("#runs-body tr[data-run-id] a.run-name").all_inner_texts()


def row(page: Page, name: str) -> Locator:
    """The table row of the run named ``name``."""
    return page.locator("#runs-body tr").filter(
        has=page.locator("a.run-name", has_text=re.compile(f"^{re.escape(name)}$"))
    )


def headers(page: Page) -> list[str]:
    return [
        h.strip() for h in page.locator("#runs-head th").all_inner_texts()[1:]
    ]  # after the select-all


def view(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query, keep_blank_values=True)


def test_runs_page_shows_metric_columns_and_sorts_by_clicking_headers(
    page: Page, server: ServerProcess, workspace: Workspace, store: Store
) -> None:
    runs = [
        new_run("exp", "alpha", tags={"lr": "0.1"}, properties={"author": "ann"}),
        new_run("exp", "beta", tags={"lr": "0.01"}),
        new_run("exp", "gamma"),
        new_run("exp", "no-metrics"),
    ]
    store.create_runs(runs)
    log_series(store, runs[0].run_id, "loss", [0.9, 0.2, 0.5])
    log_series(store, runs[1].run_id, "loss", [0.7, 0.4])
    log_series(store, runs[2].run_id, "loss", [0.8, 0.6])
    log(store, runs[0].run_id, acc=0.7)
    log(store, runs[1].run_id, acc=0.9)
    log(store, runs[2].run_id, acc=0.8)
    store.set_run_status(runs[0].run_id, RunStatus.COMPLETED)
    store.set_run_status(runs[2].run_id, RunStatus.FAILED)
    # The experiments page links its rows here.
    sign_in(page, server, workspace.tokens[Role.READER])
    page.goto(f"{server.url}/ui/w/{workspace.name}/")
    page.get_by_role("link", name="exp", exact=True).click()
    expect(page.get_by_role("heading", name="Runs of exp")).to_be_visible()
    expect(page.locator("#runs")).to_have_attribute("aria-busy", "false")
    # Defaults: newest first, every metric present as a column (its last value).
    assert names(page) == ["no-metrics", "gamma", "beta", "alpha"]
    assert headers(page) == [
        "Status",
        "Run",
        "Started",
        "Duration",
        "Tags",
        "Properties",
        "metrics.acc",
        "metrics.loss",
    ]
    expect(page.locator("#runs-count")).to_have_text("4 runs match")
    alpha = row(page, "alpha")
    expect(alpha.locator(".badge")).to_have_text("Completed")
    expect(alpha.locator("td").nth(7)).to_have_text("0.7")
    expect(alpha.locator("td").nth(8)).to_have_text("0.5")  # the last value
    expect(alpha.get_by_role("button", name="lr: 0.1")).to_be_visible()
    expect(alpha.locator("td").nth(6)).to_contain_text("author: ann")
    expect(alpha.get_by_role("link", name="alpha")).to_have_attribute(
        "href", f"/ui/w/{workspace.name}/r/{runs[0].run_id}"
    )
    expect(alpha.locator("code.run-id")).to_have_text(runs[0].run_id)
    # Sort by a metric: ascending, then descending; a run without it is last both ways.
    page.get_by_role("button", name="metrics.acc").click()
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("metrics.acc")
    expect(page.locator("#runs-body tr a.run-name").first).to_have_text("alpha")
    assert names(page) == ["alpha", "gamma", "beta", "no-metrics"]
    assert view(page)["sort"] == ["metrics.`acc` ASC"]
    page.get_by_role("button", name="metrics.acc").click()
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("metrics.acc")
    expect(page.locator("#runs-body tr a.run-name").first).to_have_text("beta")
    assert names(page) == ["beta", "gamma", "alpha", "no-metrics"]
    # Choose the min of loss as a column and sort by it; the choice is in the address.
    page.get_by_role("button", name="Columns").click()
    page.get_by_label("metrics.loss.min").check()
    expect(page.locator("#runs-head")).to_contain_text("metrics.loss.min")
    page.get_by_label("metrics.acc", exact=True).uncheck()
    expect(page.locator("#runs-head")).not_to_contain_text("metrics.acc")
    page.keyboard.press("Escape")
    assert view(page)["col"] == ["metrics.loss", "metrics.loss.min"]
    page.get_by_role("button", name="metrics.loss.min").click()
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("metrics.loss.min")
    expect(page.locator("#runs-body tr a.run-name").first).to_have_text("alpha")
    assert names(page) == ["alpha", "beta", "gamma", "no-metrics"]
    screenshot(page, "runs")
    # Sort by a text attribute.
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("Run")
    expect(page.locator("#runs-body tr a.run-name").first).to_have_text("alpha")
    assert names(page) == ["alpha", "beta", "gamma", "no-metrics"]


def test_runs_page_sorts_by_a_metric_whose_name_needs_quoting(
    page: Page, server: ServerProcess, workspace: Workspace, store: Store
) -> None:
    # A space, a backtick and a backslash: the sort key quotes the name as the grammar reads it.
    awkward = "val `loss\\ ok"
    runs = store.create_runs([new_run("exp", name) for name in ("one", "two", "three")])
    for info, value in zip(runs, (0.2, 0.9, 0.5), strict=True):
        log(store, info.run_id, **{awkward: value})
    open_runs(page, server, workspace)
    page.get_by_role("button", name=f"metrics.{awkward}").click()
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text(f"metrics.{awkward}")
    assert names(page) == ["one", "three", "two"]
    assert parse_order_by(view(page)["sort"])[0].field.key == awkward


def test_runs_page_filters_with_the_grammar_status_and_tags_and_shows_errors(
    page: Page, server: ServerProcess, workspace: Workspace, store: Store
) -> None:
    runs = [
        new_run("exp", "a", tags={"lr": "0.1", "opt": "sgd"}),
        new_run("exp", "b", tags={"lr": "0.01", "opt": "adam"}),
        new_run("exp", "c", tags={"lr": "0.01", "opt": "sgd"}),
    ]
    store.create_runs(runs)
    for run, acc in zip(runs, [0.5, 0.8, 0.95], strict=True):
        log(store, run.run_id, acc=acc)
    store.set_run_status(runs[0].run_id, RunStatus.FAILED)
    open_runs(page, server, workspace)
    expect(page.locator("#runs-count")).to_have_text("3 runs match")
    # The grammar, with OR and parentheses.
    page.get_by_label("Filter", exact=True).fill(
        "metrics.acc > 0.7 and (tags.opt = 'adam' or tags.lr = '0.1')"
    )
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#runs-count")).to_have_text("1 run match")
    assert names(page) == ["b"]
    # A wrong filter: the store's message, with its column, and the table stays.
    page.get_by_label("Filter", exact=True).fill("metrics.acc > ")
    page.get_by_role("button", name="Apply").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("filter: expected a value after '>' at column")
    expect(alert.locator("pre.caret")).to_contain_text("^")
    expect(page.get_by_label("Filter", exact=True)).to_have_attribute("aria-invalid", "true")
    screenshot(page, "runs-filter-error")
    page.get_by_role("button", name="Filter help").click()
    help_panel = page.get_by_role("region", name="Filter help")
    expect(help_panel).to_contain_text("IS NOT NULL")
    expect(help_panel).to_contain_text("metrics.NAME.min")
    screenshot(page, "runs-filter-help")
    page.get_by_role("button", name="Filter help").click()
    expect(help_panel).to_be_hidden()
    page.get_by_role("button", name="Clear filter").click()
    expect(page.locator("#runs-count")).to_have_text("3 runs match")
    expect(page.get_by_role("alert")).to_be_hidden()
    # Quick filter by status.
    page.get_by_label("Status", exact=True).select_option("Failed")
    expect(page.locator("#runs-count")).to_have_text("1 run match")
    assert names(page) == ["a"]
    assert view(page)["status"] == ["Failed"]
    page.get_by_label("Status", exact=True).select_option("")
    expect(page.locator("#runs-count")).to_have_text("3 runs match")
    # Quick filter by tag: clicking a tag value adds it to the filter.
    row(page, "c").get_by_role("button", name="lr: 0.01").click()
    expect(page.locator("#runs-count")).to_have_text("2 runs match")
    expect(page.get_by_label("Filter", exact=True)).to_have_value("tags.`lr` = '0.01'")
    row(page, "c").get_by_role("button", name="opt: sgd").click()
    expect(page.locator("#runs-count")).to_have_text("1 run match")
    assert names(page) == ["c"]
    assert view(page)["filter"] == ["tags.`lr` = '0.01' and tags.`opt` = 'sgd'"]
    # The view comes back on reload, and in another browser from the shared address.
    shared = page.url
    page.reload()
    expect(page.locator("#runs-count")).to_have_text("1 run match")
    other = page.context.browser.new_context()  # type: ignore[union-attr]
    try:
        fresh = other.new_page()
        sign_in(fresh, server, workspace.tokens[Role.READER])
        fresh.goto(shared)
        expect(fresh.locator("#runs-count")).to_have_text("1 run match")
        expect(fresh.get_by_label("Filter", exact=True)).to_have_value(
            "tags.`lr` = '0.01' and tags.`opt` = 'sgd'"
        )
    finally:
        other.close()


def test_runs_page_folds_children_under_their_parent(
    page: Page, server: ServerProcess, workspace: Workspace, store: Store
) -> None:
    parent = new_run("exp", "sweep")
    lone = new_run("exp", "lone")
    store.create_runs([parent, lone])
    kids = [new_run("exp", f"trial-{i}", parent_run_id=parent.run_id) for i in range(3)]
    store.create_runs(kids)
    grandchild = new_run("exp", "inner", parent_run_id=kids[0].run_id)
    store.create_runs([grandchild])
    for i, kid in enumerate(kids):
        log(store, kid.run_id, acc=i / 10)
    open_runs(page, server, workspace)
    # Top level only: the children are folded.
    assert names(page) == ["lone", "sweep"]
    expect(page.locator("#runs-count")).to_have_text("2 runs match")
    expect(row(page, "lone").locator("button.disclosure")).to_have_count(0)
    disclose = page.get_by_role("button", name="Show 3 child runs of sweep")
    expect(disclose).to_have_attribute("aria-expanded", "false")
    disclose.click()
    expect(disclose).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#runs-body tr.child")).to_have_count(3)
    assert names(page) == ["lone", "sweep", "trial-2", "trial-1", "trial-0"]
    expect(page.locator("#runs-body tr.child").first.locator("td.run-cell")).to_have_class(
        "run-cell depth-1"
    )
    page.get_by_role("button", name="Show 1 child runs of trial-0").click()
    assert_names = ["lone", "sweep", "trial-2", "trial-1", "trial-0", "inner"]
    expect(page.locator("#runs-body tr.child")).to_have_count(4)
    assert names(page) == assert_names
    # Folding the parent folds its whole subtree.
    disclose.click()
    expect(page.locator("#runs-body tr.child")).to_have_count(0)
    assert names(page) == ["lone", "sweep"]


def test_runs_page_pages_through_many_runs_with_keyset_tokens(
    page: Page, server: ServerProcess, workspace: Workspace, store: Store
) -> None:
    runs = [new_run("exp", f"run-{i:03d}") for i in range(120)]
    store.create_runs(runs)
    now = time.time()
    store.log_metrics(
        [
            MetricChunk(r.run_id, "step", MetricKind.VECTOR, ValueType.NUMBER, [i], [now])
            for i, r in enumerate(runs)
        ]
    )
    open_runs(page, server, workspace, "?size=50&sort=metrics.%60step%60+ASC")
    expect(page.get_by_label("Rows per page")).to_have_value("50")
    expect(page.locator("#runs-count")).to_have_text("120 runs match")
    expect(page.locator("#runs-page-label")).to_have_text("Page 1 of 3")
    first = names(page)
    assert first == [f"run-{i:03d}" for i in range(50)]
    expect(page.get_by_role("button", name="Previous")).to_be_disabled()
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#runs-page-label")).to_have_text("Page 2 of 3")
    assert names(page) == [f"run-{i:03d}" for i in range(50, 100)]
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#runs-page-label")).to_have_text("Page 3 of 3")
    assert names(page) == [f"run-{i:03d}" for i in range(100, 120)]
    expect(page.get_by_role("button", name="Next")).to_be_disabled()
    page.get_by_role("button", name="Previous").click()
    expect(page.locator("#runs-page-label")).to_have_text("Page 2 of 3")
    assert names(page) == [f"run-{i:03d}" for i in range(50, 100)]
    page.get_by_role("button", name="Previous").click()
    expect(page.locator("#runs-page-label")).to_have_text("Page 1 of 3")
    assert names(page) == first
    # A bigger page size starts again from the first page.
    page.get_by_label("Rows per page").select_option("500")
    expect(page.locator("#runs-body tr[data-run-id]")).to_have_count(120)
    expect(page.get_by_role("button", name="Next")).to_be_disabled()
    assert view(page)["size"] == ["500"]


def test_runs_table_works_with_the_keyboard_and_selects_runs_to_compare(
    page: Page, server: ServerProcess, workspace: Workspace, store: Store
) -> None:
    runs = [new_run("exp", name) for name in ("one", "two", "three")]
    store.create_runs(runs)
    open_runs(page, server, workspace)
    assert names(page) == ["three", "two", "one"]
    # Every control has a label (found by role and name).
    for label in ("Filter", "Status", "Rows per page", "Select all runs on this page"):
        expect(page.get_by_label(label, exact=True)).to_be_visible()
    compare = page.get_by_role("button", name="Compare")
    expect(compare).to_be_disabled()
    page.get_by_label("Select three").check()
    expect(compare).to_be_disabled()
    page.get_by_label("Select one").check()
    expect(page.locator("#runs-selected")).to_have_text("2 selected")
    expect(compare).to_be_enabled()
    # Rows take the focus; arrows move it; Enter opens the run.
    page.locator("#runs-body tr").first.focus()
    page.keyboard.press("ArrowDown")
    expect(row(page, "two")).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    expect(row(page, "two")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/ui/w/{workspace.name}/r/{runs[1].run_id}")
    page.go_back()
    expect(page.locator("#runs")).to_have_attribute("aria-busy", "false")
    page.get_by_label("Select three").check()
    page.get_by_label("Select two").check()
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url(f"**/ui/w/{workspace.name}/compare?**")
    assert sorted(view(page)["run"]) == sorted([runs[2].run_id, runs[1].run_id])


def test_runs_page_of_an_unknown_experiment_is_not_found(
    page: Page, server: ServerProcess, workspace: Workspace
) -> None:
    sign_in(page, server, workspace.tokens[Role.READER])
    answer = page.goto(f"{server.url}/ui/w/{workspace.name}/e/nothing-here")
    assert answer is not None and answer.status == 404
