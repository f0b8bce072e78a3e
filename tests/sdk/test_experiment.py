"""Experiment: get-or-create, naming, listing, archiving, tags and get_runs (reference §1, §5)."""

from __future__ import annotations

import re
import types
import uuid
from pathlib import Path

import pytest

from runyard import Experiment, Run, RunStatus, Workspace
from runyard.entities import NewRun, ViewType
from runyard.errors import (
    ExperimentExistsError,
    ExperimentNotEmptyError,
    ExperimentNotFoundError,
    InvalidArgumentError,
    InvalidNameError,
    PropertyConflictError,
    UserError,
)
from runyard.sdk.run import run_from_info

NAME_RULE = (
    "Experiment name must be between 1 and 255 characters long. Its first character has to be "
    "alphanumeric, and the rest may contain hyphens and underscores. No whitespace is allowed."
)


def _start(experiment: Experiment, **kwargs: object) -> Run:
    return experiment.start_logging(snapshot_directory=None, **kwargs)


def _stored_run(experiment: Experiment, *, run_type: str | None = None) -> Run:
    """A run created straight in the store, for the kinds the SDK has no call for yet."""
    new = NewRun(run_id=str(uuid.uuid4()), experiment_name=experiment.name, run_type=run_type)
    info = experiment.workspace.store.create_runs([new])[0]
    return Run(experiment, info.run_id)


def _ids(runs: object) -> list[str]:
    assert isinstance(runs, types.GeneratorType)
    return [run.id for run in runs]


# -- get or create -------------------------------------------------------------------------------


def test_experiment_init_gets_or_creates(workspace: Workspace) -> None:
    first = Experiment(workspace, "explore-runs")
    second = Experiment(workspace=workspace, name="explore-runs")

    assert first.id == second.id
    assert first == second
    assert first.name == "explore-runs"
    assert first.workspace is workspace
    assert first.archived_time is None
    assert first.tags == {}
    assert [e.name for e in Experiment.list(workspace)] == ["explore-runs"]


def test_experiment_init_same_id_from_another_workspace_object(
    workspace: Workspace, tmp_path: Path
) -> None:
    first = Experiment(workspace, "explore-runs")

    other = Workspace.from_config(tmp_path)
    try:
        assert Experiment(other, "explore-runs").id == first.id
    finally:
        other.close()


def test_experiment_repr_names_the_experiment_and_workspace(workspace: Workspace) -> None:
    text = repr(Experiment(workspace, "explore-runs"))
    assert "explore-runs" in text
    assert workspace.name in text


@pytest.mark.parametrize(
    "name", ["a", "7", "explore-runs", "A_b-9", "0-start", "x_-", "a" * 255, "Z" + "-" * 254]
)
def test_experiment_name_valid_examples_are_accepted(workspace: Workspace, name: str) -> None:
    assert Experiment(workspace, name).name == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "a" * 256,
        "-leading-hyphen",
        "_leading_underscore",
        " leading-space",
        "has space",
        "tab\there",
        "trailing-space ",
        "trailing-newline\n",
        "dot.name",
        "slash/name",
        "émile",
    ],
)
def test_experiment_name_invalid_examples_raise_the_reference_message(
    workspace: Workspace, name: str
) -> None:
    with pytest.raises(InvalidNameError, match=re.escape(NAME_RULE)) as info:
        Experiment(workspace, name)
    assert isinstance(info.value, UserError)
    assert Experiment.list(workspace, view_type="All") == []


def test_experiment_name_not_a_string_raises(workspace: Workspace) -> None:
    with pytest.raises(InvalidNameError, match=re.escape(NAME_RULE)):
        Experiment(workspace, 42)  # type: ignore[arg-type]


# -- listing and archiving -----------------------------------------------------------------------


def test_experiment_list_view_types(workspace: Workspace) -> None:
    active = Experiment(workspace, "active")
    archived = Experiment(workspace, "archived")
    archived.archive()

    assert Experiment.list(workspace) == [active]
    assert Experiment.list(workspace, view_type="ActiveOnly") == [active]
    assert Experiment.list(workspace, view_type="ArchivedOnly") == [archived]
    assert Experiment.list(workspace, view_type=ViewType.ARCHIVED_ONLY) == [archived]
    assert Experiment.list(workspace, view_type="All") == [active, archived]
    assert isinstance(Experiment.list(workspace), list)


def test_experiment_list_by_name_and_tags(workspace: Workspace) -> None:
    Experiment(workspace, "one").tag("team", "vision")
    Experiment(workspace, "two").tag("team", "nlp")
    Experiment(workspace, "three").tag("draft")

    assert [e.name for e in Experiment.list(workspace, experiment_name="two")] == ["two"]
    assert [e.name for e in Experiment.list(workspace, experiment_name="missing")] == []
    assert [e.name for e in Experiment.list(workspace, tags="team")] == ["one", "two"]
    assert [e.name for e in Experiment.list(workspace, tags={"team": "nlp"})] == ["two"]
    assert [e.name for e in Experiment.list(workspace, tags={"draft": None})] == ["three"]


def test_experiment_list_unknown_view_type_raises(workspace: Workspace) -> None:
    with pytest.raises(InvalidArgumentError, match="ActiveOnly, ArchivedOnly, All"):
        Experiment.list(workspace, view_type="Everything")


def test_experiment_archive_hides_and_reactivate_restores(workspace: Workspace) -> None:
    experiment = Experiment(workspace, "explore-runs")
    run = _start(experiment)

    experiment.archive()
    assert experiment.archived_time is not None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", experiment.archived_time)
    assert Experiment.list(workspace) == []
    again = Experiment(workspace, "explore-runs")
    assert again.id == experiment.id
    assert again.archived_time is not None
    assert _ids(again.get_runs()) == [run.id]

    experiment.reactivate()
    assert experiment.archived_time is None
    assert Experiment.list(workspace) == [experiment]


def test_experiment_tags_set_merge_remove_and_persist(workspace: Workspace) -> None:
    experiment = Experiment(workspace, "explore-runs")
    experiment.tag("owner", "jane")
    experiment.tag("reviewed")
    experiment.set_tags({"owner": "joe", "priority": 1})

    assert experiment.tags == {"owner": "joe", "reviewed": None, "priority": "1"}
    experiment.remove_tags("reviewed")
    experiment.remove_tags(["priority", "not-there"])
    assert experiment.tags == {"owner": "joe"}

    assert Experiment(workspace, "explore-runs").tags == {"owner": "joe"}


def test_experiment_refresh_rereads(workspace: Workspace) -> None:
    experiment = Experiment(workspace, "explore-runs")
    Experiment(workspace, "explore-runs").tag("seen-elsewhere", "yes")

    assert experiment.tags == {}
    experiment.refresh()
    assert experiment.tags == {"seen-elsewhere": "yes"}


def test_experiment_rename_keeps_id_runs_and_tags(workspace: Workspace) -> None:
    experiment = Experiment(workspace, "explore-runs")
    experiment.tag("owner", "jane")
    run = _start(experiment)
    stale = Experiment(workspace, "explore-runs")

    experiment.rename("baseline")
    assert (experiment.name, experiment.tags) == ("baseline", {"owner": "jane"})
    assert _ids(experiment.get_runs()) == [run.id]
    assert [e.name for e in Experiment.list(workspace)] == ["baseline"]
    found = Run.get(workspace, run.id)
    assert found.experiment == experiment
    assert found.experiment.name == "baseline"
    # Another object keeps the old name until refresh(), which reads by id.
    assert stale.name == "explore-runs"
    stale.refresh()
    assert (stale.name, stale.id) == ("baseline", experiment.id)
    assert Run(stale, run.id).id == run.id


def test_experiment_rename_to_a_taken_or_invalid_name_raises(workspace: Workspace) -> None:
    experiment = Experiment(workspace, "mine")
    Experiment(workspace, "taken").archive()
    with pytest.raises(ExperimentExistsError, match="archived ones count too"):
        experiment.rename("taken")
    with pytest.raises(InvalidNameError):
        experiment.rename("has space")
    assert experiment.name == "mine"
    assert sorted(e.name for e in Experiment.list(workspace, view_type=ViewType.ALL)) == [
        "mine",
        "taken",
    ]


def test_experiment_runs_read_after_a_rename_elsewhere_create_no_experiment(
    workspace: Workspace,
) -> None:
    """A run read while its experiment had its old name still finds its experiment, by id:
    nothing recreates an experiment of the old name."""
    experiment = Experiment(workspace, "old-name")
    run = _start(experiment)
    info = workspace.store.get_run(run.id)
    workspace.store.rename_experiment("old-name", "new-name")
    again = run_from_info(workspace, info)
    assert again.experiment.id == experiment.id
    assert again.experiment.name == "new-name"
    assert [e.name for e in Experiment.list(workspace, view_type=ViewType.ALL)] == ["new-name"]


# -- get_runs ------------------------------------------------------------------------------------


def test_experiment_get_runs_is_a_lazy_generator_newest_first(experiment: Experiment) -> None:
    first = _start(experiment)
    second = _start(experiment)

    runs = experiment.get_runs()
    assert isinstance(runs, types.GeneratorType)
    third = _start(experiment)  # started after the call: the generator has not queried yet

    found = list(runs)
    assert [r.id for r in found] == [third.id, second.id, first.id]
    assert all(isinstance(r, Run) for r in found)
    assert found[0].experiment is experiment


def test_experiment_get_runs_pages_through_many_runs(experiment: Experiment) -> None:
    store = experiment.workspace.store
    news = [NewRun(run_id=f"bulk-{i:04d}", experiment_name=experiment.name) for i in range(510)]
    store.create_runs(news)

    ids = _ids(experiment.get_runs())

    assert ids == [f"bulk-{i:04d}" for i in reversed(range(510))]


def test_experiment_get_runs_only_this_experiment(workspace: Workspace) -> None:
    mine = Experiment(workspace, "mine")
    theirs = Experiment(workspace, "theirs")
    run = _start(mine)
    _start(theirs)

    assert _ids(mine.get_runs()) == [run.id]


def test_experiment_get_runs_excludes_children_unless_asked(experiment: Experiment) -> None:
    parent = _start(experiment)
    child = parent.child_run()
    grandchild = child.child_run()

    assert _ids(experiment.get_runs()) == [parent.id]
    assert _ids(experiment.get_runs(include_children=True)) == [grandchild.id, child.id, parent.id]


def test_experiment_get_runs_tag_key_matches_any_value_including_none(
    experiment: Experiment,
) -> None:
    with_value = _start(experiment, tags={"reviewed": "yes"})
    value_less = _start(experiment)
    value_less.tag("reviewed")
    _start(experiment, tags={"other": "x"})

    assert _ids(experiment.get_runs(tags="reviewed")) == [value_less.id, with_value.id]


def test_experiment_get_runs_tag_dict_matches_the_value(experiment: Experiment) -> None:
    great = _start(experiment, tags={"quality": "great run"})
    _start(experiment, tags={"quality": "poor run"})
    ranked = _start(experiment, tags={"rank": 1})
    untagged = _start(experiment)
    untagged.tag("quality")

    assert _ids(experiment.get_runs(tags={"quality": "great run"})) == [great.id]
    assert _ids(experiment.get_runs(tags={"rank": 1})) == [ranked.id]
    assert _ids(experiment.get_runs(tags={"rank": "1"})) == [ranked.id]
    assert _ids(experiment.get_runs(tags={"quality": "missing"})) == []


def test_experiment_get_runs_tag_none_matches_only_value_less(experiment: Experiment) -> None:
    _start(experiment, tags={"flag": "set"})
    value_less = _start(experiment)
    value_less.tag("flag")
    _start(experiment)

    assert _ids(experiment.get_runs(tags={"flag": None})) == [value_less.id]


def test_experiment_get_runs_properties_filter(experiment: Experiment) -> None:
    by_jane = _start(experiment)
    by_jane.add_properties({"author": "jane"})
    by_joe = _start(experiment)
    by_joe.add_properties({"author": "joe"})
    _start(experiment)

    assert _ids(experiment.get_runs(properties={"author": "jane"})) == [by_jane.id]
    assert _ids(experiment.get_runs(properties="author")) == [by_joe.id, by_jane.id]


def test_experiment_get_runs_status_filter(experiment: Experiment) -> None:
    done = _start(experiment)
    done.complete()
    failed = _start(experiment)
    failed.fail()
    running = _start(experiment)

    assert _ids(experiment.get_runs(status="Completed")) == [done.id]
    assert _ids(experiment.get_runs(status=RunStatus.FAILED)) == [failed.id]
    assert _ids(experiment.get_runs(status="running")) == [running.id]
    with pytest.raises(InvalidArgumentError, match="Unknown run status"):
        experiment.get_runs(status="Finished")


def test_experiment_get_runs_type_filter(experiment: Experiment) -> None:
    script = _stored_run(experiment, run_type="azureml.scriptrun")
    _start(experiment)

    assert _ids(experiment.get_runs(type="azureml.scriptrun")) == [script.id]
    assert _ids(experiment.get_runs(type="other")) == []


def test_experiment_get_runs_filters_are_anded(experiment: Experiment) -> None:
    target = _start(experiment, tags={"quality": "great", "reviewed": None})
    target.add_properties({"author": "jane"})
    target.complete()
    tags_only = _start(experiment, tags={"quality": "great", "reviewed": None})
    tags_only.complete()
    wrong_status = _start(experiment, tags={"quality": "great", "reviewed": None})
    wrong_status.add_properties({"author": "jane"})

    found = _ids(
        experiment.get_runs(
            tags={"quality": "great", "reviewed": None},
            properties={"author": "jane"},
            status="Completed",
        )
    )

    assert found == [target.id]


@pytest.mark.parametrize("argument", ["tags", "properties"])
@pytest.mark.parametrize("value", [1, ["quality"], ("a", "b"), {"quality"}])
def test_experiment_get_runs_unknown_filter_type_raises(
    experiment: Experiment, argument: str, value: object
) -> None:
    _start(experiment)

    with pytest.raises(InvalidArgumentError, match=f"Unknown filter type for run {argument}"):
        list(experiment.get_runs(**{argument: value}))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        list(experiment.get_runs(**{argument: value}))  # type: ignore[arg-type]


# -- the seed's tag-and-find cells ---------------------------------------------------------------


def test_experiment_get_runs_seed_tag_and_find_cells(experiment: Experiment) -> None:
    decoy_props = _start(experiment)
    decoy_props.add_properties({"author": "azureml-user"})
    decoy_props.tag("quality", "great run")
    decoy_tags = _start(experiment)
    decoy_tags.add_properties({"author": "someone-else"})
    decoy_tags.tag("quality", "fantastic run")
    decoy_tags.tag("worth another look")
    decoy_unowned = _start(experiment)
    decoy_unowned.tag("worth another look")

    local_script_run = _start(experiment)
    local_script_run.add_properties({"author": "azureml-user"})
    assert local_script_run.get_properties()["author"] == "azureml-user"
    with pytest.raises(PropertyConflictError):
        local_script_run.add_properties({"author": "different-user"})
    local_script_run.tag("quality", "great run")
    assert local_script_run.get_tags() == {"quality": "great run"}
    local_script_run.tag("quality", "fantastic run")
    assert local_script_run.get_tags() == {"quality": "fantastic run"}
    local_script_run.tag("worth another look")
    assert local_script_run.get_tags() == {"quality": "fantastic run", "worth another look": None}

    child = local_script_run.child_run()
    child.add_properties({"author": "azureml-user"})
    child.set_tags({"quality": "fantastic run", "worth another look": None})

    by_value = list(
        experiment.get_runs(
            properties={"author": "azureml-user"}, tags={"quality": "fantastic run"}
        )
    )
    by_key = list(
        experiment.get_runs(properties={"author": "azureml-user"}, tags="worth another look")
    )

    assert by_value == [local_script_run]
    assert by_key == [local_script_run]
    assert by_value[0].get_properties()["author"] == "azureml-user"


def test_experiment_reactivate_with_new_name_renames_and_unarchives(
    workspace: Workspace,
) -> None:
    old = Experiment(workspace, "old-name")
    old.archive()

    old.reactivate(new_name="new-name")

    assert old.name == "new-name"
    assert old.archived_time is None
    assert [e.name for e in Experiment.list(workspace)] == ["new-name"]


def test_experiment_delete_removes_an_empty_one_and_refuses_one_with_runs(
    workspace: Workspace,
) -> None:
    empty = Experiment(workspace, "empty")
    busy = Experiment(workspace, "busy")
    busy.start_logging(snapshot_directory=None, outputs=False).complete()

    Experiment.delete(workspace, empty.id)
    with pytest.raises(ExperimentNotEmptyError, match="busy"):
        Experiment.delete(workspace, busy.id)

    assert [e.name for e in Experiment.list(workspace, view_type="All")] == ["busy"]
    with pytest.raises(ExperimentNotFoundError):
        Experiment.delete(workspace, empty.id)
