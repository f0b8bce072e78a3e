"""Environment, CondaDependencies and RunConfiguration.environment, as Azure ML's; registered
environments versioned in the workspace."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from runyard import CondaDependencies, Environment, RunConfiguration, ScriptRunConfig, Workspace
from runyard.errors import EnvironmentNotFoundError, EnvironmentSpecError, UserError
from runyard.runners.environments import EnvironmentSpec

CURRENT = f"{sys.version_info.major}.{sys.version_info.minor}"


def test_environment_defaults_are_azures() -> None:
    env = Environment("my-env")
    assert env.name == "my-env" and env.version is None
    assert env.python.user_managed_dependencies is False
    assert env.python.interpreter_path == "python"
    assert isinstance(env.python.conda_dependencies, CondaDependencies)
    assert env.environment_variables == {}
    assert env.docker.enabled is False and env.docker.base_image is None
    # the rest of Azure's Docker section reads and sets (samples print it), unused here
    assert env.docker.base_image_registry.address is None
    env.docker.base_image_registry.address = "myregistry.azurecr.io"
    assert env.docker.shared_volumes is True and env.docker.gpu_support is False


def test_run_configuration_environment_default_is_settable() -> None:
    rc = RunConfiguration()
    rc.environment.python.user_managed_dependencies = True  # the line of many Azure samples
    assert rc.to_definition()["environment"]["python"]["userManagedDependencies"] is True
    assert RunConfiguration().environment.name == "default-environment"


def test_run_configuration_default_environment_builds_nothing() -> None:
    definition = RunConfiguration(script="x.py").to_definition()
    assert EnvironmentSpec.from_definition(definition) is None


def test_script_run_config_environment_variables_merge(tmp_path: Path) -> None:
    (tmp_path / "s.py").write_text("")
    env = Environment("vars")
    env.environment_variables = {"A": "env", "B": "env"}
    config = ScriptRunConfig(str(tmp_path), "s.py", environment=env)
    config.run_config.environment_variables["B"] = "run"
    assert config.run_config.to_definition()["environmentVariables"] == {"A": "env", "B": "run"}


def test_conda_dependencies_create_and_serialize() -> None:
    cd = CondaDependencies.create(
        pip_packages=["six==1.16.0"], conda_packages=["numpy"], python_version="3.11"
    )
    cd.add_pip_package("six==1.15.0")  # replaces the one of that name
    assert cd.pip_packages == ["six==1.15.0"]
    assert cd.conda_packages == ["numpy"]
    assert cd.get_python_version() == "3.11"
    text = cd.serialize_to_string()
    assert "python=3.11" in text and "six==1.15.0" in text
    assert CondaDependencies.create().get_python_version() == CURRENT


def test_conda_dependencies_round_trip_through_a_file(tmp_path: Path) -> None:
    cd = CondaDependencies.create(pip_packages=["tomli==2.0.1"])
    path = cd.save_to_file(tmp_path)
    assert CondaDependencies(conda_dependencies_file_path=path) == cd


def test_environment_from_pip_requirements(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# pinned\nsix==1.16.0\n\n--extra-index-url https://x/simple\ntomli\n")
    env = Environment.from_pip_requirements("reqs", requirements)
    deps = env.python.conda_dependencies
    assert deps is not None
    assert deps.pip_packages == ["six==1.16.0", "tomli"]
    assert deps.pip_options == ["--extra-index-url https://x/simple"]


def test_environment_from_files_missing_raise(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="not found"):
        Environment.from_pip_requirements("x", tmp_path / "missing.txt")
    with pytest.raises(UserError, match="not found"):
        Environment.from_conda_specification("x", tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(UserError, match="not a conda specification"):
        Environment.from_conda_specification("x", bad)


def test_environment_spec_skips_azureml_packages_and_current_python() -> None:
    env = Environment("azure-sample")
    env.python.conda_dependencies = CondaDependencies.create(
        pip_packages=["azureml-defaults", "six"], python_version=CURRENT
    )
    spec = EnvironmentSpec.from_definition({"environment": env._serialize_to_dict()})
    assert spec is not None
    assert spec.pip == ("six",) and spec.skipped == ("azureml-defaults",)
    assert spec.python_version is None
    only_azure = Environment("only-azure")
    only_azure.python.conda_dependencies = CondaDependencies.create(pip_packages=["azureml-core"])
    # Only Azure's SDK: nothing left to build, the current interpreter runs it.
    assert EnvironmentSpec.from_definition({"environment": only_azure._serialize_to_dict()}) is None


def test_environment_register_versions_and_get(workspace: Workspace) -> None:
    env = Environment("train")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["six==1.16.0"])
    registered = env.register(workspace)
    assert registered.version == "1" and env.version == "1"
    env.python.conda_dependencies.add_pip_package("tomli")
    assert env.register(workspace).version == "2"

    latest = Environment.get(workspace, "train")
    assert latest.version == "2"
    assert latest.python.conda_dependencies is not None
    assert latest.python.conda_dependencies.pip_packages == ["six==1.16.0", "tomli"]
    first = Environment.get(workspace, "train", version="1")
    assert first.python.conda_dependencies is not None
    assert first.python.conda_dependencies.pip_packages == ["six==1.16.0"]
    assert {name: e.version for name, e in Environment.list(workspace).items()} == {"train": "2"}


def test_environment_get_missing_raises(workspace: Workspace) -> None:
    with pytest.raises(EnvironmentNotFoundError, match="runyard environments list"):
        Environment.get(workspace, "nope")


def test_environment_curated_name_is_refused_with_what_to_do(workspace: Workspace) -> None:
    with pytest.raises(EnvironmentSpecError, match=r"curated.*CondaDependencies\.create"):
        Environment.get(workspace, "AzureML-sklearn-1.0-ubuntu20.04-py38-cpu")
    with pytest.raises(EnvironmentSpecError, match="curated"):
        Environment("AzureML-Minimal").register(workspace)
