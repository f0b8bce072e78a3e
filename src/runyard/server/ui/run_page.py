"""A run's page, ``/ui/w/<workspace>/r/<run_id>``: the run as it is when the page is served (a
JSON data island), which ``static/run.js`` draws and keeps current from ``run_api``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from runyard.errors import RunNotFoundError
from runyard.server.control import Role
from runyard.server.ui.access import UI_PREFIX, UiReader
from runyard.server.ui.answers import plain
from runyard.server.ui.pages import render
from runyard.server.ui.run_api import run_json

router = APIRouter(include_in_schema=False)


@router.get(f"{UI_PREFIX}/w/{{workspace}}/r/{{run_id}}")
def run_page(request: Request, run_id: str, access: UiReader) -> Response:
    """The run's page; a run that does not exist gets a page saying so (404)."""
    try:
        info = access.store.get_run(run_id)
    except RunNotFoundError as missing:
        return render(
            request,
            "run.html",
            status_code=404,
            workspace=access.workspace,
            run=None,
            missing=str(missing),
            run_id=run_id,
        )
    data = {
        "workspace": access.workspace,
        "run": run_json(info),
        "can_write": access.role.rank >= Role.WRITER.rank,
    }
    return render(
        request,
        "run.html",
        workspace=access.workspace,
        run=info,
        run_id=run_id,
        page_data=plain(data),  # the template writes it with |tojson (HTML-safe)
    )
