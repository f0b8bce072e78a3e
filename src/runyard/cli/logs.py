"""``runyard runs logs``: print, follow or list the logs of a run: a submitted run's script
output, an interactive run's ``with`` blocks' output.

Logs are printed as the bytes the run wrote, so that ``runyard runs logs RUN_ID > out.txt``
keeps them exactly.
"""

from __future__ import annotations

import sys
import time

import click

from runyard.cli._context import EXIT_INTERRUPTED, CliError, CliState, pass_state
from runyard.cli._output import add_row, new_table, out_console, print_line, print_note
from runyard.entities import RunStatus
from runyard.runners.supervisor import STD_LOG
from runyard.sdk.run import Run
from runyard.sdk.script_run import ScriptRun
from runyard.sdk.tee import USER_LOG
from runyard.store.base import Store

FOLLOW_POLL_SECONDS = 0.25


def _write(data: bytes) -> None:
    """The bytes as they are on stdout (decoded only if stdout takes no bytes)."""
    if not data:
        return
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        sys.stdout.write(data.decode(errors="replace"))
        sys.stdout.flush()
        return
    sys.stdout.flush()
    buffer.write(data)
    buffer.flush()


def _status(run: Run) -> RunStatus:
    """The run's status, re-read (for a submitted run, a silent supervisor is noticed)."""
    return RunStatus(run.get_status())


def _follow(store: Store, run: Run, name: str) -> None:
    """Print the log as it grows, until the run ends; Ctrl-C stops following (exit 130)."""
    offset = 0
    try:
        while True:
            # The status first: once it is final, the supervisor has written the whole log.
            status = _status(run)
            data = store.read_log(run.id, name, offset)
            _write(data)
            offset += len(data)
            if status.is_terminal:
                break
            time.sleep(FOLLOW_POLL_SECONDS)
    except KeyboardInterrupt:
        print_note(f"Stopped following; run {run.id} keeps going.")
        click.get_current_context().exit(EXIT_INTERRUPTED)
    print_note(f"Run {run.id} ended {status.value}.")


def _missing(run: Run, name: str, sizes: dict[str, int]) -> None:
    """The log is not there (yet): a note, or an error for a name the run will never have."""
    status = _status(run)
    if status.is_terminal and name not in (STD_LOG, USER_LOG):
        raise CliError(
            f"Run {run.id} has no log {name!r}; its logs are: {', '.join(sizes) or 'none'}. "
            f"See: runyard runs logs {run.id} --list"
        )
    if status.is_terminal:
        print_note(f"Run {run.id} ended {status.value} without writing any output.")
    else:
        print_note(f"Run {run.id} has no {name} yet ({status.value}); --follow waits for it.")


def _list(run: Run, sizes: dict[str, int]) -> None:
    if not sizes:
        print_line(f"Run {run.id} has no logs yet ({_status(run).value}).")
        return
    table = new_table("Log", "Size")
    table.columns[1].justify = "right"
    for name, size in sizes.items():
        add_row(table, name, str(size))
    out_console().print(table)


@click.command("logs")
@click.argument("run_id")
@click.option(
    "--follow",
    "-f",
    is_flag=True,
    help="Keep printing what the run writes until it ends (exit code 0 however it ends).",
)
@click.option(
    "--log",
    "name",
    metavar="NAME",
    help=f"Which log to print. Default: {STD_LOG} ({USER_LOG} for an interactive run).",
)
@click.option("--list", "list_only", is_flag=True, help="List the run's logs and their sizes.")
@pass_state
def logs(state: CliState, run_id: str, follow: bool, name: str | None, list_only: bool) -> None:
    """Print a run's log: by default its script's output (stdout and stderr), or for an
    interactive run what its `with run:` blocks printed.

    Works while the run is running; with --follow, waits for more until the run ends.
    """
    if list_only and (follow or name is not None):
        raise click.UsageError("--list cannot be used with --follow or --log.")
    run = Run.get(state.workspace, run_id)
    sizes = state.workspace.store.list_logs(run.id)
    if not sizes and not isinstance(run, ScriptRun):
        message = (
            f"Run {run.id} has no logs: it is an interactive run (started with start_logging) "
            f"that printed nothing in a `with run:` block (which keeps it in {USER_LOG}). "
            "Submitted runs (runyard submit, experiment.submit) keep their output as logs."
        )
        if list_only:
            print_line(message)
        else:
            print_note(message)
        return
    if list_only:
        _list(run, sizes)
        return
    name = name or (STD_LOG if isinstance(run, ScriptRun) else USER_LOG)
    if follow:
        _follow(state.workspace.store, run, name)
    elif name in sizes:
        _write(state.workspace.store.read_log(run.id, name))
    else:
        _missing(run, name, sizes)
