"""What a submitted script sees (its context, arguments, environment, working copy) and what its
run shows while it runs (the live log) and after (outputs, details); submit validation."""

from __future__ import annotations

import io
import os
import re
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest

import runyard.runners.local
from runyard import Experiment, RunConfiguration, ScriptRunConfig
from runyard.errors import RunEnvironmentError, SnapshotError, UserError, WorkspaceConfigError
from runyard.sdk.context import OfflineRun
from runyard.sdk.run import Run
from runyard.sdk.script_run import ScriptRun
from tests.runners.helpers import read_pids, wait_until, write_script

pytestmark = pytest.mark.timeout(60)

INSPECT = """
import os
import sys
from pathlib import Path

from runyard import Run

print("same:", Run.get_context() is Run.get_context())
print("args:", sys.argv[1:])
print("env:", os.environ.get("MY_SETTING"))
print("cwd:", os.getcwd())
print("copied:", Path("kept/keep.txt").exists(), Path("secret/data.txt").exists())
Path("outputs/model.txt").write_text("weights")
Path("outputs/sub").mkdir()
Path("outputs/sub/b.txt").write_text("b")
"""

INSIDE = re.escape("script path doesn't exist. The script should be inside the project folder")

TWO_LINES = """
import time

print("first line", flush=True)
time.sleep(1.5)
print("second line", flush=True)
"""


def test_get_context_outside_a_submitted_run_is_offline(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = Run.get_context()

    run.log("accuracy", 0.5)

    assert isinstance(run, OfflineRun)
    assert run.id.startswith("OfflineRun_")
    assert capsys.readouterr().out == "Attempted to log scalar metric accuracy:\n0.5\n"
    assert Run.get_context() is not run


def test_get_context_without_offline_raises_outside_a_submitted_run() -> None:
    with pytest.raises(RunEnvironmentError, match="Could not load a submitted run"):
        Run.get_context(allow_offline=False)


def test_script_run_script_sees_its_context_arguments_environment_and_working_copy(
    experiment: Experiment, tmp_path: Path
) -> None:
    write_script(tmp_path, "inspect_run.py", INSPECT)
    write_script(tmp_path, "kept/keep.txt", "kept")
    write_script(tmp_path, "secret/data.txt", "do not copy")
    write_script(tmp_path, ".runyardignore", "secret/\n")
    run_config = RunConfiguration(environment_variables={"MY_SETTING": "42"})
    config = ScriptRunConfig(
        source_directory=str(tmp_path),
        script="inspect_run.py",
        arguments=["--lr", 0.1, "two words"],
        run_config=run_config,
    )

    run = experiment.submit(config, tags={"rank": 1})
    details = run.wait_for_completion()

    assert details["status"] == "Completed"
    assert run.get_tags() == {"rank": "1"}
    assert details["runDefinition"]["arguments"] == ["--lr", "0.1", "two words"]
    assert details["runDefinition"]["environmentVariables"] == {"MY_SETTING": "42"}
    log = run.get_details_with_logs()["logFiles"]["user_logs/std_log.txt"]
    lines = dict(line.split(": ", 1) for line in log.splitlines())
    assert lines["same"] == "True"
    assert lines["args"] == "['--lr', '0.1', 'two words']"
    assert lines["env"] == "42"
    assert lines["copied"] == "True False"
    cwd = Path(lines["cwd"])
    assert cwd != tmp_path and not cwd.is_relative_to(tmp_path)
    assert not cwd.exists()  # the working copy is removed once the run ended
    names = run.get_file_names()
    assert {"outputs/model.txt", "outputs/sub/b.txt", "user_logs/std_log.txt"} <= set(names)
    assert not any(name.startswith("secret") for name in names)
    assert run.download_file("outputs/model.txt", "model.txt").read_text() == "weights"
    with zipfile.ZipFile(run.restore_snapshot(path="snap")) as archive:
        assert "kept/keep.txt" in archive.namelist()
        assert not any(name.startswith("secret/") for name in archive.namelist())


def test_script_run_wait_with_show_output_streams_lines_while_running(
    experiment: Experiment, tmp_path: Path
) -> None:
    write_script(tmp_path, "two_lines.py", TWO_LINES)
    run = experiment.submit(ScriptRunConfig(source_directory=str(tmp_path), script="two_lines.py"))
    out = io.StringIO()
    results: list[Any] = []

    def wait() -> None:
        try:
            results.append(run.wait_for_completion(show_output=True, file=out))
        except BaseException as exc:  # reported by the test below, not lost in the thread
            results.append(exc)

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    wait_until(lambda: "first line" in out.getvalue(), timeout=20, what="the first line")
    status_when_seen = Run.get(experiment.workspace, run.id).get_status()
    text_when_seen = out.getvalue()
    waiter.join(timeout=30)

    assert status_when_seen == "Running"
    assert "second line" not in text_when_seen
    assert not waiter.is_alive()
    assert isinstance(results[0], dict) and results[0]["status"] == "Completed"
    text = out.getvalue()
    assert text.index("first line") < text.index("second line") < text.index("Execution Summary")


def test_script_run_log_is_readable_while_the_script_runs(
    experiment: Experiment, tmp_path: Path
) -> None:
    code = """
    import os
    import sys
    import time
    from pathlib import Path

    print("working", flush=True)
    Path(sys.argv[1]).write_text(str(os.getpid()))
    time.sleep(600)
    """
    write_script(tmp_path, "busy.py", code)
    pid_file = tmp_path / "pid.txt"
    run = experiment.submit(
        ScriptRunConfig(source_directory=str(tmp_path), script="busy.py", arguments=[pid_file])
    )
    read_pids(pid_file, 1)

    wait_until(lambda: "user_logs/std_log.txt" in run.get_file_names(), what="the log")
    wait_until(
        lambda: b"working" in run.download_file("user_logs/std_log.txt", "log.txt").read_bytes(),
        what="the first line in the downloaded log",
    )
    logs = run.get_details_with_logs()["logFiles"]

    assert run.get_status() == "Running"
    assert logs["user_logs/std_log.txt"] == "working\n"
    run.cancel()
    assert run.get_status() == "Canceled"


def test_script_run_config_refuses_a_script_outside_the_source_directory(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write_script(project, "train.py", "print('hi')\n")
    write_script(tmp_path, "outside.py", "print('hi')\n")

    with pytest.raises(UserError, match=INSIDE):
        ScriptRunConfig(source_directory=str(project), script="../outside.py")
    with pytest.raises(UserError, match=INSIDE):
        ScriptRunConfig(source_directory=str(project), script="missing.py")
    assert ScriptRunConfig(source_directory=str(project), script="train.py").script == "train.py"


def test_script_run_submit_refuses_a_source_directory_over_the_limit(
    experiment: Experiment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runyard.runners.local, "MAX_SUBMIT_FILES", 3)
    for index in range(5):
        write_script(tmp_path, f"file{index}.py", "print('hi')\n")
    config = ScriptRunConfig(source_directory=str(tmp_path), script="file0.py")

    with pytest.raises(SnapshotError, match=r"\.runyardignore"):
        experiment.submit(config)

    assert list(experiment.get_runs()) == []
    write_script(tmp_path, ".runyardignore", "file[1-4].py\n")
    run = experiment.submit(config)
    assert run.wait_for_completion()["status"] == "Completed"


def test_script_run_submit_child_creates_a_child_script_run(
    experiment: Experiment, tmp_path: Path
) -> None:
    write_script(tmp_path, "child.py", "from runyard import Run\nRun.get_context().log('n', 1)\n")
    parent = experiment.start_logging(snapshot_directory=None, outputs=False)

    child = parent.submit_child(
        ScriptRunConfig(source_directory=str(tmp_path), script="child.py"), tags={"kind": "child"}
    )

    assert isinstance(child, ScriptRun)
    assert child.parent == parent
    assert child.wait_for_completion()["status"] == "Completed"
    assert child.get_metrics() == {"n": 1}
    assert [c.id for c in parent.get_children()] == [child.id]
    assert next(iter(parent.get_children())).tags == {"kind": "child"}
    assert [r.id for r in experiment.get_runs()] == [parent.id]
    assert os.environ.get("RUNYARD_RUN_ID") is None
    parent.complete()


def test_script_run_submit_refuses_invalid_runner_settings(
    experiment: Experiment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_script(tmp_path, "hello.py", "print('hi')\n")
    monkeypatch.setenv("RUNYARD_CANCEL_GRACE_SECONDS", "soon")
    config = ScriptRunConfig(source_directory=str(tmp_path), script="hello.py")

    with pytest.raises(WorkspaceConfigError, match="RUNYARD_CANCEL_GRACE_SECONDS='soon'"):
        experiment.submit(config)

    assert list(experiment.get_runs()) == []


def test_script_given_as_an_absolute_path_runs_from_the_working_copy(
    experiment: Experiment, tmp_path: Path
) -> None:
    (tmp_path / "where.py").write_text("import os\nprint('cwd', os.getcwd())\nprint(__file__)\n")
    config = ScriptRunConfig(source_directory=str(tmp_path), script=str(tmp_path / "where.py"))
    run = experiment.submit(config)
    run.wait_for_completion()
    details = run.get_details_with_logs()
    assert details["runDefinition"]["script"] == "where.py"
    log = details["logFiles"]["user_logs/std_log.txt"]
    assert str(tmp_path / "where.py") not in log
    assert "runyard_runs" in log
