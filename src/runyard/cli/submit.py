"""``runyard submit``: run a script as a submitted run, as ``experiment.submit`` does.

The command builds a ``ScriptRunConfig``, submits it and prints the run id at once; with
``--wait`` it streams the run's log until the run ends and exits with the run's outcome.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import click

from runyard.cli._context import EXIT_INTERRUPTED, CliError, CliState, pass_state
from runyard.cli._output import print_json, print_line, print_note, print_warning
from runyard.cli.environments import split_reference
from runyard.entities import RunStatus
from runyard.errors import ActivityFailedError
from runyard.limits import EXPERIMENT_NAME_RE
from runyard.sdk.environment import Environment
from runyard.sdk.experiment import Experiment
from runyard.sdk.script_run import ScriptRun
from runyard.sdk.script_run_config import ScriptRunConfig

DEFAULT_EXPERIMENT = "default"
"""The experiment of a source folder whose name has no letter or digit (such as ``/``)."""


def experiment_name_for(folder: Path) -> str:
    """The folder's name made a valid experiment name: ``my project.v2`` -> ``my-project-v2``."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", folder.name).lstrip("-_")[:255].rstrip("-")
    return name if EXPERIMENT_NAME_RE.fullmatch(name) else DEFAULT_EXPERIMENT


def _tags(
    ctx: click.Context, param: click.Parameter, specs: tuple[str, ...]
) -> dict[str, str | None]:
    """``K`` is a value-less tag, ``K=V`` a tag with a value (everything after the first '=')."""
    tags: dict[str, str | None] = {}
    for spec in specs:
        key, sep, value = spec.partition("=")
        if not key:
            raise click.BadParameter(f"{spec!r} has no key; use K or K=V.", ctx, param)
        tags[key] = value if sep else None
    return tags


def _variables(
    ctx: click.Context, param: click.Parameter, specs: tuple[str, ...]
) -> dict[str, str]:
    variables: dict[str, str] = {}
    for spec in specs:
        key, sep, value = spec.partition("=")
        if not key or not sep:
            raise click.BadParameter(f"{spec!r} is not K=V.", ctx, param)
        variables[key] = value
    return variables


def _script_in(source: Path, script: str) -> str:
    """The script relative to the source folder when given as an absolute path inside it.

    The run executes a copy of the source folder; an absolute path would name the original.
    """
    path = Path(script)
    if path.is_absolute() and path.resolve().is_relative_to(source):
        return str(path.resolve().relative_to(source))
    return script


def _record(run: ScriptRun) -> dict[str, Any]:
    return {"run_id": run.id, "experiment": run.experiment.name, "status": run.status}


def _ending(run: ScriptRun, details: dict[str, Any]) -> str:
    """Why a waited-for run did not complete, in one line."""
    error = (details.get("error") or {}).get("error") or {}
    message = error.get("message") or error.get("code")
    if run.status == RunStatus.FAILED:
        return f"Run {run.id} failed: {message or 'no error was recorded.'}"
    return f"Run {run.id} ended {run.status}" + (f": {message}" if message else ".")


def _wait(run: ScriptRun, as_json: bool) -> None:
    """Stream the run's log until it ends; exit 1 unless it Completed, 130 on Ctrl-C."""
    try:
        try:
            details = run.wait_for_completion(
                show_output=True, file=sys.stderr if as_json else sys.stdout
            )
        except ActivityFailedError:
            details = run.get_details()
    except KeyboardInterrupt:
        print_warning(
            f"Stopped waiting; run {run.id} keeps running. Follow it with: runyard runs logs "
            f"{run.id} --follow. Cancel it with: runyard runs cancel {run.id}"
        )
        click.get_current_context().exit(EXIT_INTERRUPTED)
    if as_json:
        print_json(_record(run))
    if run.status != RunStatus.COMPLETED:
        raise CliError(_ending(run, details))


@click.command("submit", short_help="Submit a script as a run; print its id or wait for it.")
@click.argument("script")
@click.argument("arguments", metavar="[-- ARGS...]", nargs=-1, type=click.UNPROCESSED)
@click.option(
    "--experiment",
    "-e",
    metavar="NAME",
    help="The run's experiment (created if needed). Default: the source folder's name.",
)
@click.option(
    "--source-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("."),
    metavar="DIR",
    help="The folder snapshotted with the run and holding SCRIPT. Default: the current folder.",
)
@click.option(
    "--wait",
    is_flag=True,
    help=(
        "Stream the run's log until it ends; exit 0 if it Completed, 1 if not, 130 on Ctrl-C "
        "(the run keeps going)."
    ),
)
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="K[=V]",
    callback=_tags,
    help="Tag the run with K (value V). Repeat for several.",
)
@click.option(
    "--env",
    "variables",
    multiple=True,
    metavar="K=V",
    callback=_variables,
    help="Set environment variable K to V for the script. Repeat for several.",
)
@click.option(
    "--environment",
    "environment",
    metavar="NAME[:VERSION]",
    help="Run with this registered environment (its latest version unless :VERSION); "
    "see `runyard environments list`.",
)
@click.option(
    "--target",
    default="local",
    show_default=True,
    metavar="NAME",
    help="The compute target to run on: local, or one attached with `runyard compute attach`.",
)
@click.option(
    "--max-duration",
    type=click.IntRange(min=1),
    metavar="SECONDS",
    help="Stop the run (Canceled) when it runs longer than this. Default: 30 days.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object).")
@pass_state
def submit(
    state: CliState,
    script: str,
    arguments: tuple[str, ...],
    experiment: str | None,
    source_dir: Path,
    wait: bool,
    tags: dict[str, str | None],
    variables: dict[str, str],
    environment: str | None,
    target: str,
    max_duration: int | None,
    as_json: bool,
) -> None:
    """Submit SCRIPT (a Python file inside --source-dir) as a run, and print its id.

    The source folder is snapshotted and the script runs in a copy of it, under a supervisor
    process that outlives this command. Arguments for the script go after --, for example:

    \b
        runyard submit train.py -- --lr 0.1
    """
    workspace = state.workspace
    source = source_dir.resolve()
    env = None
    if environment is not None:
        env = Environment.get(workspace, *split_reference(environment))
    config = ScriptRunConfig(
        source_dir,
        _script_in(source, script),
        list(arguments),
        environment=env,
        compute_target=target,
    )
    config.run_config.environment_variables.update(variables)
    if max_duration is not None:
        config.run_config.max_run_duration_seconds = max_duration
    name = experiment if experiment is not None else experiment_name_for(source)
    run = Experiment(workspace, name).submit(config, tags=tags)
    if wait:
        _wait(run, as_json)
    elif as_json:
        print_json(_record(run))
    else:
        print_line(run.id)
        print_note(
            f"Submitted {script} to experiment {name} ({run.status}). "
            f"Follow it with: runyard runs logs {run.id} --follow"
        )
