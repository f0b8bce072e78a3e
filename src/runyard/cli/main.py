"""The ``runyard`` command: global options, the command groups, and error handling.

Every ``RunyardError`` becomes one red line on stderr and exit code 1, never a traceback; a
missing workspace or a wrong option exits with code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from runyard._version import __version__
from runyard.cli._context import CliError, CliState
from runyard.cli.compute import compute
from runyard.cli.db import db
from runyard.cli.environments import environments
from runyard.cli.experiments import experiments
from runyard.cli.models import models
from runyard.cli.runs import runs
from runyard.cli.server import server
from runyard.cli.submit import submit
from runyard.cli.sync import sync
from runyard.cli.ui import ui
from runyard.errors import RunyardError
from runyard.settings import TRACKING_URI_ENV


class RunyardGroup(click.Group):
    """The top-level group: it closes the workspace and turns runyard errors into messages."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            try:
                return super().invoke(ctx)
            finally:
                # Closing flushes metrics, which can fail too: inside the try, so it is reported.
                if isinstance(ctx.obj, CliState):
                    ctx.obj.close()
        except RunyardError as exc:
            raise CliError(exc.message) from exc


@click.group("runyard", cls=RunyardGroup)
@click.option(
    "--workspace",
    "workspace_path",
    type=click.Path(path_type=Path),
    metavar="PATH",
    help=(
        "A folder containing .runyard/ (or a config file). Default: the first .runyard/config.json "
        f"from the current folder upward. {TRACKING_URI_ENV}, when set, wins over both."
    ),
)
@click.version_option(__version__, "--version", prog_name="runyard", message="%(prog)s %(version)s")
@click.pass_context
def main(ctx: click.Context, workspace_path: Path | None) -> None:
    """Submit scripts; list, inspect, tag, cancel and delete the experiments and runs of a
    workspace."""
    ctx.obj = CliState(workspace_path)


main.add_command(db)
main.add_command(environments)
main.add_command(compute)
main.add_command(experiments)
main.add_command(models)
main.add_command(runs)
main.add_command(server)
main.add_command(submit)
main.add_command(sync)
main.add_command(ui)


if __name__ == "__main__":  # python -m runyard.cli.main
    main(prog_name="runyard")
