"""``runyard runs metrics RUN NAME``: every point of one metric, with a sparkline of its values."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import click
from rich.text import Text

from runyard.capture.error import format_time
from runyard.cli._context import CliState, pass_state
from runyard.cli._output import (
    add_row,
    local_time,
    new_table,
    number,
    out_console,
    print_json,
    print_note,
    short,
)
from runyard.entities import MetricHistory
from runyard.sdk.run import Run

BLOCKS = "▁▂▃▄▅▆▇█"
SPARKLINE_WIDTH = 60
"""The most characters a sparkline takes; a longer series is drawn in buckets (their means)."""


def _finite(value: Any) -> float | None:
    """``value`` as a float when it is a finite number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def sparkline(values: Sequence[Any], width: int = SPARKLINE_WIDTH) -> str:
    """The values drawn with ``BLOCKS``, lowest to highest, at most ``width`` characters.

    With more values than ``width``, each character is the mean of a run of consecutive values.
    A value that is not a finite number (NaN, a string) is a space, as is a bucket holding only
    such values; '' when there is no finite number at all.

    Args:
        values: the series, in logging order.
        width: the most characters to draw (at least 1).

    Returns:
        The sparkline.
    """
    points = [_finite(value) for value in values]
    width = max(1, width)
    if len(points) > width:
        buckets: list[float | None] = []
        for index in range(width):
            chunk = points[index * len(points) // width : (index + 1) * len(points) // width]
            finite = [p for p in chunk if p is not None]
            mean = math.fsum(finite) / len(finite) if finite else None
            buckets.append(mean if mean is not None and math.isfinite(mean) else None)
        points = buckets
    finite = [p for p in points if p is not None]
    if not finite:
        return ""
    low, high = min(finite) / 2, max(finite) / 2  # halved: high - low stays finite
    top = len(BLOCKS) - 1
    chars = []
    for point in points:
        if point is None:
            chars.append(" ")
        elif high == low:
            chars.append(BLOCKS[top // 2])
        else:
            chars.append(BLOCKS[round((point / 2 - low) / (high - low) * top)])
    return "".join(chars)


def _value_text(value: Any) -> str:
    if isinstance(value, float):
        return number(value)
    return short(value) if value is not None else ""


def _summary(history: MetricHistory) -> str:
    finite = [f for f in (_finite(v) for v in history.values) if f is not None]
    count = f"{len(history)} value{'s' if len(history) != 1 else ''}"
    if not finite:
        return count
    low, high = number(min(finite)), number(max(finite))
    return f"min {low}  max {high}  last {_value_text(history.last)}  ({count})"


@click.command("metrics")
@click.argument("run_id")
@click.argument("name")
@click.option(
    "--sparkline/--no-sparkline",
    "draw",
    default=None,
    help="Draw the values as a line of ▁▂▃▄▅▆▇█ above the table (default: when stdout is a "
    "terminal).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object).")
@pass_state
def metric_history(
    state: CliState, run_id: str, name: str, draw: bool | None, as_json: bool
) -> None:
    """Show every point of metric NAME of a run: its position, step, value and time, in
    logging order."""
    history = Run.get(state.workspace, run_id).get_metric_history(name)
    if as_json:
        print_json(
            {
                "run_id": history.run_id,
                "name": history.name,
                "kind": history.kind.value,
                "value_type": history.value_type.value,
                "description": history.description,
                "points": [
                    {"step": step, "value": value, "time": format_time(time)}
                    for step, value, time in zip(
                        history.steps, history.values, history.times, strict=True
                    )
                ],
            }
        )
        return
    console = out_console()
    if draw is None:
        draw = console.is_terminal
    if draw:
        line = sparkline(history.values)
        if line:
            console.print(Text(f"{history.name}  ", style="bold") + Text(line, style="cyan"))
            console.print(Text(_summary(history), style="dim"))
            console.print()
        else:
            print_note(f"No sparkline: metric {history.name!r} holds no finite number.")
    table = new_table("#", "Step", "Value", "Time")
    for index in range(3):
        table.columns[index].justify = "right"
    points = zip(history.steps, history.values, history.times, strict=True)
    for index, (step, value, time) in enumerate(points):
        step_text = "" if step is None else str(step)
        add_row(table, str(index), step_text, _value_text(value), local_time(time))
    console.print(table)
