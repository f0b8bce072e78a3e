"""Environment: the Python packages and variables a submitted script runs with (Azure ML's).

On the local target, an environment that declares packages (or another Python version) is
built once into a cached virtual environment, keyed by a hash of its specification, and the
script runs with that interpreter (``runners/environments.py``). One that declares nothing, or
sets ``python.user_managed_dependencies = True``, runs with the submitter's interpreter (or
``python.interpreter_path``), as before. Registered environments are versioned in the
workspace's store (``register``, ``Environment.get``, ``Environment.list``).

runyard's decision: ``RunConfiguration().environment`` (and ``ScriptRunConfig`` without
``environment=``) is ``Environment("default-environment")``, which declares nothing and so runs
with the current interpreter: no build, as runyard always did.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runyard.entities import EnvironmentInfo
from runyard.errors import EnvironmentSpecError, InvalidArgumentError, UserError
from runyard.sdk.conda import CondaDependencies

if TYPE_CHECKING:
    from runyard.sdk.workspace import Workspace

DEFAULT_ENVIRONMENT_NAME = "default-environment"
DEFAULT_INTERPRETER = "python"
CURATED_PREFIX = "azureml-"


@dataclass
class PythonSection:
    """``env.python``: how the script's Python is set up."""

    user_managed_dependencies: bool = False
    """True: run with ``interpreter_path`` (default: the submitter's) and build nothing."""
    interpreter_path: str = DEFAULT_INTERPRETER
    """The interpreter of a user-managed environment (``python``: the submitter's)."""
    conda_dependencies: CondaDependencies | None = None
    conda_dependencies_file: str | None = None
    base_conda_environment: str | None = None

    def __post_init__(self) -> None:
        if self.conda_dependencies is None:
            self.conda_dependencies = CondaDependencies()


@dataclass
class ContainerRegistry:
    """``env.docker.base_image_registry``: where Azure pulls a base image from. Kept for code
    that sets or prints it; runyard pulls no image."""

    address: str | None = None
    username: str | None = None
    password: str | None = None


@dataclass
class DockerSection:
    """``env.docker``: accepted so that samples which turn Docker off run; runyard runs no
    container, so asking for one (``enabled``, ``base_image``, ``base_dockerfile``) is refused
    at submit."""

    enabled: bool = False
    base_image: str | None = None
    base_dockerfile: str | None = None
    shm_size: str | None = None
    arguments: list[str] | None = None
    base_image_registry: ContainerRegistry = field(default_factory=ContainerRegistry)
    shared_volumes: bool = True
    gpu_support: bool = False


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 255 or "/" in name:
        raise InvalidArgumentError(
            f"An environment name must be 1 to 255 characters without '/', got {name!r}."
        )
    return name


def curated_error(name: str) -> EnvironmentSpecError:
    """The error for an Azure curated environment name (``AzureML-...``)."""
    return EnvironmentSpecError(
        f"{name!r} is one of Azure ML's curated environments (Docker images kept by Azure); "
        "runyard cannot use it. Declare an equivalent instead: "
        "env = Environment('my-env'); env.python.conda_dependencies = "
        "CondaDependencies.create(pip_packages=['scikit-learn', ...]), or "
        "Environment.from_pip_requirements('my-env', 'requirements.txt'), "
        "or set env.python.user_managed_dependencies = True to use the current interpreter."
    )


class Environment:
    """The packages, Python and environment variables a submitted script runs with.

    Args:
        name: the environment's name (what ``register`` versions).

    Raises:
        InvalidArgumentError: the name is empty, longer than 255 characters or holds '/'.
    """

    def __init__(self, name: str, **_: Any) -> None:
        self.name = _check_name(name)
        self.version: str | None = None
        self.python = PythonSection()
        self.docker = DockerSection()
        self.environment_variables: dict[str, str] = {}

    # -- declared from files -------------------------------------------------------------------

    @staticmethod
    def from_pip_requirements(
        name: str, file_path: str | os.PathLike[str], pip_version: str | None = None
    ) -> Environment:
        """An environment with the requirements of a pip requirements file.

        Raises:
            UserError: the file is missing.
        """
        path = Path(file_path)
        if not path.is_file():
            raise UserError(f"Requirements file {str(path)!r} was not found.")
        env = Environment(name)
        deps = CondaDependencies()
        if pip_version:
            deps.add_conda_package(f"pip={pip_version}")
        for line in path.read_text().splitlines():
            line = line.split(" #")[0].strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("-"):
                deps.set_pip_option(line)
            else:
                deps.add_pip_package(line)
        env.python.conda_dependencies = deps
        return env

    @staticmethod
    def from_conda_specification(name: str, file_path: str | os.PathLike[str]) -> Environment:
        """An environment from a conda specification (``environment.yml``).

        Raises:
            UserError: the file is missing or not a conda specification.
        """
        env = Environment(name)
        env.python.conda_dependencies = CondaDependencies(conda_dependencies_file_path=file_path)
        return env

    @staticmethod
    def from_existing_conda_environment(name: str, conda_environment_name: str) -> Environment:
        """Not supported: raises ``EnvironmentSpecError`` saying what to do instead."""
        raise EnvironmentSpecError(
            f"runyard cannot copy the conda environment {conda_environment_name!r}. Export it "
            "(conda env export > environment.yml) and use "
            "Environment.from_conda_specification, or set "
            "python.user_managed_dependencies = True and python.interpreter_path to its python."
        )

    # -- the store -----------------------------------------------------------------------------

    def register(self, workspace: Workspace) -> Environment:
        """Register this environment in the workspace as the next version of its name.

        Returns:
            Environment: the registered version (this object also gets its ``version``).
        """
        if self.name.lower().startswith(CURATED_PREFIX):
            raise curated_error(self.name)
        info = workspace.store.register_environment(self.name, self._serialize_to_dict())
        self.version = info.version
        return Environment._from_info(info)

    @staticmethod
    def get(workspace: Workspace, name: str, version: str | None = None) -> Environment:
        """The registered environment ``name`` (its latest version unless ``version``).

        Raises:
            EnvironmentNotFoundError: no such environment or version.
            EnvironmentSpecError: ``name`` is an Azure curated environment.
        """
        if isinstance(name, str) and name.lower().startswith(CURATED_PREFIX):
            raise curated_error(name)
        _check_name(name)
        found = workspace.store.get_environment(name, None if version is None else str(version))
        return Environment._from_info(found)

    @staticmethod
    def list(workspace: Workspace) -> dict[str, Environment]:
        """The workspace's registered environments: name -> latest version."""
        return {
            info.name: Environment._from_info(info) for info in workspace.store.list_environments()
        }

    @staticmethod
    def _from_info(info: EnvironmentInfo) -> Environment:
        env = Environment._deserialize(info.definition)
        env.name = info.name
        env.version = info.version
        return env

    # -- (de)serialising -----------------------------------------------------------------------

    def _serialize_to_dict(self) -> dict[str, Any]:
        """The environment as Azure ML serialises it (the run definition's ``environment``)."""
        python = self.python
        conda = python.conda_dependencies
        if conda is not None and not isinstance(conda, CondaDependencies):
            raise InvalidArgumentError(
                "python.conda_dependencies must be a CondaDependencies, got "
                f"{type(conda).__name__}."
            )
        variables = self.environment_variables
        if not isinstance(variables, Mapping):
            raise InvalidArgumentError("environment_variables must be a dict of str to str.")
        return {
            "name": self.name,
            "version": self.version,
            "python": {
                "interpreterPath": python.interpreter_path,
                "userManagedDependencies": bool(python.user_managed_dependencies),
                "condaDependencies": conda.as_dict() if conda is not None else None,
                "baseCondaEnvironment": python.base_conda_environment,
            },
            "environmentVariables": {str(k): str(v) for k, v in variables.items()},
            "docker": {
                "enabled": bool(self.docker.enabled),
                "baseImage": self.docker.base_image,
                "baseDockerfile": self.docker.base_dockerfile,
            },
        }

    @staticmethod
    def _deserialize(definition: Mapping[str, Any]) -> Environment:
        env = Environment(str(definition.get("name") or DEFAULT_ENVIRONMENT_NAME))
        env.version = definition.get("version")
        python = definition.get("python") or {}
        env.python.user_managed_dependencies = bool(python.get("userManagedDependencies"))
        env.python.interpreter_path = python.get("interpreterPath") or DEFAULT_INTERPRETER
        conda = python.get("condaDependencies")
        if conda is not None:
            env.python.conda_dependencies = CondaDependencies._from_dict(dict(conda))
        env.python.base_conda_environment = python.get("baseCondaEnvironment")
        env.environment_variables = dict(definition.get("environmentVariables") or {})
        docker = definition.get("docker") or {}
        env.docker.enabled = bool(docker.get("enabled"))
        env.docker.base_image = docker.get("baseImage")
        env.docker.base_dockerfile = docker.get("baseDockerfile")
        return env

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Environment)
            and other._serialize_to_dict() == self._serialize_to_dict()
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Environment(name={self.name!r}, version={self.version!r})"


def default_environment() -> Environment:
    """What a RunConfiguration holds when given none: declares nothing, so the script runs with
    the current interpreter (no build)."""
    return Environment(DEFAULT_ENVIRONMENT_NAME)
