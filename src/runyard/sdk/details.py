"""``get_details()``: the shape the SDK returns for a run (reference §3).

Times and recorded errors are built in ``runyard.capture.error``, shared with the runners.
"""

from __future__ import annotations

from typing import Any

from runyard.capture.error import format_time
from runyard.entities import RunInfo


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
