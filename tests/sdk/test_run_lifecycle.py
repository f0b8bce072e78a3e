"""Run lifecycle: start_logging, statuses, get_details, the with block, re-attaching (§1-§3)."""

from __future__ import annotations

import datetime as dt
import getpass
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from runyard import Experiment, Run, RunStatus, Workspace
from runyard.entities import NewRun
from runyard.errors import (
    InvalidArgumentError,
    InvalidNameError,
    RunAlreadyEndedWarning,
    RunNotFoundError,
)

TIME_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
DETAIL_KEYS_RUNNING = [
    "runId",
    "target",
    "status",
    "startTimeUtc",
    "properties",
    "inputDatasets",
    "outputDatasets",
    "logFiles",
    "submittedBy",
]


def _parse_time(text: str) -> float:
    assert TIME_RE.fullmatch(text), text
    stamp = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
    return stamp.timestamp()


def _stored_status(run: Run) -> str:
    """The status as the store holds it, read through a fresh object."""
    return Run.get(run.experiment.workspace, run.id).get_status()


def _python(code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


# -- start_logging -------------------------------------------------------------------------------


def test_run_start_logging_is_running_with_outputs_and_snapshot(
    experiment: Experiment, tmp_path: Path
) -> None:
    (tmp_path / "train.py").write_text("print('hi')\n")

    run = experiment.start_logging()

    assert run.get_status() == "Running"
    assert run.status == "Running"
    assert (tmp_path / "outputs").is_dir()
    properties = run.get_properties()
    assert uuid.UUID(properties["ContentSnapshotId"])
    assert run.get_details()["submittedBy"] == getpass.getuser()
    assert run.experiment is experiment
    assert run.type is None
    assert uuid.UUID(run.id)


def test_run_start_logging_kwargs_set_name_description_and_tags(experiment: Experiment) -> None:
    run = experiment.start_logging(
        display_name="baseline", description="first try", tags={"lr": 0.1, "seed": None}
    )

    again = Run.get(experiment.workspace, run.id)
    assert again.display_name == "baseline"
    assert again.description == "first try"
    assert again.get_tags() == {"lr": "0.1", "seed": None}


def test_run_start_logging_explicit_run_id(experiment: Experiment) -> None:
    run = experiment.start_logging(run_id="my-run_1.a", snapshot_directory=None)

    assert run.id == "my-run_1.a"
    assert Run(experiment, "my-run_1.a").get_status() == "Running"


@pytest.mark.parametrize("run_id", ["has space", "slash/id", "trailing\n", "x" * 257])
def test_run_start_logging_invalid_run_id_raises(experiment: Experiment, run_id: str) -> None:
    with pytest.raises(InvalidNameError, match="Invalid run id"):
        experiment.start_logging(run_id=run_id, snapshot_directory=None)
    assert list(experiment.get_runs()) == []


def test_run_start_logging_without_snapshot(experiment: Experiment) -> None:
    run = experiment.start_logging(snapshot_directory=None)

    assert "ContentSnapshotId" not in run.get_properties()
    assert run.get_status() == "Running"


def test_run_start_logging_missing_snapshot_folder_raises_and_creates_no_run(
    experiment: Experiment,
) -> None:
    from runyard.errors import SnapshotError

    with pytest.raises(SnapshotError, match="snapshot_directory=None"):
        experiment.start_logging(snapshot_directory="no-such-folder")
    assert list(experiment.get_runs()) == []


def test_run_start_logging_outputs_false_creates_no_folder(
    experiment: Experiment, tmp_path: Path
) -> None:
    run = experiment.start_logging(outputs=False, snapshot_directory=None)
    run.complete()

    assert not (tmp_path / "outputs").exists()
    assert run.get_file_names() == []


def test_run_start_logging_records_git_properties(experiment: Experiment, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    (repo / "a.txt").write_text("a\n")
    subprocess.run([*git, "add", "a.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first"], check=True)
    subprocess.run([*git, "remote", "add", "origin", "https://example.com/r.git"], check=True)
    commit = subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()

    run = experiment.start_logging(snapshot_directory=repo)

    properties = run.get_properties()
    # Azure ML's names, and MLflow's that Azure ML records too.
    assert properties["azureml.git.commit"] == commit
    assert properties["azureml.git.branch"] == "main"
    assert properties["azureml.git.dirty"] == "False"
    assert properties["azureml.git.repository_uri"] == "https://example.com/r.git"
    assert properties["mlflow.source.git.commit"] == commit
    assert properties["mlflow.source.git.branch"] == "main"
    assert properties["mlflow.source.git.repoURL"] == "https://example.com/r.git"
    assert properties["_azureml.ComputeTargetType"] == "local"
    # From a folder below the repository's top (git finds the .git above it), too.
    (repo / "src" / "pkg").mkdir(parents=True)
    nested = experiment.start_logging(snapshot_directory=repo / "src" / "pkg", outputs=False)
    assert nested.get_properties()["azureml.git.commit"] == commit


def test_run_start_logging_outside_git_has_no_git_properties(experiment: Experiment) -> None:
    run = experiment.start_logging()

    assert not [key for key in run.get_properties() if ".git." in key]


# -- get_status and get_details ------------------------------------------------------------------


def test_run_get_status_returns_a_plain_str(experiment: Experiment) -> None:
    run = experiment.start_logging(snapshot_directory=None)

    status = run.get_status()

    assert type(status) is str
    assert status == "Running"
    assert f"{status}" == "Running"


def test_run_get_details_running_keys_in_reference_order(experiment: Experiment) -> None:
    before = time.time()
    run = experiment.start_logging()

    details = run.get_details()

    assert list(details) == DETAIL_KEYS_RUNNING
    assert details["runId"] == run.id
    assert details["target"] == "local"
    assert details["status"] == "Running"
    assert before - 1 <= _parse_time(details["startTimeUtc"]) <= time.time() + 1
    assert details["properties"]["ContentSnapshotId"] == run.get_properties()["ContentSnapshotId"]
    assert details["inputDatasets"] == []
    assert details["outputDatasets"] == []
    assert details["logFiles"] == {}
    assert details["submittedBy"] == getpass.getuser()
    assert None not in details.values()


def test_run_get_details_after_complete_has_end_time(experiment: Experiment) -> None:
    run = experiment.start_logging()
    run.complete()

    details = run.get_details()

    expected = [*DETAIL_KEYS_RUNNING[:4], "endTimeUtc", *DETAIL_KEYS_RUNNING[4:]]
    assert list(details) == expected
    assert details["status"] == "Completed"
    assert _parse_time(details["startTimeUtc"]) <= _parse_time(details["endTimeUtc"])


def test_run_get_details_after_fail_has_error(experiment: Experiment) -> None:
    run = experiment.start_logging()
    run.fail(ValueError("boom"))

    details = run.get_details()

    expected = [*DETAIL_KEYS_RUNNING[:4], "endTimeUtc", "error", *DETAIL_KEYS_RUNNING[4:]]
    assert list(details) == expected
    assert details["status"] == "Failed"
    assert details["error"]["error"]["code"] == "UserError"
    assert details["error"]["error"]["message"] == "User program failed with ValueError: boom"
    _parse_time(details["error"]["time"])


def test_run_get_details_not_started_has_no_start_time(experiment: Experiment) -> None:
    new = NewRun(
        run_id=str(uuid.uuid4()),
        experiment_name=experiment.name,
        status=RunStatus.NOT_STARTED,
    )
    experiment.workspace.store.create_runs([new])
    run = Run(experiment, new.run_id)

    assert run.get_status() == "NotStarted"
    assert "startTimeUtc" not in run.get_details()

    run.start()
    assert run.get_status() == "Running"
    _parse_time(run.get_details()["startTimeUtc"])


# -- complete, fail, cancel ----------------------------------------------------------------------


def test_run_complete_marks_completed(experiment: Experiment) -> None:
    run = experiment.start_logging()
    run.complete()

    assert run.get_status() == "Completed"
    assert _stored_status(run) == "Completed"


def test_run_cancel_marks_canceled(experiment: Experiment) -> None:
    run = experiment.start_logging()
    run.cancel()

    assert run.get_status() == "Canceled"
    assert _stored_status(run) == "Canceled"
    assert "error" not in run.get_details()


def test_run_fail_without_details_records_user_error(experiment: Experiment) -> None:
    run = experiment.start_logging()
    run.fail()

    assert run.get_status() == "Failed"
    assert run.get_details()["error"]["error"] == {"code": "UserError"}


def test_run_fail_with_a_string(experiment: Experiment) -> None:
    run = experiment.start_logging()
    run.fail("the data was wrong")

    assert run.get_details()["error"]["error"] == {
        "code": "UserError",
        "message": "the data was wrong",
    }


def test_run_fail_with_an_exception(experiment: Experiment) -> None:
    run = experiment.start_logging()
    try:
        raise ValueError("boom")
    except ValueError as exc:
        run.fail(exc)

    error = run.get_details()["error"]["error"]
    assert error["code"] == "UserError"
    assert error["message"] == "User program failed with ValueError: boom"


def test_run_fail_with_an_error_code(experiment: Experiment) -> None:
    run = experiment.start_logging()
    run.fail("out of memory", error_code="ResourceExhausted")

    error = run.get_details()["error"]["error"]
    assert error == {"code": "ResourceExhausted", "message": "out of memory"}


@pytest.mark.parametrize("details", [42, {"message": "x"}, ["boom"]])
def test_run_fail_with_a_bad_type_raises_and_changes_nothing(
    experiment: Experiment, details: object
) -> None:
    run = experiment.start_logging()

    with pytest.raises(
        InvalidArgumentError, match="error_details must be instance of string or BaseException"
    ):
        run.fail(details)

    assert run.get_status() == "Running"
    assert "error" not in run.get_details()


def test_run_complete_after_fail_stays_failed(experiment: Experiment) -> None:
    run = experiment.start_logging()
    run.fail("first")
    end = run.get_details()["endTimeUtc"]

    with pytest.warns(RunAlreadyEndedWarning, match="already ended as Failed: complete"):
        run.complete()
    with pytest.warns(RunAlreadyEndedWarning, match="already ended as Failed: cancel"):
        run.cancel()

    details = run.get_details()
    assert details["status"] == "Failed"
    assert details["endTimeUtc"] == end
    assert details["error"]["error"]["message"] == "first"


def test_run_fail_twice_keeps_the_first_error(experiment: Experiment) -> None:
    run = experiment.start_logging()
    run.fail("first")
    with pytest.warns(RunAlreadyEndedWarning, match="fail\\(\\) changed nothing"):
        run.fail(RuntimeError("second"), error_code="Other")

    assert run.get_details()["error"]["error"] == {"code": "UserError", "message": "first"}


def test_run_cancel_after_complete_stays_completed(experiment: Experiment) -> None:
    run = experiment.start_logging()
    run.complete()

    with pytest.warns(RunAlreadyEndedWarning, match="already ended as Completed: cancel"):
        run.cancel()
    with pytest.warns(RunAlreadyEndedWarning, match="already ended as Completed: fail"):
        run.fail("too late")

    details = run.get_details()
    assert details["status"] == "Completed"
    assert "error" not in details


def test_run_terminal_status_is_final_through_a_stale_object(experiment: Experiment) -> None:
    run = experiment.start_logging()
    stale = Run(experiment, run.id)
    run.fail("first")

    assert stale.status == "Running"
    with pytest.warns(RunAlreadyEndedWarning, match="already ended as Failed"):
        stale.complete()

    assert stale.get_status() == "Failed"
    assert _stored_status(run) == "Failed"


# -- the with block ------------------------------------------------------------------------------


def test_run_with_block_clean_exit_completes(experiment: Experiment) -> None:
    with experiment.start_logging() as run:
        assert run.get_status() == "Running"

    assert run.get_status() == "Completed"
    assert _stored_status(run) == "Completed"


def test_run_with_block_exception_fails_and_propagates(experiment: Experiment) -> None:
    with pytest.raises(ValueError, match="boom"), experiment.start_logging() as run:
        raise ValueError("boom")

    assert run.get_status() == "Failed"
    error = run.get_details()["error"]["error"]
    assert error["message"] == "User program failed with ValueError: boom"


def test_run_with_block_keyboard_interrupt_fails_and_propagates(experiment: Experiment) -> None:
    with pytest.raises(KeyboardInterrupt), experiment.start_logging() as run:
        raise KeyboardInterrupt

    assert _stored_status(run) == "Failed"


@pytest.mark.parametrize("code", [0, None])
def test_run_with_block_clean_system_exit_is_suppressed_and_keeps_running(
    experiment: Experiment, tmp_path: Path, code: int | None
) -> None:
    reached = False
    with experiment.start_logging() as run:
        (tmp_path / "outputs" / "model.txt").write_text("weights")
        if code == 0:
            sys.exit(0)
        raise SystemExit(code)
    reached = True

    assert reached
    assert _stored_status(run) == "Running"
    assert "error" not in run.get_details()
    assert run.get_file_names() == ["outputs/model.txt"]


def test_run_with_block_system_exit_1_fails_and_propagates(experiment: Experiment) -> None:
    with pytest.raises(SystemExit) as info, experiment.start_logging() as run:
        sys.exit(1)

    assert info.value.code == 1
    assert _stored_status(run) == "Failed"
    assert run.get_details()["error"]["error"]["message"] == (
        "User program failed with SystemExit: 1"
    )


def test_run_with_block_fail_inside_then_clean_exit_stays_failed(experiment: Experiment) -> None:
    with experiment.start_logging() as run:
        run.fail("bad data")

    assert _stored_status(run) == "Failed"
    assert run.get_details()["error"]["error"]["message"] == "bad data"


def test_run_with_block_returns_the_run(experiment: Experiment) -> None:
    run = experiment.start_logging(snapshot_directory=None)
    with run as entered:
        assert entered is run


# -- outputs -------------------------------------------------------------------------------------


@pytest.mark.parametrize("finish", ["complete", "fail", "cancel"])
def test_run_outputs_are_uploaded_when_the_run_ends(
    experiment: Experiment, tmp_path: Path, finish: str
) -> None:
    run = experiment.start_logging()
    (tmp_path / "outputs" / "model.pkl").write_bytes(b"\x00model")
    (tmp_path / "outputs" / "plots").mkdir()
    (tmp_path / "outputs" / "plots" / "loss.png").write_bytes(b"png")
    (tmp_path / "not-an-output.txt").write_text("stays local")

    getattr(run, finish)()

    assert run.get_file_names() == ["outputs/model.pkl", "outputs/plots/loss.png"]
    run.download_file("outputs/model.pkl", "back.pkl")
    assert (tmp_path / "back.pkl").read_bytes() == b"\x00model"


def test_run_outputs_are_uploaded_at_with_exit(experiment: Experiment, tmp_path: Path) -> None:
    with experiment.start_logging() as run:
        (tmp_path / "outputs" / "result.json").write_text("{}")

    assert run.get_file_names() == ["outputs/result.json"]


def test_run_outputs_already_uploaded_are_not_an_error(
    experiment: Experiment, tmp_path: Path
) -> None:
    run = experiment.start_logging()
    (tmp_path / "outputs" / "early.txt").write_text("early")
    run.upload_file("outputs/early.txt", tmp_path / "outputs" / "early.txt")

    run.complete()

    assert run.get_file_names() == ["outputs/early.txt"]
    assert run.get_status() == "Completed"


# -- identity ------------------------------------------------------------------------------------


def test_run_init_reattaches_to_an_existing_run(experiment: Experiment) -> None:
    run = experiment.start_logging(tags={"k": "v"})

    again = Run(experiment, run.id)

    assert again == run
    assert again.id == run.id
    assert again.get_status() == "Running"
    assert again.tags == {"k": "v"}
    assert again.experiment is experiment


def test_run_get_finds_a_run_of_any_experiment(workspace: Workspace) -> None:
    run = Experiment(workspace, "elsewhere").start_logging(snapshot_directory=None)

    found = Run.get(workspace, run.id)

    assert found.id == run.id
    assert found.experiment.name == "elsewhere"
    assert found.number == run.number


def test_run_init_unknown_id_raises(experiment: Experiment) -> None:
    with pytest.raises(RunNotFoundError, match="no-such-run"):
        Run(experiment, "no-such-run")


def test_run_get_unknown_id_raises(workspace: Workspace) -> None:
    with pytest.raises(RunNotFoundError, match="no-such-run"):
        Run.get(workspace, "no-such-run")


def test_run_init_with_a_run_of_another_experiment_raises(workspace: Workspace) -> None:
    run = Experiment(workspace, "first").start_logging(snapshot_directory=None)

    with pytest.raises(RunNotFoundError, match=r"Run\.get"):
        Run(Experiment(workspace, "second"), run.id)


def test_run_number_increments_per_experiment(workspace: Workspace) -> None:
    first = Experiment(workspace, "first")
    second = Experiment(workspace, "second")

    numbers = [first.start_logging(snapshot_directory=None).number for _ in range(3)]
    other = second.start_logging(snapshot_directory=None).number

    assert numbers == [1, 2, 3]
    assert other == 1
    assert first.start_logging(snapshot_directory=None).number == 4


def test_run_display_name_and_description_setters_persist(experiment: Experiment) -> None:
    run = experiment.start_logging(snapshot_directory=None)

    run.display_name = "renamed"
    run.description = "what this run tried"

    assert run.display_name == "renamed"
    again = Run(experiment, run.id)
    assert again.display_name == "renamed"
    assert again.description == "what this run tried"

    run.description = None
    assert Run(experiment, run.id).description is None


def test_run_parent_is_none_at_top_level_and_the_parent_for_a_child(
    experiment: Experiment,
) -> None:
    parent = experiment.start_logging(snapshot_directory=None)
    child = parent.child_run()

    assert parent.parent is None
    assert child.parent == parent
    reattached = Run(experiment, child.id)
    assert reattached.parent is not None
    assert reattached.parent.id == parent.id


def test_run_repr_shows_experiment_id_type_and_status(experiment: Experiment) -> None:
    run = experiment.start_logging(snapshot_directory=None)

    assert repr(run) == (
        f"Run(Experiment: explore-runs,\nId: {run.id},\nType: None,\nStatus: Running)"
    )
    assert str(run) == repr(run)


# -- across processes ----------------------------------------------------------------------------

READ_STATUS = """
import sys
from runyard import Run, Workspace
ws = Workspace.from_config()
print(Run.get(ws, sys.argv[1]).get_status())
ws.close()
"""

COMPLETE_RUN = """
import sys
from runyard import Run, Workspace
ws = Workspace.from_config()
Run.get(ws, sys.argv[1]).complete()
ws.close()
"""


def test_run_status_is_seen_by_another_process(experiment: Experiment) -> None:
    run = experiment.start_logging(snapshot_directory=None)
    assert _python(READ_STATUS, run.id) == "Running"

    run.fail("stopped")

    assert _python(READ_STATUS, run.id) == "Failed"


def test_run_get_status_sees_a_change_made_by_another_process(experiment: Experiment) -> None:
    run = experiment.start_logging(snapshot_directory=None)

    _python(COMPLETE_RUN, run.id)

    assert run.status == "Running"  # the cache
    assert run.get_status() == "Completed"
