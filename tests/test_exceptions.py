"""runyard.exceptions: Azure ML v1's exception names catch what runyard raises."""

from __future__ import annotations

from pathlib import Path

import pytest

from runyard import Experiment, Run, ScriptRunConfig, errors
from runyard.exceptions import (
    ActivityFailedException,
    AzureMLException,
    ExperimentExecutionException,
    ModelPathNotFoundException,
    RunEnvironmentException,
    UserErrorException,
)


def test_exceptions_are_runyards_classes() -> None:
    assert AzureMLException is errors.RunyardError
    assert issubclass(UserErrorException, AzureMLException)
    assert ActivityFailedException is errors.ActivityFailedError
    assert ModelPathNotFoundException is errors.ModelPathNotFoundError


def test_exceptions_catch_what_ported_code_expects(experiment: Experiment, tmp_path: Path) -> None:
    with pytest.raises(RunEnvironmentException):
        Run.get_context(allow_offline=False)
    with pytest.raises(ExperimentExecutionException, match="script path doesn't exist"):
        experiment.submit(ScriptRunConfig(source_directory=str(tmp_path), script="missing.py"))
    run = experiment.start_logging(snapshot_directory=None)
    with pytest.raises(ModelPathNotFoundException, match="Could not locate"):
        run.register_model("m", "outputs/missing.pkl")
    run.complete()
