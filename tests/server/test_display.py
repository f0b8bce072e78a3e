"""A notebook's run table links to the run's page in the tracking server's web UI."""

from __future__ import annotations

from html.parser import HTMLParser

import httpx
import pytest

from runyard import Experiment, Workspace
from tests.server.process import ServerProcess
from tests.server.process import Workspace as ServerWorkspace


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.append(dict(attrs)["href"] or "")


def test_run_repr_html_links_to_its_page_on_the_server(
    server: ServerProcess, workspace: ServerWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNYARD_TOKEN", workspace.writer)
    ws = Workspace(workspace.uri)
    run = Experiment(ws, "shown").start_logging(snapshot_directory=None, outputs=False)
    links = _Links()
    links.feed(run._repr_html_())
    run.complete()
    ws.close()

    assert links.hrefs == [f"{server.url}/ui/w/{workspace.name}/r/{run.id}"]
    session = {"Cookie": f"runyard_session={workspace.writer}"}
    page = httpx.get(links.hrefs[0], headers=session, timeout=30.0)
    assert page.status_code == 200
    assert run.id in page.text
