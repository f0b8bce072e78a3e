"""``with run:`` copies what the block prints into the run's ``logs/user_log.txt`` (ref. §1)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from runyard import Experiment, ScriptRunConfig
from tests.runners.helpers import wait_until, write_script

USER_LOG = "logs/user_log.txt"


def _log(experiment: Experiment, run_id: str) -> str:
    return experiment.workspace.store.read_log(run_id, USER_LOG).decode()


def test_with_run_tees_stdout_and_stderr_into_the_user_log(
    experiment: Experiment, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (sys.stdout, sys.stderr)
    with experiment.start_logging(snapshot_directory=None) as run:
        print("epoch 1: loss 0.5")
        print("a warning", file=sys.stderr)
        sys.stdout.writelines(["x", "y\n"])
    assert (sys.stdout, sys.stderr) == before
    print("after the block")

    assert _log(experiment, run.id) == "epoch 1: loss 0.5\na warning\nxy\n"
    assert USER_LOG in run.get_file_names()
    out, err = capsys.readouterr()  # still printed to the console
    assert out == "epoch 1: loss 0.5\nxy\nafter the block\n"
    assert err == "a warning\n"


def test_with_run_user_log_is_readable_while_the_block_runs(experiment: Experiment) -> None:
    with experiment.start_logging(snapshot_directory=None) as run:
        print("first line")
        wait_until(lambda: "first line" in _log(experiment, run.id), what="the live log")
        assert run.get_status() == "Running"


def test_with_run_restores_the_streams_when_the_block_raises(experiment: Experiment) -> None:
    before = (sys.stdout, sys.stderr)
    with pytest.raises(ValueError), experiment.start_logging(snapshot_directory=None) as run:
        print("about to fail")
        raise ValueError("boom")
    assert (sys.stdout, sys.stderr) == before
    assert run.get_status() == "Failed"
    assert _log(experiment, run.id) == "about to fail\n"


def test_with_child_run_tees_into_its_own_log_inside_the_parent(experiment: Experiment) -> None:
    before = (sys.stdout, sys.stderr)
    with experiment.start_logging(snapshot_directory=None) as parent:
        print("parent starts")
        with parent.child_run() as child:
            print("child works")
        print("parent ends")
    assert (sys.stdout, sys.stderr) == before
    assert _log(experiment, child.id) == "child works\n"
    # printed inside both blocks: in both logs
    assert _log(experiment, parent.id) == "parent starts\nchild works\nparent ends\n"


def test_with_run_leaves_a_stream_replaced_in_the_block(experiment: Experiment) -> None:
    import io

    replaced = io.StringIO()
    before = sys.stderr
    try:
        with experiment.start_logging(snapshot_directory=None) as run:
            sys.stdout.write("kept\n")
            sys.stderr = replaced
        assert sys.stderr is replaced
    finally:
        sys.stderr = before
    print("not in the log")
    assert _log(experiment, run.id) == "kept\n"


def test_with_submitted_run_does_not_tee_what_std_log_holds(
    experiment: Experiment, tmp_path: Path
) -> None:
    code = """
    from runyard import Run

    with Run.get_context() as run:
        print("inside the script", flush=True)
    """
    write_script(tmp_path, "script.py", code)
    run = experiment.submit(ScriptRunConfig(source_directory=str(tmp_path), script="script.py"))
    run.wait_for_completion()
    logs = experiment.workspace.store.list_logs(run.id)
    assert USER_LOG not in logs
    std_log = experiment.workspace.store.read_log(run.id, "user_logs/std_log.txt")
    assert std_log.count(b"inside the script") == 1


def test_with_run_blocks_left_out_of_order_put_the_console_back(experiment: Experiment) -> None:
    before = (sys.stdout, sys.stderr)
    parent = experiment.start_logging(snapshot_directory=None)
    child = parent.child_run()
    parent.__enter__()
    child.__enter__()
    print("both")
    parent.__exit__(None, None, None)  # the parent's block ends first
    child.__exit__(None, None, None)
    assert (sys.stdout, sys.stderr) == before  # not the parent's ended tee
    assert _log(experiment, child.id) == "both\n"
