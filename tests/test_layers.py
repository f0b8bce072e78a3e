"""The package's imports point one way: cli -> sdk -> runners/logging -> capture -> store ->
query -> entities/errors (and settings, limits); the server uses the store. Every import counts:
at the top, inside a function, or under ``if TYPE_CHECKING:``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import runyard

PACKAGE = Path(runyard.__file__).parent

# The parts of the package, and the parts each may import (itself always).
FOUNDATION = {"errors"}
ALLOWED: dict[str, set[str]] = {
    "_version": set(),
    "errors": set(),
    "exceptions": FOUNDATION,  # Azure ML v1's exception names for runyard's errors
    "settings": FOUNDATION,
    "entities": FOUNDATION,
    "limits": FOUNDATION,
    "query": {"errors", "entities", "limits"},
    "store": {"errors", "settings", "entities", "limits", "query"},
    "capture": {"errors", "settings", "entities", "limits", "store"},
    "logging": {"errors", "settings", "entities", "limits", "store"},
    "runners": {"errors", "settings", "entities", "limits", "store", "capture"},
    "server": {"_version", "errors", "settings", "entities", "limits", "query", "store"},
    "sdk": {"errors", "settings", "entities", "limits", "query", "store", "capture", "logging"}
    | {"runners"},
    "cli": {"_version", *FOUNDATION, "settings", "entities", "limits", "store", "capture", "sdk"}
    | {"logging", "runners", "server", "query"},
    "__init__": {"_version", "errors", "entities", "sdk"},
}


def _part(path: Path) -> str:
    """The part of the package a module belongs to: its subpackage, or its own name."""
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _imported_parts(source: str, relative: Path) -> list[tuple[int, str]]:
    """(line, part) of every import of a part of the package in ``source``, the text of the
    module at ``relative`` (to the package)."""
    found = []
    for node in ast.walk(ast.parse(source, str(relative))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "runyard":  # from runyard import errors, sdk
                names = [f"runyard.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.ImportFrom):  # relative
            base = ["runyard", *relative.parts[:-1]][: len(relative.parts) + 1 - node.level]
            names = [".".join([*base, *([node.module] if node.module else [])])]
        for name in names:
            parts = name.split(".")
            if parts[0] == "runyard" and len(parts) > 1:
                found.append((node.lineno, parts[1]))
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts[-3:-1])


def test_layers_every_part_is_known() -> None:
    assert {_part(p) for p in _modules()} <= set(ALLOWED)


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_layers_no_import_points_up(part: str) -> None:
    upward = [
        f"{path.relative_to(PACKAGE)}:{line} imports runyard.{target}"
        for path in _modules()
        if _part(path) == part
        for line, target in _imported_parts(path.read_text(), path.relative_to(PACKAGE))
        if target != part and target not in ALLOWED[part]
    ]
    assert upward == [], (
        f"runyard.{part} may import only {sorted(ALLOWED[part])}: move what it needs down a layer"
    )


def test_layers_walker_sees_function_local_and_type_checking_imports() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from runyard.sdk.run import Run\n"
        "def f() -> None:\n"
        "    from ..server import app\n"
        "    import runyard.cli.main\n"
        "    from runyard import logging\n"
        "    from . import base\n"
    )
    found = _imported_parts(source, Path("store/probe.py"))
    assert found == [(3, "sdk"), (5, "server"), (6, "cli"), (7, "logging"), (8, "store")]
