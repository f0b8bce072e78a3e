"""``runyard runs export``: one row per run (attributes, tags, properties, metric summaries) as
CSV, JSON or JSON Lines, without pandas.

The runs are read page by page and spooled to a temporary file while their columns are
collected (a CSV header needs every column before the first row); the output is then written
from the spool, so that memory stays flat however many runs there are. ``-o FILE`` is written
whole or not at all: into a temporary file beside it, renamed at the end.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click

from runyard.capture.error import format_time
from runyard.cli._context import CliState, pass_state
from runyard.cli._output import jsonable, print_note
from runyard.cli._query import build_query, iter_pages, query_options, warn_if_only_children
from runyard.entities import RunInfo
from runyard.runners.liveness import sweep_dead_runs
from runyard.sdk.queries import runs_table

FORMATS = ("csv", "json", "jsonl")
TIME_COLUMNS = ("created_time", "start_time", "end_time", "deleted_time")
METRIC_SUFFIXES = ("", ".min", ".max")


class _Spool:
    """The rows of the runs read so far, in a temporary file, and the columns they use."""

    def __init__(self, file: IO[str]) -> None:
        self.file = file
        self.count = 0
        self.attributes = list(runs_table([]))
        self.tags: set[str] = set()
        self.properties: set[str] = set()
        self.metrics: set[str] = set()

    def add(self, page: list[RunInfo]) -> None:
        table = runs_table(page)
        for info in page:
            self.tags.update(f"tags.{key}" for key in info.tags)
            self.properties.update(f"properties.{key}" for key in info.properties)
            self.metrics.update(info.metrics or {})
        for index in range(len(page)):
            row = {name: values[index] for name, values in table.items()}
            for name in TIME_COLUMNS:
                row[name] = format_time(row[name])
            self.file.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.count += len(page)

    def columns(self) -> list[str]:
        """Attributes, then ``tags.*``, ``properties.*`` and each metric's last, min, max."""
        metrics = [f"metrics.{m}{s}" for m in sorted(self.metrics) for s in METRIC_SUFFIXES]
        return [*self.attributes, *sorted(self.tags), *sorted(self.properties), *metrics]

    def rows(self) -> Iterator[dict[str, Any]]:
        self.file.seek(0)
        for line in self.file:
            yield json.loads(line)


def _csv_cell(value: Any) -> Any:
    """Text and numbers as they are (floats in full: ``repr``), lists and dicts as JSON."""
    if isinstance(value, dict | list):
        return json.dumps(jsonable(value), ensure_ascii=False)
    return value


def _write(spool: _Spool, fmt: str, out: IO[str]) -> None:
    columns = spool.columns()
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in spool.rows():
            writer.writerow([_csv_cell(row.get(name)) for name in columns])
        return
    if fmt == "json":
        out.write("[")
    for index, row in enumerate(spool.rows()):
        record = jsonable({name: row.get(name) for name in columns})
        text = json.dumps(record, ensure_ascii=False, allow_nan=False)
        if fmt == "json":
            out.write(("\n  " if index == 0 else ",\n  ") + text)
        else:
            out.write(text + "\n")
    if fmt == "json":
        out.write("\n]\n" if spool.count else "]\n")


@contextlib.contextmanager
def _destination(path: Path | None) -> Iterator[IO[str]]:
    """stdout, or a temporary file beside ``path`` renamed to it when all went well."""
    if path is None:
        yield sys.stdout
        return
    folder = path.resolve().parent
    if not folder.is_dir():
        raise click.BadParameter(f"folder {folder} does not exist.", param_hint="'--output'")
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            yield file
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


@click.command("export")
@query_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS, case_sensitive=False),
    default="csv",
    show_default=True,
    help="csv (a header row, then one row per run), json (a list of objects) or jsonl (one "
    "object per line).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (written whole or not at all) instead of stdout.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=0,
    help="Export at most this many runs (default 0: all).",
)
@pass_state
def export_runs(
    state: CliState, /, fmt: str, output: Path | None, limit: int, **options: Any
) -> None:
    """Export runs as a table: one row per run with its attributes, tags.*, properties.* and
    metrics.NAME (last value), metrics.NAME.min and metrics.NAME.max columns.

    Runs are chosen and ordered as by runs list (newest first unless --sort), all of them
    unless --limit.
    """
    fmt = fmt.lower()
    query = build_query(**options, include_metrics=True)
    workspace = state.workspace
    sweep_dead_runs(workspace.store)
    with tempfile.TemporaryFile("w+", encoding="utf-8") as file:
        spool = _Spool(file)
        for page in iter_pages(workspace, query, limit):
            spool.add(page)
        if not spool.count:
            warn_if_only_children(workspace, query)
        with _destination(output) as out:
            _write(spool, fmt, out)
    if output is not None:
        runs = f"{spool.count} run{'s' if spool.count != 1 else ''}"
        print_note(f"Exported {runs} ({len(spool.columns())} columns) to {output}.")
