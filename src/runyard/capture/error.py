"""A run's recorded error, ``{'error': {...}, 'time': ...}``, and the time format it carries.

``fail()`` records one, and so does a supervisor when a script fails or is stopped.
``format_time`` is Azure's time shape, also used by ``get_details()`` and the CLI.
"""

from __future__ import annotations

import datetime as dt
import traceback
from typing import Any

from runyard.errors import InvalidArgumentError

MAX_ERROR_MESSAGE_LENGTH = 3000


def format_time(seconds: float | None) -> str | None:
    """``2024-01-01T13:08:01.713Z``: UTC with milliseconds, as Azure prints it."""
    if seconds is None:
        return None
    stamp = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def _clip(message: str) -> str:
    if len(message) <= MAX_ERROR_MESSAGE_LENGTH:
        return message
    return message[: MAX_ERROR_MESSAGE_LENGTH - 15] + " ...(truncated)"


def build_error(error_details: Any, error_code: str | None, now: float) -> dict[str, Any]:
    """The error recorded by ``fail()``: ``{'error': {...}, 'time': ...}``.

    Raises:
        InvalidArgumentError: ``error_details`` is neither a string nor an exception.
    """
    body: dict[str, Any] = {"code": error_code or "UserError"}
    if error_details is None:
        pass
    elif isinstance(error_details, str):
        body["message"] = _clip(error_details)
    elif isinstance(error_details, BaseException):
        kind = type(error_details).__name__
        body["message"] = _clip(f"User program failed with {kind}: {error_details}")
        stack = "".join(
            traceback.format_exception(
                type(error_details), error_details, error_details.__traceback__
            )
        )
        body["debugInfo"] = {
            "type": kind,
            "message": _clip(str(error_details)),
            "stackTrace": stack[-MAX_ERROR_MESSAGE_LENGTH:],
        }
    else:
        raise InvalidArgumentError("error_details must be instance of string or BaseException.")
    return {"error": body, "time": format_time(now)}
