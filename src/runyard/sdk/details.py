"""The shapes the SDK returns: times, recorded errors and ``get_details()`` (reference §3)."""

from __future__ import annotations

import datetime as dt
import traceback
from typing import Any

from runyard.entities import RunInfo
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


def run_details(info: RunInfo, log_files: dict[str, str] | None = None) -> dict[str, Any]:
    """``get_details()``: camelCase keys in Azure's order, keys without a value left out."""
    details: dict[str, Any] = {
        "runId": info.run_id,
        "target": info.target,
        "status": info.status.value,
        "startTimeUtc": format_time(info.start_time),
        "endTimeUtc": format_time(info.end_time),
        "error": dict(info.error) if info.error else None,
        "properties": dict(info.properties),
        "inputDatasets": [],
        "outputDatasets": [],
        "runDefinition": dict(info.run_definition) if info.run_definition else None,
        "logFiles": log_files or {},
        "submittedBy": info.submitted_by,
    }
    return {key: value for key, value in details.items() if value is not None}
