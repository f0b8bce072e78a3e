"""``get_details()``: the shape the SDK returns for a run (reference §3).

Times and recorded errors are built in ``runyard.capture.error``, shared with the runners.
"""

from __future__ import annotations

from typing import Any

from runyard.capture.error import format_time
from runyard.entities import RunInfo, RunStatus


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


_WAITING = {
    RunStatus.NOT_STARTED: "The run has been created and not started.",
    RunStatus.QUEUED: "The run waits for a free place in the local run queue.",
    RunStatus.STARTING: "The run's supervisor is starting its script.",
    RunStatus.PREPARING: "The run's environment is being built (its build log: "
    "system_logs/environment_build.txt).",
    RunStatus.CANCEL_REQUESTED: "The run is being cancelled.",
    RunStatus.FINALIZING: "The script has ended; its outputs are being uploaded.",
    RunStatus.NOT_RESPONDING: "The run's process has missed its heartbeats.",
}
"""``get_detailed_status``'s details of the statuses that need one."""


def detailed_status(info: RunInfo) -> dict[str, Any]:
    """``get_detailed_status()``: the status, with why the run waits or how it failed."""
    details = _WAITING.get(info.status)
    if info.status is RunStatus.FAILED and info.error:
        error = info.error.get("error", info.error)
        details = str(error.get("message", "")) or None
    return {"status": info.status.value, "details": details}
