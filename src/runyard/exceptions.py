"""Azure ML v1's exception names (``azureml.exceptions``), for code ported with only its imports
changed: ``from azureml.exceptions import UserErrorException`` becomes
``from runyard.exceptions import UserErrorException``.

Each name is the runyard class that stands for it (``runyard.errors``), not a copy: an
``except UserErrorException`` catches what runyard raises for the same mistake. New code should
use the ``runyard.errors`` names, which say what went wrong more precisely.
"""

from __future__ import annotations

from runyard.errors import (
    ActivityFailedError,
    ModelPathNotFoundError,
    RunEnvironmentError,
    RunyardError,
    SnapshotError,
    UserError,
)

__all__ = [
    "ActivityFailedException",
    "AzureMLException",
    "ExperimentExecutionException",
    "ModelPathNotFoundException",
    "RunEnvironmentException",
    "SnapshotException",
    "UserErrorException",
]

AzureMLException = RunyardError
"""The base of every error runyard raises."""

UserErrorException = UserError
"""A call that was wrong; its message says how to fix it."""

ExperimentExecutionException = UserError
"""Azure raises it when a submission is invalid (a script outside ``source_directory``, say);
runyard raises a ``UserError`` for the same mistakes, so this is that class."""

RunEnvironmentException = RunEnvironmentError
"""``Run.get_context(allow_offline=False)`` outside a submitted run."""

ActivityFailedException = ActivityFailedError
"""``wait_for_completion()`` on a run that failed."""

SnapshotException = SnapshotError
"""A folder that could not be snapshotted, or a second snapshot of a run."""

ModelPathNotFoundException = ModelPathNotFoundError
"""``register_model``'s ``model_path`` names none of the run's artifacts."""
