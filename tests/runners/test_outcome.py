"""How a script's end decides its run's status: exit code, uncaught exception, calls inside."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from runyard import Experiment, ScriptRunConfig
from runyard.errors import ActivityFailedError
from runyard.sdk.script_run import ScriptRun
from tests.runners.helpers import write_script

pytestmark = pytest.mark.timeout(60)


RAISES = """
def train(rate):
    raise ValueError("bad learning rate")

print("training", flush=True)
train(10)
"""


def _run(experiment: Experiment, tmp_path: Path, code: str) -> ScriptRun:
    write_script(tmp_path, "script.py", code)
    return experiment.submit(ScriptRunConfig(source_directory=str(tmp_path), script="script.py"))


def test_script_run_uncaught_exception_fails_the_run_with_the_error(
    experiment: Experiment, tmp_path: Path
) -> None:
    run = _run(experiment, tmp_path, RAISES)

    with pytest.raises(ActivityFailedError) as raised:
        run.wait_for_completion()

    assert run.get_status() == "Failed"
    error = run.get_details()["error"]
    assert raised.value.error == error
    assert "bad learning rate" in str(raised.value)
    body = error["error"]
    assert body["message"] == "User program failed with ValueError: bad learning rate"
    assert body["debugInfo"]["type"] == "ValueError"
    stack = body["debugInfo"]["stackTrace"].splitlines()
    assert stack[-1] == "ValueError: bad learning rate"
    assert 'raise ValueError("bad learning rate")' in stack[-2]
    log = run.get_details_with_logs()["logFiles"]["user_logs/std_log.txt"]
    assert log.startswith("training\n")
    assert "Traceback (most recent call last):" in log
    assert "in train" in log
    assert log.rstrip().endswith("ValueError: bad learning rate")


def test_script_run_wait_without_raise_on_error_returns_the_details(
    experiment: Experiment, tmp_path: Path
) -> None:
    run = _run(experiment, tmp_path, RAISES)
    out = io.StringIO()

    details = run.wait_for_completion(show_output=True, raise_on_error=False, file=out)

    assert details["status"] == "Failed"
    assert details["error"]["error"]["message"].endswith("ValueError: bad learning rate")
    assert "Traceback (most recent call last):" in out.getvalue()
    assert "\nError:\n" in out.getvalue()


def test_script_run_sys_exit_zero_completes(experiment: Experiment, tmp_path: Path) -> None:
    run = _run(experiment, tmp_path, "import sys\nprint('bye')\nsys.exit(0)\nprint('never')\n")

    details = run.wait_for_completion()

    assert details["status"] == "Completed"
    assert "error" not in details
    log = run.get_details_with_logs()["logFiles"]["user_logs/std_log.txt"]
    assert log == "bye\n"


def test_script_run_sys_exit_nonzero_fails_naming_the_exit_code(
    experiment: Experiment, tmp_path: Path
) -> None:
    run = _run(experiment, tmp_path, "import sys\nsys.exit(3)\n")

    details = run.wait_for_completion(raise_on_error=False)

    assert details["status"] == "Failed"
    assert details["error"]["error"]["message"] == "User program exited with code 3."


def test_script_run_status_calls_inside_the_script_leave_the_status_to_the_exit_code(
    experiment: Experiment, tmp_path: Path
) -> None:
    code = """
    from runyard import Run

    run = Run.get_context()
    run.log("loss", 0.5)
    run.complete()
    print("after complete:", run.get_status(), flush=True)
    run.fail("x")
    print("after fail:", run.get_status(), flush=True)
    run.cancel()
    print("after cancel:", run.get_status(), flush=True)
    """
    run = _run(experiment, tmp_path, code)

    details = run.wait_for_completion()

    log = run.get_details_with_logs()["logFiles"]["user_logs/std_log.txt"]
    assert "after complete: Running" in log
    assert "after fail: Running" in log
    assert "after cancel: Running" in log
    assert "cancel is not supported for submitted runs." in log
    assert details["status"] == "Completed"  # the exit code decides
    assert details["error"]["error"]["message"] == "x"  # recorded all the same
    assert run.get_metrics() == {"loss": 0.5}


def test_script_run_fail_inside_then_exception_keeps_the_first_error(
    experiment: Experiment, tmp_path: Path
) -> None:
    code = """
    from runyard import Run

    Run.get_context().fail("diverged", error_code="Divergence")
    raise RuntimeError("then crashed")
    """
    run = _run(experiment, tmp_path, code)

    details = run.wait_for_completion(raise_on_error=False)

    assert details["status"] == "Failed"
    assert details["error"]["error"] == {"code": "Divergence", "message": "diverged"}


def test_script_run_wait_returns_the_final_status_after_a_long_finalizing(
    experiment: Experiment, tmp_path: Path
) -> None:
    # Uploading many outputs keeps the run Finalizing for a while; wait_for_completion() must
    # not return then, or a failed run would be reported without raising.
    code = """
    from pathlib import Path

    for index in range(300):
        Path(f"outputs/part{index}.txt").write_text("x" * 100)
    raise ValueError("bad learning rate")
    """
    run = _run(experiment, tmp_path, code)

    with pytest.raises(ActivityFailedError, match="bad learning rate"):
        run.wait_for_completion()

    assert run.status == "Failed"
    assert len([n for n in run.get_file_names() if n.startswith("outputs/")]) == 300


CHILDREN_THEN_RAISES = """
from pathlib import Path
from runyard import Run

context = Run.get_context()
children = [context.child_run("first"), context.child_run("second")]
Path("children.txt").write_text(" ".join(c.id for c in children))
raise ValueError("bad learning rate")
"""


def test_script_run_children_open_at_an_uncaught_exception_fail_with_it(
    experiment: Experiment, tmp_path: Path
) -> None:
    # The script's process owns the children it starts (its supervisor owns the run itself):
    # they heartbeat from the script's process and end with it, Failed with the exception.
    run = _run(experiment, tmp_path, CHILDREN_THEN_RAISES)
    run.wait_for_completion(raise_on_error=False)

    children = list(run.get_children())
    assert len(children) == 2
    for child in children:
        assert child.get_status() == "Failed"
        message = child.get_details()["error"]["error"]["message"]
        assert message == "User program failed with ValueError: bad learning rate"
    assert run.get_status() == "Failed"
    assert run.get_details()["error"]["error"]["message"] == message
    log = run.get_details_with_logs()["logFiles"]["user_logs/std_log.txt"]
    assert log.count("Traceback (most recent call last):") == 1
    assert "bootstrap" not in log  # the traceback starts at the script, as before


def test_script_run_context_run_is_not_heartbeated_by_the_script(
    experiment: Experiment, tmp_path: Path
) -> None:
    code = """
    from runyard import Run
    from runyard.sdk import lifetime

    context = Run.get_context()
    context.log("kept alive by", float(len(context.experiment.workspace.pipeline.kept_alive)))
    child = context.child_run()
    context.log("owned", float(len(lifetime.owned_runs())))
    """
    run = _run(experiment, tmp_path, code)
    assert run.wait_for_completion()["status"] == "Completed"
    assert run.get_metrics() == {"kept alive by": 0.0, "owned": 1.0}
    (child,) = run.get_children()
    assert child.get_status() == "Completed"
