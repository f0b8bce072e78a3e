"""Every command has help text and is documented in docs/cli.md, with every option."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from runyard.cli.main import main
from tests.cli.conftest import Invoke

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def _commands(
    command: click.Command, path: tuple[str, ...] = ("runyard",)
) -> Iterator[tuple[str, click.Command]]:
    yield " ".join(path), command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(main))


def test_docs_command_tree_is_complete() -> None:
    assert [path for path, _ in COMMANDS] == [
        "runyard",
        "runyard compute",
        "runyard compute attach",
        "runyard compute detach",
        "runyard compute list",
        "runyard db",
        "runyard db upgrade",
        "runyard environments",
        "runyard environments list",
        "runyard environments show",
        "runyard experiments",
        "runyard experiments list",
        "runyard experiments rename",
        "runyard models",
        "runyard models download",
        "runyard models list",
        "runyard models show",
        "runyard runs",
        "runyard runs cancel",
        "runyard runs compare",
        "runyard runs delete",
        "runyard runs export",
        "runyard runs list",
        "runyard runs logs",
        "runyard runs metrics",
        "runyard runs restore",
        "runyard runs show",
        "runyard runs tag",
        "runyard runs untag",
        "runyard server",
        "runyard server tokens",
        "runyard server tokens create",
        "runyard server tokens list",
        "runyard server tokens revoke",
        "runyard server workspaces",
        "runyard server workspaces create",
        "runyard server workspaces list",
        "runyard submit",
        "runyard sync",
        "runyard ui",
    ]


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_docs_command_has_help(path: str, command: click.Command) -> None:
    assert command.help and command.help.strip(), path
    for param in command.params:
        if isinstance(param, click.Option) and param.name != "help":
            assert param.help, f"{path} {param.opts}"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[p for p, _ in COMMANDS])
def test_docs_command_is_in_cli_md(path: str, command: click.Command) -> None:
    text = DOC.read_text()
    if isinstance(command, click.Group) and path != "runyard":
        assert f"`{path} " in text, path
        return
    if path != "runyard":
        assert f"## `{path}`" in text, f"{path} has no section in docs/cli.md"
    for param in command.params:
        for opt in param.opts if isinstance(param, click.Option) else ():
            if opt != "--help":
                assert opt in text, f"{path} {opt} is not in docs/cli.md"


def test_docs_every_command_help_renders(cli: Invoke) -> None:
    for path, _ in COMMANDS:
        result = cli(*path.split()[1:], "--help")
        assert result.exit_code == 0, path
        assert result.stdout.startswith(f"Usage: {path} "), path
