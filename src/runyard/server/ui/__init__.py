"""The web UI, served by every ``runyard server`` under ``/ui`` (``runyard ui`` for the local
workspace): server-side Jinja2 pages, small scripts of our own in ``static/``, and Plotly's
built ``plotly.min.js`` from the ``plotly`` package (never a CDN). docs/ui.md tells the pages.

Modules: ``access`` (session cookie, anti-CSRF), ``pages`` (HTML), ``api`` (the JSON the pages'
scripts read), ``security`` (headers on every UI answer).
"""

from __future__ import annotations

from fastapi import FastAPI

from runyard.server.ui import api, compare, pages, run_api, run_page, runs_api, security, series


def install_ui(app: FastAPI) -> None:
    """Add the UI's routes, static files and headers to the server's app."""
    security.install(app)
    pages.install(app)
    app.include_router(api.router)
    app.include_router(run_api.router)
    app.include_router(run_page.router)
    app.include_router(runs_api.router)
    app.include_router(runs_api.page_router)
    app.include_router(series.router)
    compare.install(app)
