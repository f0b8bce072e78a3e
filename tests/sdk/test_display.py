"""Runs, experiments and workspaces in a Jupyter notebook: ``_repr_html_`` (docs/api.md)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from runyard import Experiment, Workspace
from runyard.sdk.display import run_ui_url
from runyard.settings import TrackingUri

EVIL = '<script>alert("x")</script>&"'


class _Table(HTMLParser):
    """The tags, cell texts and links of a rendered table."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.cells: list[str] = []
        self.links: list[str] = []
        self._text: list[str] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag in ("td", "th"):
            self._text = []
        if tag == "a":
            self.links.append(dict(attrs)["href"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._text is not None:
            self.cells.append("".join(self._text))
            self._text = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def test_run_repr_html_shows_ids_and_status_and_escapes_the_name(
    experiment: Experiment,
) -> None:
    run = experiment.start_logging(snapshot_directory=None, outputs=False, display_name=EVIL)

    table = _Table(run._repr_html_())

    assert "script" not in table.tags
    assert table.cells[:6] == ["Experiment", "Id", "Name", "Type", "Status", "Details Page"]
    assert table.cells[6:11] == ["explore-runs", run.id, EVIL, "", "Running"]
    assert table.cells[11] == "runyard ui"  # no UI known: how to open one
    assert table.links == []
    run.complete()
    assert _Table(run._repr_html_()).cells[10] == "Completed"


def test_run_repr_html_links_to_the_configured_ui(
    experiment: Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNYARD_UI_URL", "http://127.0.0.1:8765/ui/w/my_ws")
    run = experiment.start_logging(snapshot_directory=None, outputs=False)

    assert _Table(run._repr_html_()).links == [f"http://127.0.0.1:8765/ui/w/my_ws/r/{run.id}"]
    assert _Table(experiment._repr_html_()).links == [
        "http://127.0.0.1:8765/ui/w/my_ws/e/explore-runs"
    ]
    run.complete()


def test_experiment_and_workspace_repr_html_escape_their_values(workspace: Workspace) -> None:
    workspace.name = EVIL
    experiment = Experiment(workspace, "exp")

    for html in (experiment._repr_html_(), workspace._repr_html_()):
        table = _Table(html)
        assert "script" not in table.tags
        assert EVIL in table.cells
    assert _Table(workspace._repr_html_()).cells[4:7] == [EVIL, "local", workspace.tracking_uri]


def test_run_ui_url_of_a_tracking_server_quotes_the_workspace_and_run() -> None:
    tracking = TrackingUri.parse("https://runs.example:8443/prefix/team")

    assert run_ui_url(tracking, "a/b c") == (
        "https://runs.example:8443/prefix/ui/w/team/r/a%2Fb%20c"
    )
