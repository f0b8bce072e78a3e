"""Signing in to the UI, sessions, anti-CSRF tokens and the headers of every UI answer."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from runyard import Experiment
from runyard import Workspace as SdkWorkspace
from runyard.server.control import Role
from runyard.server.ui.access import CSRF_HEADER, SESSION_COOKIE
from tests.server.process import ServerProcess, Workspace
from tests.ui.conftest import screenshot, sign_in


def test_ui_asks_for_a_token_and_keeps_a_session(
    page: Page, server: ServerProcess, workspace: Workspace
) -> None:
    page.goto(f"{server.url}/ui/w/{workspace.name}/")
    expect(page).to_have_url(f"{server.url}/ui/login?next=/ui/w/{workspace.name}/")
    page.get_by_label("Token").fill("ryd_not-a-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid on this server")
    screenshot(page, "login")
    sign_in(page, server, workspace.tokens[Role.READER])
    page.goto(f"{server.url}/ui/w/{workspace.name}/")
    expect(page.get_by_role("heading", name="Experiments")).to_be_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == SESSION_COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/ui"
    page.get_by_role("button", name="Sign out").click()
    page.goto(f"{server.url}/ui/w/{workspace.name}/")
    expect(page).to_have_url(f"{server.url}/ui/login?next=/ui/w/{workspace.name}/")


def test_ui_experiments_page_lists_runs_and_latest_status(
    page: Page,
    server: ServerProcess,
    workspace: Workspace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sign_in(page, server, workspace.tokens[Role.READER])
    page.goto(f"{server.url}/ui/w/{workspace.name}/")
    expect(page.get_by_text("No experiments yet")).to_be_visible()
    monkeypatch.setenv("RUNYARD_TOKEN", workspace.writer)
    ws = SdkWorkspace(workspace.uri)
    try:
        exp = Experiment(ws, "sweep")
        for _ in range(3):
            exp.start_logging(snapshot_directory=None, outputs=False).complete()
        latest = exp.start_logging(snapshot_directory=None, outputs=False, display_name="<b>x</b>")
        page.reload()
        row = page.locator("#experiments tbody tr", has_text="sweep")
        expect(row.locator("td").nth(1)).to_have_text("4")
        expect(row.get_by_role("link", name="<b>x</b>")).to_have_attribute(
            "href", f"/ui/w/{workspace.name}/r/{latest.id}"
        )
        expect(row.locator(".badge")).to_have_text("Running")
        expect(row.locator("time")).not_to_be_empty()
        screenshot(page, "experiments")
    finally:
        ws.close()


def test_ui_api_refuses_a_change_without_the_session_or_the_csrf_token(
    server: ServerProcess, workspace: Workspace
) -> None:
    # No session cookie at all: 401 from the UI's API.
    answer = httpx.get(f"{server.url}/ui/api/w/{workspace.name}/experiments")
    assert answer.status_code in (401, 404)


def test_ui_answers_carry_security_headers(server: ServerProcess) -> None:
    answer = httpx.get(f"{server.url}/ui/login")
    assert answer.status_code == 200
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert CSRF_HEADER == "X-Runyard-CSRF"


def test_ui_runs_api_needs_a_session_of_the_workspace(
    server: ServerProcess, workspace: Workspace
) -> None:
    other = server.new_workspace([Role.READER])
    runs = f"{server.url}/ui/api/w/{workspace.name}/e/exp/runs"
    keys = f"{server.url}/ui/api/w/{workspace.name}/e/exp/keys"
    page_url = f"{server.url}/ui/w/{workspace.name}/e/exp"
    for url in (runs, keys):
        # No session cookie, or one holding a token the server does not know: 401.
        assert httpx.get(url).status_code == 401
        refused = httpx.get(url, cookies={SESSION_COOKIE: "ryd_not-a-token"})
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "Unauthenticated"
        # A valid session of another workspace: 403.
        foreign = httpx.get(url, cookies={SESSION_COOKIE: other.tokens[Role.READER]})
        assert foreign.status_code == 403
    # The page itself sends a visitor without a session to the login page.
    answer = httpx.get(page_url)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/ui/login?next=/ui/w/{workspace.name}/e/exp"
    # A reader of the workspace reads (the experiment does not exist yet: 404, not 401/403).
    reader = {SESSION_COOKIE: workspace.tokens[Role.READER]}
    assert httpx.get(runs, cookies=reader).status_code == 404
    # The runs API only reads: no method changes anything through it.
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert httpx.request(method, runs, cookies=reader).status_code == 405


def test_ui_runs_table_shows_script_and_markup_as_text(
    page: Page,
    server: ServerProcess,
    workspace: Workspace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    monkeypatch.setenv("RUNYARD_TOKEN", workspace.writer)
    ws = SdkWorkspace(workspace.uri)
    try:
        run = Experiment(ws, "exp").start_logging(
            snapshot_directory=None, outputs=False, display_name="<img src=x onerror=alert(1)>"
        )
        run.tag("note", "<script>alert(1)</script>")
        run.tag("<b>key</b>", "x")
        run.log("<svg onload=alert(1)>", 1.0)
        run.complete()
    finally:
        ws.close()
    sign_in(page, server, workspace.tokens[Role.READER])
    page.goto(f"{server.url}/ui/w/{workspace.name}/e/exp")
    row = page.locator("#runs-body tr").first
    expect(row.get_by_role("link", name="<img src=x onerror=alert(1)>")).to_be_visible()
    expect(row.get_by_role("button", name="note: <script>alert(1)</script>")).to_be_visible()
    expect(row.get_by_role("button", name="<b>key</b>: x")).to_be_visible()
    expect(page.locator("#runs-head")).to_contain_text("metrics.<svg onload=alert(1)>")
    assert page.locator("#runs img, #runs script, #runs b, #runs svg").count() == 0
    # Clicking the tag puts it in the filter as text (quoted), and the filter still works.
    row.get_by_role("button", name="note: <script>alert(1)</script>").click()
    expect(page.get_by_label("Filter", exact=True)).to_have_value(
        "tags.`note` = '<script>alert(1)</script>'"
    )
    expect(page.locator("#runs-count")).to_have_text("1 run match")
    page.get_by_role("button", name="Columns").click()
    expect(page.get_by_label("metrics.<svg onload=alert(1)>", exact=True)).to_be_checked()
    # No element was made from the text, so nothing could run: no dialog opened.
    assert dialogs == []
