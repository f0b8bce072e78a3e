"""The seed notebook's script-run cells (reference §8), with real supervisor processes."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest

from runyard import Experiment, Run, RunStatus, ScriptRunConfig
from runyard.runners.supervisor import run_folder
from runyard.sdk.script_run import ScriptRun
from tests.runners.helpers import is_alive, script_pids, supervisor_pid, wait_until, write_script

pytestmark = pytest.mark.timeout(60)

HELLO = """
from runyard import Run

run = Run.get_context()
run.log(name="message", value="Hello from run!")
"""

HELLO_WITH_DELAY = """
import time

print("Wait for 10 seconds..")
time.sleep(10)
print("Done waiting")
"""

HELLO_WITH_CHILDREN = """
from runyard import Run


run = Run.get_context()
children = run.create_children(count=5)
for i, child in enumerate(children):
    child.log(name="Hello from child run ", value=i)
    child.complete()
"""


def _submit(experiment: Experiment, tmp_path: Path, name: str, code: str) -> ScriptRun:
    write_script(tmp_path, name, code)
    return experiment.submit(ScriptRunConfig(source_directory=str(tmp_path), script=name))


def test_script_run_hello_completes_with_metric_and_details(
    experiment: Experiment, tmp_path: Path
) -> None:
    run = _submit(experiment, tmp_path, "hello.py", HELLO)
    assert re.fullmatch(r"explore-runs_\d{10}_[0-9a-f]{8}", run.id)
    assert run.type == "azureml.scriptrun"
    out = io.StringIO()

    details = run.wait_for_completion(show_output=True, file=out)

    assert run.get_status() == "Completed"
    assert run.get_metrics() == {"message": "Hello from run!"}
    assert details == run.get_details()
    assert details["status"] == "Completed"
    assert details["runDefinition"]["script"] == "hello.py"
    assert details["runDefinition"]["target"] == "local"
    assert "user_logs/std_log.txt" in details["logFiles"]
    assert details["properties"]["ContentSnapshotId"]
    assert "endTimeUtc" in details and "error" not in details
    text = out.getvalue()
    assert text.startswith(f"RunId: {run.id}\n")
    assert "Streaming user_logs/std_log.txt" in text
    assert "Execution Summary" in text
    assert isinstance(Run.get(experiment.workspace, run.id), ScriptRun)
    wait_until(lambda: not run_folder(run.id).exists(), what="the run's folder to be removed")


def test_script_run_cancel_while_running_ends_canceled_and_kills_the_script(
    experiment: Experiment, tmp_path: Path
) -> None:
    run = _submit(experiment, tmp_path, "hello_with_delay.py", HELLO_WITH_DELAY)
    assert run.get_status() in ("Queued", "Starting", "Running")
    pids = wait_until(lambda: script_pids(run.id), what="the script process")
    wait_until(lambda: run.get_status() == "Running", what="Running")

    run.cancel()

    assert run.get_status() == "Canceled"
    assert not [pid for pid in pids if is_alive(pid)]
    assert Run.get(experiment.workspace, run.id).get_status() == "Canceled"
    assert "Done waiting" not in run.get_details_with_logs()["logFiles"]["user_logs/std_log.txt"]


def test_script_run_cancel_right_after_submit_ends_canceled(
    experiment: Experiment, tmp_path: Path
) -> None:
    run = _submit(experiment, tmp_path, "hello_with_delay.py", HELLO_WITH_DELAY)
    assert run.get_status() in ("Queued", "Starting", "Running")

    run.cancel()

    assert run.get_status() == "Canceled"
    wait_until(lambda: supervisor_pid(run.id) is None, what="the supervisor to exit")
    assert script_pids(run.id) == []
    assert run.get_status() == "Canceled"


def test_script_run_fail_right_after_submit_ends_failed(
    experiment: Experiment, tmp_path: Path
) -> None:
    run = _submit(experiment, tmp_path, "hello_with_delay.py", HELLO_WITH_DELAY)

    run.fail()

    assert run.get_status() == "Failed"
    assert run.get_details()["error"]["error"]["code"] == "UserError"
    wait_until(lambda: supervisor_pid(run.id) is None, what="the supervisor to exit")
    assert script_pids(run.id) == []


def test_script_run_fail_while_running_kills_the_script_and_keeps_the_error(
    experiment: Experiment, tmp_path: Path
) -> None:
    run = _submit(experiment, tmp_path, "hello_with_delay.py", HELLO_WITH_DELAY)
    pids = wait_until(lambda: script_pids(run.id), what="the script process")

    run.fail("stopped by the test")

    assert run.get_status() == "Failed"
    assert run.get_details()["error"]["error"]["message"] == "stopped by the test"
    assert not [pid for pid in pids if is_alive(pid)]


def test_script_run_children_created_in_the_script_complete(
    experiment: Experiment, tmp_path: Path
) -> None:
    run = _submit(experiment, tmp_path, "hello_with_children.py", HELLO_WITH_CHILDREN)

    run.wait_for_completion(show_output=True, file=io.StringIO())

    assert run.get_status() == "Completed"
    children = list(run.get_children())
    assert len(children) == 5
    assert {c.get_status() for c in children} == {"Completed"}
    values = sorted(c.get_metrics()["Hello from child run "] for c in children)
    assert values == [0, 1, 2, 3, 4]
    assert all(c.parent == run for c in children)


def test_script_run_restore_snapshot_returns_a_zip_of_the_scripts(
    experiment: Experiment, tmp_path: Path
) -> None:
    write_script(tmp_path, "hello_with_delay.py", HELLO_WITH_DELAY)
    run = _submit(experiment, tmp_path, "hello.py", HELLO)
    run.wait_for_completion()

    path = run.restore_snapshot(path="snapshots")

    assert Path(path).is_absolute()
    assert Path(path) == (tmp_path / "snapshots" / f"{run.properties['ContentSnapshotId']}.zip")
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        assert {"hello.py", "hello_with_delay.py"} <= names
        assert archive.read("hello.py").decode() == (tmp_path / "hello.py").read_text()
    assert not any(name.startswith(".runyard/") for name in names)
    assert RunStatus(run.get_status()) is RunStatus.COMPLETED
