"""The Ray job's entrypoint on its own (``python -m runyard.runners.ray_job``), as a real
process: what it checks before it runs the user's script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.runners.helpers import write_script


def _job(folder: Path, wanted_python: str) -> subprocess.CompletedProcess[str]:
    write_script(folder, "train.py", "print('the script ran')")
    env = {**os.environ, "RUNYARD_JOB_PYTHON": wanted_python}
    return subprocess.run(
        [sys.executable, "-m", "runyard.runners.ray_job", "train.py"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_ray_job_refuses_another_python_than_its_environment_asks(tmp_path: Path) -> None:
    done = _job(tmp_path, "2.7")
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert done.returncode == 1
    assert "the script ran" not in done.stdout
    assert f"asks for Python 2.7, and this Ray cluster runs Python {running}" in done.stderr


def test_ray_job_runs_the_script_on_the_python_asked(tmp_path: Path) -> None:
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    done = _job(tmp_path, running)
    assert "the script ran" in done.stdout
    assert "asks for Python" not in done.stderr
