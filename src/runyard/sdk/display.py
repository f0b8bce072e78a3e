"""How a ``Run``, an ``Experiment`` and a ``Workspace`` show in a Jupyter notebook.

Azure's objects render a small table (Experiment | Id | Type | Status | Details Page | Docs Page)
linking to the portal. runyard's (no Docs Page: runyard has no docs site) link to the run's page
in runyard's web UI when a UI serving the workspace is known: a tracking server's (an
``http(s)://host:port/<workspace>`` tracking URI: its UI is at ``/ui/``), or the address in
``settings.UI_URL_ENV`` (the workspace's page in a UI started with ``runyard ui``, which this
process cannot know otherwise). Without one, the cell says how to open the UI. Every value is
escaped.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING
from urllib.parse import quote

from runyard.settings import UI_URL_ENV, TrackingUri, env_value

if TYPE_CHECKING:
    from runyard.sdk.experiment import Experiment
    from runyard.sdk.run import Run
    from runyard.sdk.workspace import Workspace

UI_HINT = "runyard ui"

_STATUS_COLOURS = {
    "Completed": "#2e7d32",
    "Failed": "#c62828",
    "Canceled": "#616161",
    "CancelRequested": "#616161",
    "NotResponding": "#ef6c00",
}
_ACTIVE_COLOUR = "#1565c0"
"""Queued, Preparing, Starting, Running, Finalizing, NotStarted."""


def workspace_ui_url(tracking: TrackingUri) -> str | None:
    """The workspace's page in a web UI known to serve it (ends with ``/``), or None."""
    if tracking.is_server and tracking.server_root and tracking.workspace:
        return f"{tracking.server_root}/ui/w/{quote(tracking.workspace, safe='')}/"
    configured = env_value(UI_URL_ENV)
    if configured is None:
        return None
    return configured if configured.endswith("/") else configured + "/"


def run_ui_url(tracking: TrackingUri, run_id: str) -> str | None:
    """The run's page in the web UI, or None when no UI is known to serve the workspace."""
    base = workspace_ui_url(tracking)
    return None if base is None else f"{base}r/{quote(run_id, safe='')}"


def experiment_ui_url(tracking: TrackingUri, name: str) -> str | None:
    """The experiment's runs page in the web UI, or None when no UI is known."""
    base = workspace_ui_url(tracking)
    return None if base is None else f"{base}e/{quote(name, safe='')}"


def status_badge(status: str) -> str:
    """A coloured pill with the status name."""
    colour = _STATUS_COLOURS.get(status, _ACTIVE_COLOUR)
    return (
        f'<span class="runyard-status" style="background:{colour};color:#fff;'
        f'padding:1px 8px;border-radius:8px">{escape(status)}</span>'
    )


def _link(url: str | None, text: str) -> str:
    if url is None:
        return f"<code>{escape(UI_HINT)}</code>"
    return f'<a href="{escape(url)}" target="_blank" rel="noopener">{escape(text)}</a>'


def _table(headers: list[str], cells: list[str]) -> str:
    """One-row table; ``cells`` are HTML already escaped."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    row = "".join(f"<td>{cell}</td>" for cell in cells)
    return f'<table class="runyard"><tr>{head}</tr><tr>{row}</tr></table>'


def run_html(
    *,
    experiment: str,
    run_id: str,
    display_name: str | None,
    run_type: str | None,
    status: str,
    url: str | None,
) -> str:
    """A run as a one-row table: Experiment, Id, Name, Type, Status, Details Page."""
    return _table(
        ["Experiment", "Id", "Name", "Type", "Status", "Details Page"],
        [
            escape(experiment),
            escape(run_id),
            escape(display_name or ""),
            escape(run_type or ""),
            status_badge(status),
            _link(url, "Link to runyard UI"),
        ],
    )


def experiment_html(*, name: str, workspace: str, url: str | None) -> str:
    """An experiment as a one-row table: Name, Workspace, Report Page."""
    return _table(
        ["Name", "Workspace", "Report Page"],
        [
            escape(name),
            escape(workspace),
            _link(url, "Link to runyard UI"),
        ],
    )


def workspace_html(*, name: str, location: str, tracking_uri: str, url: str | None) -> str:
    """A workspace as a one-row table: Name, Location, Tracking URI, UI Page."""
    return _table(
        ["Name", "Location", "Tracking URI", "UI Page"],
        [escape(name), escape(location), escape(tracking_uri), _link(url, "Link to runyard UI")],
    )


def render_run(run: Run) -> str:
    """``Run._repr_html_``: the run with its current status."""
    tracking = run.experiment.workspace.tracking
    return run_html(
        experiment=run.experiment.name,
        run_id=run.id,
        display_name=run.display_name,
        run_type=run.type,
        status=run.get_status(),
        url=run_ui_url(tracking, run.id),
    )


def render_experiment(experiment: Experiment) -> str:
    """``Experiment._repr_html_``."""
    workspace = experiment.workspace
    return experiment_html(
        name=experiment.name,
        workspace=workspace.name,
        url=experiment_ui_url(workspace.tracking, experiment.name),
    )


def render_workspace(workspace: Workspace) -> str:
    """``Workspace._repr_html_``."""
    return workspace_html(
        name=workspace.name,
        location=workspace.location,
        tracking_uri=workspace.get_details()["trackingUri"],
        url=workspace_ui_url(workspace.tracking),
    )
