"""Where ``Workspace.from_config()`` finds a workspace's config, or puts a new workspace.

A runyard workspace is named by ``.runyard/config.json`` in a folder or one above it. When there
is none, the new workspace goes at the top of the enclosing git repository, so that
``python proj/train.py`` and ``cd proj && python train.py`` use the same one; without a git
repository, next to an Azure ML config found above (``.azureml/config.json``: the folder Azure
treats as the project's); else in the folder the search started from.
"""

from __future__ import annotations

import json
from pathlib import Path

from runyard.capture.git import git_top

CONFIG_DIR = ".runyard"
CONFIG_FILE = "config.json"

AZURE_DIRS = (".azureml", "aml_config")
"""Azure ML's config folders (reference §1); a bare ``config.json`` is looked at too."""
AZURE_FILES = ("config.json", "project.json")
AZURE_KEYS = ("subscription_id", "resource_group", "workspace_name")
_MAX_CONFIG_BYTES = 1024 * 1024


def find_config(start: Path) -> Path | None:
    """The first ``.runyard/config.json`` in ``start`` or a folder above it (None if none)."""
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_DIR / CONFIG_FILE
        if candidate.is_file():
            return candidate
    return None


def is_azure_config(path: Path) -> bool:
    """``path`` is an Azure ML workspace config: the three keys of reference §1, or ``Scope``."""
    try:
        if path.stat().st_size > _MAX_CONFIG_BYTES:
            return False
        data = json.loads(path.read_text(errors="replace"))
    except (OSError, ValueError):
        return False
    if not isinstance(data, dict):
        return False
    return "Scope" in data or all(key in data for key in AZURE_KEYS)


def find_azure_config(start: Path) -> Path | None:
    """The nearest Azure ML config from ``start`` up: ``.azureml/`` or ``aml_config/``'s
    ``config.json`` or ``project.json``, or a bare one holding Azure's keys (None if none)."""
    for folder in (start, *start.parents):
        for sub in (*AZURE_DIRS, ""):
            for name in AZURE_FILES:
                candidate = folder / sub / name if sub else folder / name
                if candidate.is_file() and is_azure_config(candidate):
                    return candidate
    return None


def azure_project_folder(config: Path) -> Path:
    """The folder an Azure config belongs to: the one holding ``.azureml/``, or its own."""
    return config.parent.parent if config.parent.name in AZURE_DIRS else config.parent


def new_workspace_folder(start: Path, azure: Path | None) -> tuple[Path, str]:
    """Where a workspace goes when none is found from ``start`` up, and why (for the notice)."""
    top = git_top(start)
    if top is not None:
        return top, "the top of the git repository"
    if azure is not None:
        return azure_project_folder(azure), "the folder of the Azure ML config"
    return start, "no git repository: the folder searched from"
