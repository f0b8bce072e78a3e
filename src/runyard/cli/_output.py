"""How commands print: rich tables for people, JSON for programs, one red line for errors.

Nothing user-provided goes through rich markup (a tag value such as ``[bold]`` is printed as it
is). When stdout is not a terminal (a pipe, a file, click's ``CliRunner``) lines are never
wrapped or cut: the table is as wide as its content.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import click
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from runyard import settings
from runyard.entities import RunStatus

F = TypeVar("F", bound=Callable[..., Any])

UNWRAPPED_WIDTH = 10_000
"""The width given to rich off a terminal, so that nothing wraps or is cut with an ellipsis."""

STATUS_STYLES: Mapping[RunStatus, str] = {
    RunStatus.COMPLETED: "green",
    RunStatus.FAILED: "red",
    RunStatus.CANCELED: "yellow",
    RunStatus.CANCEL_REQUESTED: "yellow",
    RunStatus.RUNNING: "cyan",
    RunStatus.FINALIZING: "cyan",
    RunStatus.NOT_RESPONDING: "magenta",
}
"""Statuses without an entry (not started, queued, preparing...) are dimmed."""


def with_env_names(command: F) -> F:
    """Fill the ``{TOKEN_ENV}``-style fields of a command's docstring (its ``--help``) with the
    variables' names from ``runyard.settings``, the one place they are written. Put it under
    the click decorators."""
    command.__doc__ = (command.__doc__ or "").format_map(vars(settings))
    return command


def _console(stderr: bool) -> Console:
    console = Console(stderr=stderr, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = UNWRAPPED_WIDTH
    return console


def out_console() -> Console:
    """A console on stdout (created per call: click's test runner swaps ``sys.stdout``)."""
    return _console(stderr=False)


def err_console() -> Console:
    """A console on stderr, for errors and notes that must stay out of piped output."""
    return _console(stderr=True)


def print_error(message: str) -> None:
    """One red line on stderr: ``Error: message``."""
    err_console().print(Text(f"Error: {message}", style="red"))


def print_note(message: str) -> None:
    """A dimmed hint on stderr (e.g. that a listing was cut at --limit)."""
    err_console().print(Text(message, style="dim"))


def print_warning(message: str) -> None:
    """A yellow line on stderr, for what the user must know but is not an error."""
    err_console().print(Text(message, style="yellow"))


def print_line(message: str, style: str = "") -> None:
    """One line of result on stdout, printed as it is (no markup)."""
    out_console().print(Text(message, style=style))


def new_table(*headers: str, title: str | None = None) -> Table:
    """A plain table: a header rule, no borders, so that output stays easy to grep."""
    table = Table(
        box=box.SIMPLE_HEAD, show_edge=False, title=title, title_justify="left", pad_edge=False
    )
    for header in headers:
        table.add_column(header)
    return table


def add_row(table: Table, *cells: str | Text) -> None:
    """Add a row whose strings are shown as they are (rich would read ``[...]`` as markup)."""
    table.add_row(*(Text(cell) if isinstance(cell, str) else cell for cell in cells))


# -- values --------------------------------------------------------------------------------------


def status_text(status: RunStatus) -> Text:
    return Text(status.value, style=STATUS_STYLES.get(status, "dim"))


def local_time(seconds: float | None) -> str:
    """``2024-05-01 13:08:01`` in the local time zone ('' when unknown)."""
    if seconds is None:
        return ""
    return dt.datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds: float | None) -> str:
    """``45s``, ``2m 05s``, ``3h 07m``, ``2d 04h`` ('' when unknown)."""
    if seconds is None:
        return ""
    whole = max(0, round(seconds))
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def key_values(values: Mapping[str, str | None]) -> str:
    """``a=1, flag``: a value-less tag shows as its key alone."""
    return ", ".join(key if value is None else f"{key}={value}" for key, value in values.items())


def short(value: Any, width: int = 40) -> str:
    """A value on one line, cut to ``width`` characters (the JSON output has it whole)."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(jsonable(value))
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.6g}"


# -- JSON ----------------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """``value`` with NaN and infinities as the strings "NaN", "Infinity", "-Infinity".

    Python's ``json`` writes them bare, which is not JSON; programs reading ours must not choke.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [jsonable(item) for item in value]
    return value


def print_json(data: Any) -> None:
    """Valid JSON (indented, keys in the order given) on stdout."""
    click.echo(json.dumps(jsonable(data), indent=2, allow_nan=False, ensure_ascii=False))
