"""The JSON the UI's scripts read and the changes they make, under ``/ui/api/w/<workspace>``.

Reads need a session with any role in the workspace (``UiReader``); changes a writer's session
and the page's anti-CSRF header (``UiWriter``). Errors are the API's: ``{"error": {"code",
"message"}}`` with the error class's status.
"""

from __future__ import annotations

from fastapi import APIRouter

from runyard.server.ui.access import UI_PREFIX

router = APIRouter(prefix=f"{UI_PREFIX}/api/w/{{workspace}}", include_in_schema=False)
