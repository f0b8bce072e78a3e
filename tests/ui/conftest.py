"""Fixtures of the UI's browser tests: a real ``runyard server`` (tests/server/process.py) and
Debian's headless chromium driven by Playwright.

Chromium comes from ``$RUNYARD_TEST_CHROMIUM`` (``scripts/run-tests.sh`` installs it and sets
it), else the ``chromium`` on the PATH; Playwright's own browser download is never used. Without
one the tests skip, unless ``RUNYARD_REQUIRE_SERVICES=1`` (make test, CI), where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, Playwright, sync_playwright

from runyard import Workspace as SdkWorkspace
from tests.conftest import _service_missing
from tests.server.process import ServerProcess, Workspace, start

CHROMIUM_ENV = "RUNYARD_TEST_CHROMIUM"
CHROMIUM_ARGS = [
    "--no-sandbox",  # root in a container: chromium's sandbox needs user namespaces
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "images"
"""Where ``screenshot`` writes the pictures docs/ui.md shows (with RUNYARD_UI_SCREENSHOTS=1)."""


@pytest.fixture(scope="session")
def chromium() -> str:
    path = os.environ.get(CHROMIUM_ENV) or shutil.which("chromium")
    if not path:
        _service_missing(f"No chromium: install Debian's chromium or set {CHROMIUM_ENV}")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright: Playwright, chromium: str) -> Iterator[Browser]:
    launched = playwright.chromium.launch(
        executable_path=chromium, headless=True, args=CHROMIUM_ARGS
    )
    yield launched
    launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page; JavaScript errors fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    opened = context.new_page()
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.set_default_timeout(15_000)
    yield opened
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server with tokens (``--data``) shared by a module's tests; each test works in its own
    workspace (``workspace``)."""
    running = start(tmp_path_factory.mktemp("ui-server"))
    yield running
    running.stop()


@pytest.fixture
def workspace(server: ServerProcess) -> Workspace:
    return server.new_workspace()


@pytest.fixture
def ws(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[SdkWorkspace]:
    """The SDK's workspace on the test server, as a writer."""
    monkeypatch.setenv("RUNYARD_TOKEN", workspace.writer)
    sdk = SdkWorkspace(workspace.uri)
    yield sdk
    sdk.close()


@pytest.fixture
def dialogs(page: Page) -> list[str]:
    """Every dialog (alert, confirm) the page opens; confirms are accepted."""
    seen: list[str] = []

    def record(dialog: Dialog) -> None:
        seen.append(dialog.message)
        dialog.accept()

    page.on("dialog", record)
    return seen


def sign_in(page: Page, server: ServerProcess, token: str) -> None:
    """Sign in through the login page, as a user would."""
    page.goto(f"{server.url}/ui/login")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def screenshot(page: Page, name: str) -> None:
    """Save the page for docs/ui.md when RUNYARD_UI_SCREENSHOTS=1 (``make screenshots``)."""
    if os.environ.get("RUNYARD_UI_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"ui-{name}.png"), full_page=True)
