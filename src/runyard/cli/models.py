"""``runyard models ...``: the registered models of the workspace (``runyard.Model``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from runyard.capture.error import format_time
from runyard.cli._context import CliState, pass_state
from runyard.cli._output import add_row, local_time, new_table, out_console, print_json, print_line
from runyard.cli._query import _key_filters
from runyard.entities import ModelVersionInfo, TagFilter
from runyard.sdk.model import Model, parse_model_id


@click.group()
def models() -> None:
    """Registered models: named, versioned files (run.register_model, Model.register)."""


def _record(info: ModelVersionInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "version": info.version,
        "id": info.id,
        "created_time": format_time(info.created_time),
        "description": info.description,
        "run_id": info.run_id,
        "experiment_name": info.experiment_name,
        "root": info.root,
        "files": [{"path": f.path, "size": f.size, "digest": f.digest} for f in info.files],
        "tags": dict(info.tags),
        "properties": dict(info.properties),
    }


def _labels(values: Any) -> str:
    return ", ".join(f"{k}={v}" for k, v in dict(values).items())


@models.command("list")
@click.option("--name", metavar="NAME", help="Only the versions of this model.")
@click.option(
    "--tag",
    "tags",
    multiple=True,
    metavar="K[=V]",
    callback=_key_filters,
    help="Only versions that have tag K (with value V). Repeat to require several.",
)
@click.option(
    "--property",
    "properties",
    multiple=True,
    metavar="K[=V]",
    callback=_key_filters,
    help="Only versions that have property K (with value V). Repeat to require several.",
)
@click.option("--run-id", metavar="RUN_ID", help="Only the versions this run registered.")
@click.option("--latest", is_flag=True, help="Only the latest version of each model.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (a list of objects).")
@pass_state
def list_models(
    state: CliState,
    name: str | None,
    tags: tuple[TagFilter, ...],
    properties: tuple[TagFilter, ...],
    run_id: str | None,
    latest: bool,
    as_json: bool,
) -> None:
    """List registered model versions, by name then newest version first."""
    tag_pairs = [[f.key, f.value] if f.match_value else f.key for f in tags]
    property_pairs = [[f.key, f.value] if f.match_value else f.key for f in properties]
    found = Model.list(
        state.workspace,
        name=name,
        tags=tag_pairs or None,
        properties=property_pairs or None,
        run_id=run_id,
        latest=latest,
    )
    if as_json:
        print_json([_record(m._info) for m in found])
        return
    if not found:
        print_line("No registered models found.")
        return
    table = new_table("Name", "Version", "Created", "Run", "Tags")
    table.columns[1].justify = "right"
    for model in found:
        info = model._info
        created = local_time(info.created_time)
        add_row(table, info.name, str(info.version), created, info.run_id or "", _labels(info.tags))
    out_console().print(table)


@models.command("show")
@click.argument("model")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object).")
@pass_state
def show_model(state: CliState, model: str, as_json: bool) -> None:
    """Show MODEL (NAME for its latest version, or NAME:VERSION): its run, tags, properties
    and files."""
    name, version = parse_model_id(model)
    info = Model(state.workspace, name, version=version)._info
    if as_json:
        print_json(_record(info))
        return
    grid = new_table("Field", "Value", title=f"Model {info.id}")
    for label, value in (
        ("Name", info.name),
        ("Version", str(info.version)),
        ("Created", local_time(info.created_time)),
        ("Description", info.description or ""),
        ("Run", info.run_id or ""),
        ("Experiment", info.experiment_name or ""),
        ("Tags", _labels(info.tags)),
        ("Properties", _labels(info.properties)),
    ):
        if value:
            add_row(grid, label, value)
    files = new_table("Path", "Size", title="Files")
    files.columns[1].justify = "right"
    for file in info.files:
        add_row(files, file.path, str(file.size))
    out_console().print(grid)
    out_console().print(files)


@models.command("download")
@click.argument("model")
@click.option(
    "--target-dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("."),
    show_default=True,
    help="The folder to download into.",
)
@click.option("--exist-ok", is_flag=True, help="Overwrite files that exist already.")
@pass_state
def download_model(state: CliState, model: str, target_dir: Path, exist_ok: bool) -> None:
    """Download the files of MODEL (NAME for its latest version, or NAME:VERSION); print the
    path of its root (its file, for a one-file model)."""
    name, version = parse_model_id(model)
    found = Model(state.workspace, name, version=version)
    print_line(found.download(str(target_dir), exist_ok=exist_ok))
