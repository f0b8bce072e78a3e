"""``Run.get_context()`` outside a submitted run: the offline run has every method of ``Run``
and prints what it would record (ref. §1 "_OfflineRun"); with ``RUNYARD_EXPERIMENT`` set, a real
run is started instead (real subprocesses)."""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from runyard import Experiment, Run, Workspace
from runyard.errors import (
    ArtifactNotFoundError,
    MetricNotFoundError,
    RunEnvironmentError,
    SnapshotNotFoundError,
)
from runyard.sdk.context import OfflineRun

EXPERIMENT_ENV = "RUNYARD_EXPERIMENT"


def _public(cls: type) -> dict[str, Any]:
    return {
        name: inspect.getattr_static(cls, name) for name in dir(cls) if not name.startswith("_")
    }


def _callable(member: Any) -> Any:
    return member.__func__ if isinstance(member, (staticmethod, classmethod)) else member


def _parameters(function: Any, bound: bool) -> list[inspect.Parameter]:
    parameters = list(inspect.signature(function).parameters.values())
    return parameters[1:] if bound else parameters


def _incompatible(run_member: Any, offline_member: Any) -> str | None:
    """Why a call that ``Run``'s method takes would fail on OfflineRun's (None: it would not)."""
    if isinstance(run_member, property):
        return None if not callable(offline_member) else "a method, not an attribute"
    if not callable(offline_member) and not isinstance(offline_member, staticmethod):
        return "not a method"
    bound_run = not isinstance(run_member, staticmethod)
    bound_offline = not isinstance(offline_member, staticmethod)
    theirs = _parameters(_callable(run_member), bound_run)
    ours = {p.name: p for p in _parameters(_callable(offline_member), bound_offline)}
    kinds = {p.kind for p in ours.values()}
    for parameter in theirs:
        if parameter.kind is parameter.VAR_KEYWORD or parameter.kind is parameter.VAR_POSITIONAL:
            if parameter.kind not in kinds:
                return f"takes no {parameter}"
            continue
        mine = ours.get(parameter.name)
        if mine is None and parameter.VAR_KEYWORD not in kinds:
            return f"has no parameter {parameter.name!r}"
        if mine is not None and mine.default is mine.empty and parameter.default is not mine.empty:
            return f"requires {parameter.name!r}, which Run's method does not"
    names = {p.name for p in theirs}
    for name, parameter in ours.items():
        required = parameter.default is parameter.empty and parameter.kind in (
            parameter.POSITIONAL_ONLY,
            parameter.POSITIONAL_OR_KEYWORD,
            parameter.KEYWORD_ONLY,
        )
        if required and name not in names:
            return f"requires {name!r}, which Run's method does not take"
    # positional order: Run's positional parameters come in the same order
    positional = [p.name for p in theirs if p.kind is p.POSITIONAL_OR_KEYWORD]
    mine_positional = [p.name for p in ours.values() if p.kind is p.POSITIONAL_OR_KEYWORD]
    if mine_positional[: len(positional)] != positional:
        return f"positional parameters {mine_positional}, Run's are {positional}"
    return None


def test_offline_run_has_every_public_member_of_run_with_a_compatible_signature() -> None:
    offline = _public(OfflineRun)
    instance = OfflineRun()
    problems = []
    for name, member in _public(Run).items():
        if name not in offline and not hasattr(instance, name):
            problems.append(f"{name}: missing")
            continue
        found = offline.get(name, getattr(instance, name, None))
        why = _incompatible(member, found)
        if why:
            problems.append(f"{name}: {why}")
    assert problems == []


def _assert_printed(capsys: pytest.CaptureFixture[str], *lines: str) -> None:
    out = capsys.readouterr().out
    missing = [line for line in lines if f"Attempted to {line}" not in out]
    assert missing == [], out


def test_offline_run_log_takes_a_step_and_prints_like_azure(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = Run.get_context()
    assert isinstance(run, OfflineRun)
    for epoch in range(2):
        run.log("loss", 0.5 / (epoch + 1), step=epoch)
    run.log("accuracy", 0.9)
    run.log_confusion_matrix("cm", {"matrix": [[1]]})
    run.log_accuracy_table("acc", "{}")
    run.log_residuals("res", {"a": 1})
    run.log_predictions("pred", {"b": 2})
    _assert_printed(
        capsys,
        "log scalar metric loss (step 1):\n0.25\n",
        "log scalar metric accuracy:\n0.9\n",
        "log confusion_matrix metric cm:\n{'matrix': [[1]]}\n",
        "log accuracy_table metric acc:\n{}\n",
        "log residuals metric res:\n{'a': 1}\n",
        "log predictions metric pred:\n{'b': 2}\n",
    )


def test_offline_run_uploads_print_what_would_be_uploaded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = OfflineRun()
    (tmp_path / "out" / "sub").mkdir(parents=True)
    (tmp_path / "out" / "a.txt").write_text("a")
    (tmp_path / "out" / "sub" / "b.txt").write_text("b")
    run.upload_file("model.pkl", "model.pkl")
    run.upload_files(["x.txt"], ["local/x.txt"])
    run.upload_folder("outputs", tmp_path / "out")
    run.register_model("churn", model_path="outputs/model.pkl")
    _assert_printed(
        capsys,
        "upload file model.pkl from model.pkl\n",
        "upload file x.txt from local/x.txt\n",
        f"upload file outputs/a.txt from {tmp_path / 'out' / 'a.txt'}\n",
        f"upload file outputs/sub/b.txt from {tmp_path / 'out' / 'sub' / 'b.txt'}\n",
        "register model churn from outputs/model.pkl\n",
    )
    assert run.get_file_names() == []
    assert run.get_models() == []
    assert run.download_files() == []
    with pytest.raises(ArtifactNotFoundError):
        run.download_file("model.pkl")


def test_offline_run_reading_calls_answer_as_documented(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = OfflineRun()
    run.tag("quality", "great")
    run.tag("rank", 1)
    run.remove_tags("quality")
    run.add_properties({"author": "me"})
    assert run.get_tags() == {"rank": "1"}
    assert run.get_properties() == {"author": "me"}
    assert run.get_status() == "Running"
    assert run.get_metrics() == {}
    assert run.get_details()["status"] == "Running"
    assert run.wait_for_completion(show_output=True)["runId"] == run.id
    assert list(run.get_children()) == []
    assert run.parent is None
    with pytest.raises(MetricNotFoundError):
        run.get_metric_history("loss")
    with pytest.raises(SnapshotNotFoundError):
        run.restore_snapshot()
    with pytest.raises(RunEnvironmentError):
        run.submit_child(object())
    children = run.create_children(count=2)
    assert [c.parent for c in children] == [run, run]
    assert children[0].id.startswith(f"{run.id}.")
    with run.child_run("step") as child:
        assert child.id == f"{run.id}.step"
    run.complete()
    assert run.get_status() == "Completed"
    run.fail("too late")  # an ended run keeps its status, as a stored one does
    assert run.get_status() == "Completed"
    out = capsys.readouterr().out
    assert f"[START] Run {run.id}.step context\n" in out
    assert "Attempted to add tag quality with value great" in out
    assert "Attempted to add properties {'author': 'me'}" in out
    assert "Run failed with error code UserError:\ntoo late" in out


def _script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "train.py"
    path.write_text(textwrap.dedent(body))
    return [sys.executable, str(path)]


@pytest.fixture
def opted_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workspace: Workspace) -> Workspace:
    monkeypatch.setenv(EXPERIMENT_ENV, "direct")
    return workspace


def test_experiment_env_starts_a_real_run_completed_at_exit(
    tmp_path: Path, opted_in: Workspace
) -> None:
    body = """
    from runyard import Run

    run = Run.get_context()
    assert run is Run.get_context()
    run.log("loss", 0.5, step=0)
    run.tag("mode", "direct")
    print("RUN", run.id, run.get_status())
    """
    done = subprocess.run(
        _script(tmp_path, body), cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    run_id, status = done.stdout.split()[1:3]
    assert status == "Running"
    run = Run.get(opted_in, run_id)
    assert run.experiment.name == "direct"
    assert run.get_status() == "Completed"
    assert run.get_metrics() == {"loss": 0.5}
    assert run.get_tags() == {"mode": "direct"}
    assert "ContentSnapshotId" in run.get_properties()


def test_experiment_env_run_fails_when_the_script_dies_of_an_exception(
    tmp_path: Path, opted_in: Workspace
) -> None:
    body = """
    from runyard import Run

    run = Run.get_context(allow_offline=False)
    print("RUN", run.id, flush=True)
    raise ValueError("diverged")
    """
    done = subprocess.run(
        _script(tmp_path, body), cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    run = Run.get(opted_in, done.stdout.split()[1])
    assert run.get_status() == "Failed"
    error = run.get_details()["error"]["error"]
    assert error["message"] == "User program failed with ValueError: diverged"


def test_without_experiment_env_get_context_stays_offline(experiment: Experiment) -> None:
    assert isinstance(Run.get_context(), OfflineRun)
    with pytest.raises(RunEnvironmentError, match=EXPERIMENT_ENV):
        Run.get_context(allow_offline=False)
