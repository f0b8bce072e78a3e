"""``runyard compute ...``: the workspace's compute targets (``local`` and attached ones)."""

from __future__ import annotations

from typing import Any

import click

from runyard.cli._context import CliState, pass_state
from runyard.cli._output import add_row, new_table, out_console, print_json, print_line
from runyard.sdk.compute import ComputeTarget, RayCluster


@click.group()
def compute() -> None:
    """Compute targets: where submitted scripts run (local, or an attached Ray cluster)."""


def _record(target: ComputeTarget) -> dict[str, Any]:
    return {"name": target.name, "type": target.type, "address": target.address}


@compute.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list of objects).")
@pass_state
def list_compute(state: CliState, as_json: bool) -> None:
    """List the compute targets: local and the attached ones."""
    targets = list(state.workspace.compute_targets.values())
    if as_json:
        print_json([_record(t) for t in targets])
        return
    table = new_table("Name", "Type", "Address")
    for target in targets:
        add_row(table, target.name, target.type, target.address or "")
    out_console().print(table)


@compute.command("attach")
@click.argument("name")
@click.option(
    "--ray",
    "address",
    required=True,
    metavar="URL",
    help="A Ray cluster's dashboard URL (its Job Submission API), e.g. http://127.0.0.1:8265.",
)
@pass_state
def attach_compute(state: CliState, name: str, address: str) -> None:
    """Attach the Ray cluster at URL under NAME (then: runyard submit --target NAME)."""
    target = state.workspace.attach_compute(name, RayCluster(address=address))
    print_line(f"Attached {target.name} ({target.type}, {target.address}).")


@compute.command("detach")
@click.argument("name")
@pass_state
def detach_compute(state: CliState, name: str) -> None:
    """Detach the compute target NAME (its runs stay)."""
    state.workspace.detach_compute(name)
    print_line(f"Detached {name}.")
