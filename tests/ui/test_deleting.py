"""Deleting and restoring a run in the UI: from its page (a writer), the runs table that hides
deleted runs unless asked, the banner of a deleted run, and what readers and requests without the
anti-CSRF header get; in Debian's chromium against a real server."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from runyard import Experiment
from runyard import Workspace as SdkWorkspace
from runyard.server.control import Role
from runyard.server.ui.access import CSRF_HEADER
from tests.server.process import ServerProcess, Workspace
from tests.ui.conftest import screenshot, sign_in

pytestmark = pytest.mark.timeout(120)


def finished_run(ws: SdkWorkspace, name: str) -> str:
    run = Experiment(ws, "exp").start_logging(
        display_name=name, snapshot_directory=None, outputs=False
    )
    run.log("acc", 0.5)
    run.complete()
    return run.id


def table_names(page: Page) -> list[str]:
    expect(page.locator("#runs")).to_have_attribute("aria-busy", "false")
    return page.locator("#runs-body tr[data-run-id] a.run-name").all_inner_texts()


def test_a_run_is_deleted_from_its_page_hidden_from_the_table_and_restored(
    page: Page, server: ServerProcess, workspace: Workspace, ws: SdkWorkspace, dialogs: list[str]
) -> None:
    kept = finished_run(ws, "kept")
    gone = finished_run(ws, "gone")
    sign_in(page, server, workspace.writer)
    runs_url = f"{server.url}/ui/w/{workspace.name}/e/exp"
    page.goto(runs_url)
    expect(page.locator("#runs-count")).to_have_text("2 runs match")
    assert table_names(page) == ["gone", "kept"]

    # Delete it from its page: a confirm, then the banner and the Restore button.
    page.get_by_role("link", name="gone").click()
    banner = page.locator("#run-deleted")
    expect(banner).to_be_hidden()
    expect(page.get_by_role("button", name="Restore run")).to_be_hidden()
    page.get_by_role("button", name="Delete run").click()
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("This run was deleted on")
    expect(banner).to_contain_text("Restore it to list it again")
    expect(page.get_by_role("button", name="Restore run")).to_be_focused()
    expect(page.get_by_role("button", name="Delete run")).to_be_hidden()
    expect(page.locator('#details-list dd[data-field="Deleted"]')).not_to_be_empty()
    expect(page.locator('#details-list dd[data-field="Status"]')).to_have_text("Completed")
    assert len(dialogs) == 1 and dialogs[0].startswith("Delete run gone?")
    assert ws.store.get_run(gone).deleted_time is not None
    screenshot(page, "run-deleted")

    # The table leaves it out, until asked for deleted runs (or all); the view is in the address.
    page.goto(runs_url)
    assert table_names(page) == ["kept"]
    expect(page.locator("#runs-count")).to_have_text("1 run match")
    show = page.get_by_label("Which runs")
    expect(show).to_have_value("active")
    show.select_option("deleted")
    expect(page.locator("#runs-count")).to_have_text("1 run match")
    assert table_names(page) == ["gone"]
    deleted_row = page.locator(f'#runs-body tr[data-run-id="{gone}"]')
    expect(deleted_row.locator(".deleted-badge")).to_have_text("deleted")
    show.select_option("all")
    expect(page.locator("#runs-count")).to_have_text("2 runs match")
    assert table_names(page) == ["gone", "kept"]
    expect(page.locator(f'#runs-body tr[data-run-id="{kept}"] .deleted-badge')).to_have_count(0)
    assert "lifecycle=all" in page.url
    page.reload()
    expect(page.get_by_label("Which runs")).to_have_value("all")
    assert table_names(page) == ["gone", "kept"]
    api = f"{server.url}/ui/api/w/{workspace.name}/e/exp/runs"
    assert page.request.get(f"{api}?lifecycle=deleted").json()["count"] == 1
    assert page.request.get(f"{api}?lifecycle=removed").status == 400

    # Restore it from its page: listed again, as it was.
    page.get_by_role("link", name="gone").click()
    page.get_by_role("button", name="Restore run").click()
    expect(banner).to_be_hidden()
    expect(page.get_by_role("button", name="Delete run")).to_be_visible()
    assert ws.store.get_run(gone).deleted_time is None
    page.goto(runs_url)
    assert table_names(page) == ["gone", "kept"]
    assert len(dialogs) == 1  # restoring asks nothing


def test_a_reader_sees_the_banner_but_no_buttons_and_the_api_refuses(
    page: Page, server: ServerProcess, workspace: Workspace, ws: SdkWorkspace
) -> None:
    run_id = finished_run(ws, "gone")
    ws.store.set_run_deleted(run_id, True)
    sign_in(page, server, workspace.tokens[Role.READER])
    page.goto(f"{server.url}/ui/w/{workspace.name}/r/{run_id}")
    expect(page.locator("#run-deleted")).to_contain_text("A writer of the workspace can restore it")
    expect(page.get_by_role("button", name="Restore run")).to_be_hidden()
    expect(page.get_by_role("button", name="Delete run")).to_be_hidden()
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    assert csrf
    base = f"{server.url}/ui/api/w/{workspace.name}/runs/{run_id}"
    refused = page.request.post(f"{base}/restore", headers={CSRF_HEADER: csrf})
    assert refused.status == 403
    assert "writer" in refused.json()["error"]["message"]
    assert ws.store.get_run(run_id).deleted_time is not None


def test_delete_without_the_anti_csrf_header_is_refused(
    page: Page, server: ServerProcess, workspace: Workspace, ws: SdkWorkspace
) -> None:
    run_id = finished_run(ws, "kept")
    sign_in(page, server, workspace.writer)
    page.goto(f"{server.url}/ui/w/{workspace.name}/r/{run_id}")
    expect(page.get_by_role("button", name="Delete run")).to_be_visible()
    base = f"{server.url}/ui/api/w/{workspace.name}/runs/{run_id}"
    for headers in ({}, {CSRF_HEADER: "0" * 64}):
        answer = page.request.post(f"{base}/delete", headers=headers)
        assert answer.status == 403, headers
        assert "anti-CSRF" in answer.json()["error"]["message"]
    assert ws.store.get_run(run_id).deleted_time is None


def test_deleted_children_are_marked_on_their_parent_page(
    page: Page, server: ServerProcess, workspace: Workspace, ws: SdkWorkspace
) -> None:
    parent = Experiment(ws, "exp").start_logging(snapshot_directory=None, outputs=False)
    first, second = parent.child_run("first"), parent.child_run("second")
    first.delete()
    for run in (first, second, parent):
        run.complete()
    sign_in(page, server, workspace.tokens[Role.READER])
    page.goto(f"{server.url}/ui/w/{workspace.name}/r/{parent.id}")
    tree = page.locator("#children-tree")
    expect(tree.locator(f'li[data-run="{first.id}"] .deleted-badge')).to_have_text("deleted")
    expect(tree.locator(f'li[data-run="{second.id}"]')).to_be_visible()
    expect(tree.locator(f'li[data-run="{second.id}"] .deleted-badge')).to_have_count(0)
    # The runs table counts and folds only the active children unless asked.
    page.goto(f"{server.url}/ui/w/{workspace.name}/e/exp")
    expect(page.get_by_role("button", name="Show 1 child runs of")).to_be_visible()
    page.get_by_label("Which runs").select_option("all")
    expect(page.get_by_role("button", name="Show 2 child runs of")).to_be_visible()
