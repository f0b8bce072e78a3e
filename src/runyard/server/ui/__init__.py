"""The web UI, served by every ``runyard server`` under ``/ui`` (``runyard ui`` for the local
workspace): server-side Jinja2 pages, small scripts of our own in ``static/``, and Plotly's
built ``plotly.min.js`` from the ``plotly`` package (never a CDN). docs/ui.md tells the pages.

Modules: ``access`` (session cookie, anti-CSRF), ``security`` (headers on every UI answer),
``pages`` (login, workspaces, experiments), ``runs_api`` (the runs page and its JSON),
``run_page`` and ``run_api`` (a run's page), ``series``, ``series_cache`` and ``downsample``
(metric charts), ``compare`` (the compare page), ``answers`` (strict JSON for the pages'
scripts). The JSON the pages' scripts read is under ``/ui/api/w/<workspace>``.
"""

from __future__ import annotations

from fastapi import FastAPI

from runyard.server.ui import compare, pages, run_api, run_page, runs_api, security, series


def install_ui(app: FastAPI) -> None:
    """Add the UI's routes, static files and headers to the server's app."""
    security.install(app)
    pages.install(app)
    app.include_router(run_api.router)
    app.include_router(run_page.router)
    app.include_router(runs_api.router)
    app.include_router(runs_api.page_router)
    app.include_router(series.router)
    compare.install(app)
