"""``runyard environments ...``: the environments registered in the workspace."""

from __future__ import annotations

from typing import Any

import click

from runyard.capture.error import format_time
from runyard.cli._context import CliState, pass_state
from runyard.cli._output import add_row, local_time, new_table, out_console, print_json, print_line
from runyard.entities import EnvironmentInfo
from runyard.sdk.environment import Environment


@click.group()
def environments() -> None:
    """Environments: the packages submitted scripts run with (env.register(workspace))."""


def split_reference(reference: str) -> tuple[str, str | None]:
    """``NAME[:VERSION]`` as (name, version or None)."""
    name, sep, version = reference.rpartition(":")
    if sep and version.isascii() and version.isdigit() and name:
        return name, version
    return reference, None


def _packages(info: EnvironmentInfo) -> dict[str, Any]:
    env = Environment._deserialize(info.definition)
    conda = env.python.conda_dependencies
    return {
        "user_managed_dependencies": env.python.user_managed_dependencies,
        "interpreter_path": env.python.interpreter_path,
        "python_version": conda.get_python_version() if conda else None,
        "pip_packages": conda.pip_packages if conda else [],
        "conda_packages": conda.conda_packages if conda else [],
        "environment_variables": dict(env.environment_variables),
    }


def _record(info: EnvironmentInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "version": info.version,
        "created_time": format_time(info.created_time),
        **_packages(info),
        "definition": dict(info.definition),
    }


@environments.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list of objects).")
@pass_state
def list_environments(state: CliState, as_json: bool) -> None:
    """List registered environments by name, each at its latest version."""
    infos = state.workspace.store.list_environments()
    if as_json:
        print_json([_record(info) for info in infos])
        return
    if not infos:
        print_line("No environments registered (env.register(workspace) registers one).")
        return
    table = new_table("Name", "Version", "Python", "Packages", "Registered")
    for info in infos:
        packages = _packages(info)
        shown = (
            "user-managed"
            if packages["user_managed_dependencies"]
            else ", ".join(packages["pip_packages"] + packages["conda_packages"])
        )
        python = packages["python_version"] or ""
        add_row(table, info.name, info.version, python, shown, local_time(info.created_time))
    out_console().print(table)


@environments.command("show")
@click.argument("reference", metavar="NAME[:VERSION]")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object).")
@pass_state
def show_environment(state: CliState, reference: str, as_json: bool) -> None:
    """Show a registered environment (its latest version unless NAME:VERSION) and the
    versions it has."""
    name, version = split_reference(reference)
    store = state.workspace.store
    info = store.get_environment(name, version)
    if as_json:
        print_json(_record(info))
        return
    packages = _packages(info)
    versions = [v.version for v in store.list_environments(name)]
    table = new_table("Field", "Value", title=f"Environment {info.name}:{info.version}")
    add_row(table, "Versions", ", ".join(versions))
    add_row(table, "Registered", local_time(info.created_time))
    add_row(table, "User-managed", "yes" if packages["user_managed_dependencies"] else "no")
    if packages["user_managed_dependencies"]:
        add_row(table, "Interpreter", packages["interpreter_path"])
    add_row(table, "Python", packages["python_version"] or "(current)")
    add_row(table, "Pip packages", "\n".join(packages["pip_packages"]) or "-")
    add_row(table, "Conda packages", "\n".join(packages["conda_packages"]) or "-")
    variables = packages["environment_variables"]
    add_row(table, "Variables", "\n".join(f"{k}={v}" for k, v in variables.items()) or "-")
    out_console().print(table)
