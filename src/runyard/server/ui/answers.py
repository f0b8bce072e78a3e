"""The JSON the UI's scripts read: strict JSON that a browser's ``JSON.parse`` accepts.

The API's own JSON (``store.wire``) writes NaN and infinities as ``NaN``/``Infinity``, which
Python reads back but browsers refuse; metric values hold them. Here they travel as their names
in strings, and answers are never cached (they show runs as they are now).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response


def plain(value: Any) -> Any:
    """``value`` with what JSON cannot hold (NaN, infinities) as strings ("NaN", "Infinity",
    "-Infinity"), mappings as dicts with string keys, tuples as lists."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def json_response(content: Any, status: int = 200) -> Response:
    """``content`` (made ``plain``) as strict JSON, ``Cache-Control: no-store``."""
    body = json.dumps(
        plain(content), ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=str
    )
    return Response(
        body, status, media_type="application/json", headers={"Cache-Control": "no-store"}
    )
