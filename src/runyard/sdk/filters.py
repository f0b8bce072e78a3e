"""Turning the SDK's filter arguments into store queries, and paging through results."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from runyard.entities import RunQuery, RunStatus, TagFilter
from runyard.errors import InvalidArgumentError

if TYPE_CHECKING:
    from runyard.sdk.experiment import Experiment
    from runyard.sdk.run import Run
    from runyard.sdk.workspace import Workspace

logger = logging.getLogger("runyard")


def as_str(what: str, key: str, value: Any) -> str | None:
    """Tag and property values are strings (or None); anything else becomes ``str(value)``."""
    if value is None or isinstance(value, str):
        return value
    logger.warning("Converting non-string %s to string: (%s: %s)", what, key, value)
    return str(value)


def tag_values(tags: Mapping[str, Any]) -> dict[str, str | None]:
    if not isinstance(tags, Mapping):
        raise InvalidArgumentError(
            f"Tags must be a dict of key to value, got {type(tags).__name__}; for one tag use "
            "run.tag(key, value)."
        )
    return {key: as_str("tag", key, value) for key, value in tags.items()}


def key_filters(what: str, spec: str | Mapping[str, Any] | None) -> tuple[TagFilter, ...]:
    """``"key"`` keeps runs that have the key; ``{"key": value}`` those where it equals value."""
    if spec is None:
        return ()
    if isinstance(spec, str):
        return (TagFilter(key=spec),)
    if isinstance(spec, Mapping):
        return tuple(
            TagFilter(key=k, value=None if v is None else str(v), match_value=True)
            for k, v in spec.items()
        )
    raise InvalidArgumentError(
        f"Unknown filter type for run {what}: {type(spec)}. Pass a key (str) or a dict of key to "
        "value."
    )


def parse_status(status: str | RunStatus | None) -> RunStatus | None:
    if status is None:
        return None
    try:
        return RunStatus.parse(str(status))
    except ValueError as exc:
        raise InvalidArgumentError(str(exc)) from None


def iterate_runs(
    workspace: Workspace, query: RunQuery, experiment: Experiment | None = None
) -> Iterator[Run]:
    """Every run matching ``query``, page by page, as Run objects (lazily)."""
    from runyard.sdk.run import run_from_info

    token: str | None = None
    experiments: dict[str, Experiment] = {}
    if experiment is not None:
        experiments[experiment.name] = experiment
    while True:
        page = workspace.store.search_runs(dataclasses.replace(query, page_token=token))
        for info in page.runs:
            yield run_from_info(workspace, info, experiments)
        token = page.next_page_token
        if token is None:
            return
