"""What a runner is handed: a script to run, as plain data. ``Experiment.submit`` builds it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ScriptSubmission:
    """A script (or command) in a source folder, to run as a new run of an experiment."""

    experiment_name: str
    source_directory: Path
    """The folder snapshotted with the run and laid out as its working copy (absolute)."""
    script: str | None
    """The script's path relative to ``source_directory`` (POSIX); None for a command."""
    run_definition: Mapping[str, Any]
    """The run's ``runDefinition``: ``arguments``, ``command``, ``environmentVariables``,
    ``maxRunDurationSeconds`` and the rest ``get_details()`` shows. The runner adds ``script``,
    ``python`` and ``sourceDirectory``; the supervisor starts the script from it."""
    tags: Mapping[str, str | None] = field(default_factory=dict)
    parent_run_id: str | None = None
    run_id: str | None = None
    """The new run's id (None: ``<experiment>_<epoch seconds>_<8 hex>``)."""
