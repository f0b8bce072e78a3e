"""Questions asked of many runs: searches that say when only child runs match, and DataFrames
of runs (``filters.checked_query`` builds their queries)."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from runyard.entities import RunInfo, RunQuery
from runyard.errors import ChildRunsMatchWarning, MissingExtraError
from runyard.sdk.run import Run, iterate_runs

if TYPE_CHECKING:
    import pandas

    from runyard.sdk.experiment import Experiment
    from runyard.sdk.workspace import Workspace

DATAFRAME_PAGE_SIZE = 5000


def _narrowed(query: RunQuery) -> bool:
    """Whether the query keeps only some of the experiment's runs."""
    return bool(query.filter or query.tags or query.properties or query.status or query.run_type)


def child_match_hint(workspace: Workspace, query: RunQuery) -> int:
    """How many child runs ``query`` would find with ``include_children`` (0 when it already
    includes them, or is not a filtered top-level search)."""
    if query.include_children or query.parent_run_id or query.root_run_id or not _narrowed(query):
        return 0
    return workspace.store.count_runs(dataclasses.replace(query, include_children=True))


def search(workspace: Workspace, query: RunQuery, experiment: Experiment) -> Iterator[Run]:
    """The runs ``query`` finds, lazily; when a filtered top-level search finds none but child
    runs match, a ``ChildRunsMatchWarning`` says so."""
    found = False
    for run in iterate_runs(workspace, query, experiment):
        found = True
        yield run
    if not found:
        children = child_match_hint(workspace, query)
        if children:
            warnings.warn(
                ChildRunsMatchWarning(
                    f"No top-level runs match; {children} child run"
                    f"{'s do' if children > 1 else ' does'}: add include_children=True."
                ),
                stacklevel=2,
            )


# -- DataFrames ----------------------------------------------------------------------------------

_ATTRIBUTE_COLUMNS = (
    "run_id",
    "experiment_name",
    "number",
    "display_name",
    "status",
    "run_type",
    "parent_run_id",
    "created_time",
    "start_time",
    "end_time",
    "duration",
    "deleted_time",
)
_TIME_COLUMNS = ("created_time", "start_time", "end_time", "deleted_time")


def runs_table(infos: Sequence[RunInfo]) -> dict[str, list[Any]]:
    """Column name to values, one row per run: attributes, then ``tags.*``, ``properties.*``,
    ``metrics.NAME`` (last value), ``metrics.NAME.min`` and ``metrics.NAME.max``."""
    n = len(infos)
    columns: dict[str, list[Any]] = {name: [] for name in _ATTRIBUTE_COLUMNS}
    for info in infos:
        columns["run_id"].append(info.run_id)
        columns["experiment_name"].append(info.experiment_name)
        columns["number"].append(info.number)
        columns["display_name"].append(info.display_name)
        columns["status"].append(info.status.value)
        columns["run_type"].append(info.run_type)
        columns["parent_run_id"].append(info.parent_run_id)
        columns["created_time"].append(info.created_time)
        columns["start_time"].append(info.start_time)
        columns["end_time"].append(info.end_time)
        ended = info.start_time is not None and info.end_time is not None
        columns["duration"].append(info.end_time - info.start_time if ended else None)  # type: ignore[operator]
        columns["deleted_time"].append(info.deleted_time)
    groups: dict[str, dict[str, list[Any]]] = {"tags": {}, "properties": {}, "metrics": {}}

    def put(group: str, name: str, row: int, value: Any) -> None:
        column = groups[group].get(name)
        if column is None:
            column = groups[group][name] = [None] * n
        column[row] = value

    for row, info in enumerate(infos):
        for key, value in info.tags.items():
            put("tags", f"tags.{key}", row, value)
        for key, value in info.properties.items():
            put("properties", f"properties.{key}", row, value)
        for name, series in (info.metrics or {}).items():
            put("metrics", f"metrics.{name}", row, series.last_value)
            put("metrics", f"metrics.{name}.min", row, series.min_value)
            put("metrics", f"metrics.{name}.max", row, series.max_value)
    columns.update(sorted(groups["tags"].items()))
    columns.update(sorted(groups["properties"].items()))
    metric_names = sorted({name for info in infos for name in (info.metrics or {})})
    for name in metric_names:  # each metric's last, min and max side by side
        for suffix in ("", ".min", ".max"):
            columns[f"metrics.{name}{suffix}"] = groups["metrics"][f"metrics.{name}{suffix}"]
    return columns


def runs_dataframe(workspace: Workspace, query: RunQuery) -> pandas.DataFrame:
    """Every run ``query`` finds as a pandas DataFrame (see ``runs_table`` for the columns;
    times are UTC timestamps, duration is in seconds).

    Raises:
        MissingExtraError: pandas is not installed.
    """
    try:
        import pandas
    except ImportError:
        raise MissingExtraError(
            "get_runs_dataframe needs pandas: pip install 'runyard[pandas]'."
        ) from None
    infos: list[RunInfo] = []
    token: str | None = None
    query = dataclasses.replace(query, include_metrics=True, page_size=DATAFRAME_PAGE_SIZE)
    while True:
        page = workspace.store.search_runs(dataclasses.replace(query, page_token=token))
        infos.extend(page.runs)
        token = page.next_page_token
        if token is None:
            break
    frame = pandas.DataFrame(runs_table(infos))
    for name in _TIME_COLUMNS:
        frame[name] = pandas.to_datetime(frame[name], unit="s", utc=True)
    frame["duration"] = frame["duration"].astype("float64")
    return frame
