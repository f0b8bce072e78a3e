"""Every run object behaves the same however it was obtained: ``Run.list`` (reference §5),
``Run.name``, and ``wait_for_completion``, ``get_details_with_logs``, ``get_all_logs`` and
``clean`` on interactive runs."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

from runyard import Experiment, Run
from runyard.errors import ActivityFailedError, InvalidFilterTypeError

USER_LOG = "logs/user_log.txt"


def _start(experiment: Experiment, **kwargs: object) -> Run:
    return experiment.start_logging(snapshot_directory=None, outputs=False, **kwargs)


def test_run_list_is_newest_first_top_level_and_filters(experiment: Experiment) -> None:
    first = _start(experiment, tags={"quality": "great", "flag": None})
    first.complete()
    second = _start(experiment)
    second.add_properties({"author": "ann"})
    child = second.child_run()

    listed = Run.list(experiment)

    assert not isinstance(listed, list)  # a generator, as in Azure ML
    assert [r.id for r in listed] == [second.id, first.id]
    assert [r.id for r in Run.list(experiment, status="Completed")] == [first.id]
    assert [r.id for r in Run.list(experiment, status="Running")] == [second.id]
    assert [r.id for r in Run.list(experiment, tags="flag")] == [first.id]
    assert [r.id for r in Run.list(experiment, tags={"quality": "great"})] == [first.id]
    assert [r.id for r in Run.list(experiment, properties={"author": "ann"})] == [second.id]
    with_children = Run.list(experiment, status="Running", include_children=True)
    assert sorted(r.id for r in with_children) == sorted([second.id, child.id])
    assert list(Run.list(experiment, type="azureml.scriptrun")) == []


def test_run_list_unknown_filter_type_is_a_value_error(experiment: Experiment) -> None:
    with pytest.raises(ValueError, match="Unknown filter type for run tags: <class 'int'>"):
        Run.list(experiment, tags=3)  # type: ignore[arg-type]
    with pytest.raises(InvalidFilterTypeError, match="run properties"):
        experiment.get_runs(properties=["a"])  # type: ignore[arg-type]


def test_run_name_is_the_display_name_else_run_id(experiment: Experiment) -> None:
    named = _start(experiment, display_name="baseline")
    unnamed = _start(experiment)

    assert named.name == "baseline"
    assert unnamed.name == f"run_{unnamed.id}"
    assert Run(experiment, unnamed.id).name == f"run_{unnamed.id}"


def test_run_wait_for_completion_of_an_interactive_run_polls_until_it_ends(
    experiment: Experiment,
) -> None:
    run = _start(experiment)
    attached = Run(experiment, run.id)
    ender = threading.Timer(0.3, run.complete)
    ender.start()
    out = io.StringIO()

    details = attached.wait_for_completion(show_output=True, file=out)

    ender.join()
    assert details["status"] == "Completed"
    text = out.getvalue()
    assert text.startswith(f"RunId: {run.id}\n")
    assert "Streaming" not in text  # no log: nothing to stream, and no error
    assert f"\nExecution Summary\n=================\nRunId: {run.id}\n" in text


def test_run_wait_for_completion_streams_an_interactive_runs_log(experiment: Experiment) -> None:
    run = _start(experiment)
    store = experiment.workspace.store
    store.append_log(run.id, USER_LOG, b"epoch 1\n")
    run.fail("diverged")
    out = io.StringIO()

    with pytest.raises(ActivityFailedError, match="diverged"):
        Run(experiment, run.id).wait_for_completion(show_output=True, file=out)
    details = Run(experiment, run.id).wait_for_completion(raise_on_error=False)

    assert f"\nStreaming {USER_LOG}\n{'=' * (len(USER_LOG) + 10)}\n\nepoch 1\n" in out.getvalue()
    assert details["status"] == "Failed"
    assert details["logFiles"] == {USER_LOG: f"runyard://logs/{run.id}/{USER_LOG}"}


def test_run_logs_of_an_interactive_run(experiment: Experiment, tmp_path: Path) -> None:
    run = _start(experiment)
    assert run.get_details_with_logs()["logFiles"] == {}
    assert run.get_all_logs(destination=tmp_path / "none") == []
    experiment.workspace.store.append_log(run.id, USER_LOG, b"hello\n")

    with_logs = Run.get(experiment.workspace, run.id).get_details_with_logs()
    paths = next(experiment.get_runs()).get_all_logs(destination=tmp_path / "logs")

    assert with_logs["logFiles"] == {USER_LOG: "hello\n"}
    assert paths == [str(tmp_path / "logs" / USER_LOG)]
    assert Path(paths[0]).read_text() == "hello\n"
    assert run.clean() == []  # an interactive run has no files on a target
    run.complete()


def test_run_wait_for_completion_of_a_finished_run_returns_at_once(
    experiment: Experiment,
) -> None:
    run = _start(experiment)
    run.cancel()
    out = io.StringIO()

    details = Run(experiment, run.id).wait_for_completion(show_output=True, file=out)

    assert details["status"] == "Canceled"  # Canceled returns normally
    assert "Execution Summary" in out.getvalue()
