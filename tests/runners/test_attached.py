"""A script run reached any way (``Run(experiment, id)``, ``Run.get``, ``get_runs``,
``Run.list``) is a ScriptRun that behaves as the object ``submit`` returned: it cancels the
script, waits and streams its log, gives its logs; ``command=["python", ...]`` runs the run's
interpreter; ``clean()`` removes the working copy."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from runyard import Experiment, Run, ScriptRunConfig
from runyard.errors import ActivityFailedError, RunStateError
from runyard.runners.supervisor import run_folder
from runyard.sdk.script_run import ScriptRun
from runyard.settings import KEEP_WORKDIR_ENV
from tests.runners.helpers import is_alive, read_pids, wait_until, write_script

pytestmark = pytest.mark.timeout(60)

SLEEPER = """
import os
import sys
import time
from pathlib import Path

Path(sys.argv[1]).write_text(str(os.getpid()))
time.sleep(600)
"""


def test_run_attached_to_a_script_run_is_a_script_run_everywhere(
    experiment: Experiment, tmp_path: Path
) -> None:
    write_script(tmp_path, "hello.py", "print('hello')\n")
    submitted = experiment.submit(ScriptRunConfig(str(tmp_path), "hello.py"))
    submitted.wait_for_completion()

    found = [
        Run(experiment, submitted.id),
        Run(experiment=experiment, run_id=submitted.id),
        Run.get(experiment.workspace, submitted.id),
        next(experiment.get_runs()),
        next(Run.list(experiment)),
    ]

    assert all(type(run) is ScriptRun for run in found)
    assert all(run.type == "azureml.scriptrun" for run in found)


def test_run_attached_to_a_script_run_cancels_its_script(
    experiment: Experiment, tmp_path: Path
) -> None:
    write_script(tmp_path, "script.py", SLEEPER)
    pid_file = tmp_path / "pid.txt"
    submitted = experiment.submit(
        ScriptRunConfig(str(tmp_path), "script.py", arguments=[str(pid_file)])
    )
    (pid,) = read_pids(pid_file, 1)
    wait_until(lambda: submitted.get_status() == "Running", what="Running")

    Run(experiment, submitted.id).cancel()

    assert submitted.get_status() == "Canceled"
    assert not is_alive(pid)


def test_run_attached_wait_for_completion_streams_the_log_and_summary(
    experiment: Experiment, tmp_path: Path
) -> None:
    write_script(tmp_path, "hello.py", "print('hello from the script')\nraise SystemExit(3)\n")
    submitted = experiment.submit(ScriptRunConfig(str(tmp_path), "hello.py"))
    out = io.StringIO()

    with pytest.raises(ActivityFailedError):
        Run(experiment, submitted.id).wait_for_completion(show_output=True, file=out)

    text = out.getvalue()
    assert text.startswith(f"RunId: {submitted.id}\n")
    assert "\nStreaming user_logs/std_log.txt\n" + "=" * 31 + "\n" in text
    assert "hello from the script" in text
    assert f"\nExecution Summary\n=================\nRunId: {submitted.id}\n" in text
    details = Run(experiment, submitted.id).get_details_with_logs()
    assert "hello from the script" in details["logFiles"]["user_logs/std_log.txt"]


def test_run_attached_get_all_logs_downloads_the_logs(
    experiment: Experiment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_script(tmp_path / "src", "hello.py", "print('logged line')\n")
    submitted = experiment.submit(ScriptRunConfig(str(tmp_path / "src"), "hello.py"))
    submitted.wait_for_completion()
    monkeypatch.chdir(tmp_path)

    paths = Run.get(experiment.workspace, submitted.id).get_all_logs()
    elsewhere = Run(experiment, submitted.id).get_all_logs(destination=tmp_path / "logs")

    std_log = Path(submitted.id) / "user_logs" / "std_log.txt"
    assert str(std_log) in paths
    assert (tmp_path / std_log).read_text() == "logged line\n"
    assert str(tmp_path / "logs" / "user_logs" / "std_log.txt") in elsewhere
    assert len(paths) == len(elsewhere) == len(submitted.get_details()["logFiles"])


def test_script_run_command_python_runs_the_runs_interpreter(
    experiment: Experiment, tmp_path: Path
) -> None:
    write_script(tmp_path, "which.py", "import sys, runyard\nprint(sys.executable)\n")
    for python in ("python", "python3"):
        run = experiment.submit(ScriptRunConfig(str(tmp_path), command=[python, "which.py"]))
        details = run.wait_for_completion()
        assert details["status"] == "Completed", run.get_details_with_logs()["logFiles"]
        log = run.get_details_with_logs()["logFiles"]["user_logs/std_log.txt"]
        assert log.strip() == sys.executable


def test_script_run_clean_removes_its_working_copy(
    experiment: Experiment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEEP_WORKDIR_ENV, "1")  # the supervisor leaves it behind
    write_script(tmp_path / "src", "train.py", "open('outputs/model.txt', 'w').write('m')\n")
    run = experiment.submit(ScriptRunConfig(str(tmp_path / "src"), "train.py"))
    run.wait_for_completion()
    workdir = run_folder(run.id) / "work"
    assert (workdir / "train.py").is_file()

    removed = Run(experiment, run.id).clean()

    assert str(workdir / "train.py") in removed
    assert not run_folder(run.id).exists()
    assert "outputs/model.txt" in run.get_file_names()  # the store keeps the run's files


def test_script_run_clean_of_a_running_run_raises(experiment: Experiment, tmp_path: Path) -> None:
    write_script(tmp_path, "script.py", SLEEPER)
    pid_file = tmp_path / "pid.txt"
    run = experiment.submit(ScriptRunConfig(str(tmp_path), "script.py", arguments=[str(pid_file)]))
    read_pids(pid_file, 1)

    with pytest.raises(RunStateError, match="clean"):
        run.clean()

    assert (run_folder(run.id) / "work" / "script.py").is_file()
    run.cancel()
