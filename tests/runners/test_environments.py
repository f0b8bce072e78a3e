"""Declared environments on the local target: real builds (uv, and venv + pip) from the package
index, reuse, failures, and the specifications runyard refuses.

Builds cost seconds: the tests share one cache folder (module-scoped), and the pinned
``six==1.16.0`` environment is built once for all of them (the shared venv has six 1.17.0, so
the version the script sees tells which environment it ran in).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from runyard import CondaDependencies, Environment, Experiment, ScriptRunConfig, Workspace
from runyard.errors import EnvironmentSpecError, StoreError
from runyard.runners.environments import BUILD_LOG, MARKER, _step, conda_tool
from runyard.sdk.script_run import ScriptRun
from runyard.settings import ENV_BUILDER_ENV, ENV_CACHE_ENV
from tests.runners.helpers import write_script

pytestmark = pytest.mark.timeout(240)

SHOW_SIX = """
import sys
import six
from runyard import Run

run = Run.get_context(allow_offline=False)
run.log("six", six.__version__)
print("interpreter", sys.executable)
"""


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("env-cache")


@pytest.fixture(autouse=True)
def _cache(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_CACHE_ENV, str(cache))
    monkeypatch.delenv(ENV_BUILDER_ENV, raising=False)


def _six_env(name: str = "six-env", version: str = "1.16.0") -> Environment:
    env = Environment(name)
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=[f"six=={version}"])
    return env


def _submit(experiment: Experiment, folder: Path, env: Environment | None) -> ScriptRun:
    write_script(folder, "show.py", SHOW_SIX)
    return experiment.submit(ScriptRunConfig(str(folder), "show.py", environment=env))


def _build_log(workspace: Workspace, run: ScriptRun) -> str:
    return workspace.store.read_log(run.id, BUILD_LOG).decode()


def _built(cache: Path) -> list[Path]:
    return [p for p in cache.iterdir() if (p / MARKER).is_file()]


def test_environment_pinned_package_wins_and_second_run_reuses_the_build(
    workspace: Workspace, experiment: Experiment, tmp_path: Path, cache: Path
) -> None:
    first = _submit(experiment, tmp_path, _six_env())
    first.wait_for_completion(raise_on_error=False)

    assert first.get_status() == "Completed", first.get_details().get("error")
    assert first.get_metrics() == {"six": "1.16.0"}  # the shared venv has 1.17.0
    properties = first.get_properties()
    assert properties["runyard.environment.name"] == "six-env"
    assert float(properties["runyard.environment.build_seconds"]) >= 0
    log = _build_log(workspace, first)
    if properties["runyard.environment.reused"] == "false":  # not built by an earlier test
        assert "Built the environment in" in log
        assert "+ six==1.16.0" in log or "six-1.16.0" in log
    folder = cache / properties["runyard.environment.hash"]
    std_log = first.get_details_with_logs()["logFiles"]["user_logs/std_log.txt"]
    assert f"interpreter {folder}/bin/python" in std_log
    assert BUILD_LOG in first.get_file_names() or BUILD_LOG in workspace.store.list_logs(first.id)

    second = _submit(experiment, tmp_path, _six_env("another-name"))
    second.wait_for_completion()

    assert second.get_metrics() == {"six": "1.16.0"}
    assert second.get_properties()["runyard.environment.reused"] == "true"
    assert "Reused the environment built before" in _build_log(workspace, second)
    assert "$ " not in _build_log(workspace, second)  # no build command ran


def test_environment_concurrent_submits_build_once(
    workspace: Workspace, experiment: Experiment, tmp_path: Path, cache: Path
) -> None:
    runs = [_submit(experiment, tmp_path, _six_env(version="1.15.0")) for _ in range(2)]
    for run in runs:
        run.wait_for_completion()

    assert [r.get_metrics() for r in runs] == [{"six": "1.15.0"}] * 2
    reused = sorted(r.get_properties()["runyard.environment.reused"] for r in runs)
    assert reused == ["false", "true"]
    logs = [_build_log(workspace, r) for r in runs]
    assert sum("Built the environment in" in log for log in logs) == 1


def test_environment_failed_build_fails_the_run_and_leaves_nothing(
    workspace: Workspace, experiment: Experiment, tmp_path: Path, cache: Path
) -> None:
    before = _built(cache)
    env = Environment("broken")
    env.python.conda_dependencies = CondaDependencies.create(
        pip_packages=["runyard-no-such-package-anywhere==9.9.9"]
    )
    run = _submit(experiment, tmp_path, env)
    run.wait_for_completion(raise_on_error=False)

    assert run.get_status() == "Failed"
    error = run.get_details()["error"]["error"]
    assert error["code"] == "EnvironmentBuild"
    assert "The environment build failed" in error["message"]
    assert BUILD_LOG in error["message"]
    log = _build_log(workspace, run)
    assert "runyard-no-such-package-anywhere" in log
    assert "FAILED:" in log
    assert _built(cache) == before
    assert not [p for p in cache.iterdir() if p.is_dir() and not (p / MARKER).is_file()]
    assert "user_logs/std_log.txt" not in workspace.store.list_logs(run.id)  # never started


def test_environment_conda_specification_with_pip_packages_builds_with_venv_and_pip(
    workspace: Workspace,
    experiment: Experiment,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    own_cache = tmp_path_factory.mktemp("pip-cache")
    monkeypatch.setenv(ENV_CACHE_ENV, str(own_cache))
    monkeypatch.setenv(ENV_BUILDER_ENV, "pip")
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    spec = tmp_path / "environment.yml"
    spec.write_text(
        "name: project_environment\n"
        f"dependencies:\n  - python={version}\n  - pip\n"
        "  - pip:\n    - six==1.16.0\n    - azureml-defaults\n"
    )
    env = Environment.from_conda_specification("from-conda", spec)
    run = _submit(experiment, tmp_path / "src", env)
    run.wait_for_completion()

    assert run.get_metrics() == {"six": "1.16.0"}
    log = _build_log(workspace, run)
    assert "Builder: venv and pip" in log
    assert "Skipped azureml-defaults" in log
    assert len(_built(own_cache)) == 1


def test_environment_user_managed_runs_with_the_current_interpreter(
    workspace: Workspace, experiment: Experiment, tmp_path: Path
) -> None:
    env = _six_env("user-managed")
    env.python.user_managed_dependencies = True
    run = _submit(experiment, tmp_path, env)
    run.wait_for_completion()

    assert run.get_metrics() == {"six": __import__("six").__version__}
    std_log = run.get_details_with_logs()["logFiles"]["user_logs/std_log.txt"]
    assert f"interpreter {sys.executable}" in std_log
    assert BUILD_LOG not in workspace.store.list_logs(run.id)
    assert "runyard.environment.name" not in run.get_properties()


def test_environment_default_runs_with_the_current_interpreter(
    workspace: Workspace, experiment: Experiment, tmp_path: Path
) -> None:
    run = _submit(experiment, tmp_path, None)
    run.wait_for_completion()

    std_log = run.get_details_with_logs()["logFiles"]["user_logs/std_log.txt"]
    assert f"interpreter {sys.executable}" in std_log
    assert BUILD_LOG not in workspace.store.list_logs(run.id)
    environment = run.get_details()["runDefinition"]["environment"]
    assert environment["name"] == "default-environment"


def test_environment_conda_only_package_without_conda_is_refused_at_submit(
    experiment: Experiment, tmp_path: Path
) -> None:
    if conda_tool() is not None:
        pytest.skip("conda, mamba or micromamba is on the PATH: it would build the package")
    env = Environment("conda-only")
    env.python.conda_dependencies = CondaDependencies.create(conda_packages=["scikit-learn"])
    with pytest.raises(EnvironmentSpecError, match=r"'scikit-learn'.*micromamba"):
        _submit(experiment, tmp_path, env)
    assert list(experiment.get_runs()) == []


@pytest.mark.parametrize(
    "setting", [("enabled", True), ("base_image", "mcr.microsoft.com/azureml/base:latest")]
)
def test_environment_docker_is_refused_at_submit(
    experiment: Experiment, tmp_path: Path, setting: tuple[str, object]
) -> None:
    env = _six_env("docker")
    setattr(env.docker, *setting)
    with pytest.raises(EnvironmentSpecError, match="runs no container"):
        _submit(experiment, tmp_path, env)
    assert list(experiment.get_runs()) == []


def test_environment_python_version_not_installed_is_refused_naming_those_found(
    experiment: Experiment, tmp_path: Path
) -> None:
    env = Environment("old-python")
    env.python.conda_dependencies = CondaDependencies.create(python_version="3.2")
    current = f"{sys.version_info.major}.{sys.version_info.minor}"
    with pytest.raises(EnvironmentSpecError, match=rf"Python 3\.2 is not installed.*{current}"):
        _submit(experiment, tmp_path, env)


def test_environment_build_step_whose_log_fails_ends_its_process() -> None:
    # A store error while logging the tool's output must not leave the tool running (writing
    # into a build folder about to be removed).
    seen: list[str] = []

    def log(line: str) -> None:
        seen.append(line)
        if len(seen) == 2:  # the command line, then the tool's first line
            raise StoreError("the store is away")

    child = "import os, time; print(os.getpid(), flush=True); time.sleep(120)"
    with pytest.raises(StoreError, match="away"):
        _step(log, [sys.executable, "-c", child])
    pid = int(seen[1])
    with pytest.raises(ProcessLookupError):  # killed and reaped
        os.kill(pid, 0)
