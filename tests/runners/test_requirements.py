"""runners.environments.CORE_REQUIREMENTS (what a built environment gets when runyard's
installed metadata is missing) is pyproject's ``dependencies``: a new dependency goes in both."""

from __future__ import annotations

import tomllib
from pathlib import Path

from runyard.runners.environments import CORE_REQUIREMENTS

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_core_requirements_are_pyprojects_dependencies() -> None:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    assert list(CORE_REQUIREMENTS) == project["dependencies"]
