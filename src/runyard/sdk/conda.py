"""CondaDependencies: the packages of an environment, as a conda specification (Azure ML's).

The specification is what ``conda env create`` reads: a name, channels, and dependencies, each a
conda package (``python=3.11``, ``scikit-learn``) or a ``{"pip": [...]}`` list of pip
requirements. runyard builds it as a virtual environment (``runners/environments.py``): pip
packages and the Python version need nothing else; a conda-only package needs conda, mamba or
micromamba on the PATH.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from runyard.errors import InvalidArgumentError, UserError
from runyard.runners.environments import current_version, requirement_name

DEFAULT_NAME = "project_environment"
DEFAULT_CHANNELS = ("conda-forge",)


def _load_yaml(text: str, where: str) -> dict[str, Any]:
    import yaml  # PyYAML: only when a conda file is read

    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UserError(f"{where} is not a valid conda specification (YAML): {exc}") from None
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, dict):
        raise UserError(f"{where} is not a conda specification: expected a YAML mapping.")
    return loaded


def _is_python(package: str) -> bool:
    name = package.split("=")[0].split("<")[0].split(">")[0].split("!")[0].strip()
    return name.lower() == "python"


def _is_pip(package: str) -> bool:
    name = package.split("=")[0].split("<")[0].split(">")[0].strip()
    return name.lower() == "pip"


class CondaDependencies:
    """An environment's packages: conda packages, pip packages and a Python version.

    Args:
        conda_dependencies_file_path: a conda specification (YAML) to start from.

    Raises:
        UserError: the file is missing or not a conda specification.
    """

    def __init__(
        self,
        conda_dependencies_file_path: str | os.PathLike[str] | None = None,
        _underlying_structure: dict[str, Any] | None = None,
    ) -> None:
        if conda_dependencies_file_path is not None:
            path = Path(conda_dependencies_file_path)
            if not path.is_file():
                raise UserError(f"Conda specification file {str(path)!r} was not found.")
            structure = _load_yaml(path.read_text(), f"The file {str(path)!r}")
        elif _underlying_structure is not None:
            structure = copy.deepcopy(_underlying_structure)
        else:
            structure = {
                "name": DEFAULT_NAME,
                "dependencies": [f"python={current_version()}"],
                "channels": list(DEFAULT_CHANNELS),
            }
        deps = structure.get("dependencies") or []
        if not isinstance(deps, list):
            raise UserError("A conda specification's 'dependencies' must be a list.")
        structure["dependencies"] = deps
        self._structure = structure

    # -- building ------------------------------------------------------------------------------

    @staticmethod
    def create(
        pip_packages: list[str] | None = None,
        conda_packages: list[str] | None = None,
        python_version: str | None = None,
        pin_sdk_version: bool = True,
        pip_indexurl: str | None = None,
    ) -> CondaDependencies:
        """A specification with these packages (Python: ``python_version``, else the running
        interpreter's). ``pin_sdk_version`` is accepted for Azure's samples (runyard adds no
        SDK package: the environment gets runyard itself).

        Returns:
            CondaDependencies: the new specification.
        """
        cd = CondaDependencies()
        cd.set_python_version(python_version or current_version())
        for package in conda_packages or []:
            cd.add_conda_package(package)
        if pip_indexurl:
            cd.set_pip_option(f"--index-url {pip_indexurl}")
        for package in pip_packages or []:
            cd.add_pip_package(package)
        return cd

    @staticmethod
    def _from_dict(structure: dict[str, Any]) -> CondaDependencies:
        return CondaDependencies(_underlying_structure=structure)

    def _pip_list(self, create: bool) -> list[Any] | None:
        for dep in self._structure["dependencies"]:
            if isinstance(dep, dict) and "pip" in dep:
                if not isinstance(dep["pip"], list):
                    dep["pip"] = []
                return dep["pip"]  # type: ignore[no-any-return]
        if not create:
            return None
        pip: list[Any] = []
        self._structure["dependencies"].append({"pip": pip})
        return pip

    def add_pip_package(self, pip_package: str) -> None:
        """Add a pip requirement (``six==1.16.0``); one of the same name is replaced."""
        _check_package("pip_package", pip_package)
        pip = self._pip_list(create=True)
        assert pip is not None
        name = requirement_name(pip_package)
        pip[:] = [p for p in pip if not isinstance(p, str) or requirement_name(p) != name]
        pip.append(pip_package)

    def remove_pip_package(self, pip_package: str) -> None:
        """Remove the pip requirement of that name (none: no change)."""
        pip = self._pip_list(create=False)
        if pip is not None:
            name = requirement_name(pip_package)
            pip[:] = [p for p in pip if not isinstance(p, str) or requirement_name(p) != name]

    def set_pip_option(self, pip_option: str) -> None:
        """Add a pip option line (``--index-url URL``, ``--extra-index-url URL``)."""
        _check_package("pip_option", pip_option)
        pip = self._pip_list(create=True)
        assert pip is not None
        if pip_option not in pip:
            pip.insert(0, pip_option)

    def add_conda_package(self, conda_package: str) -> None:
        """Add a conda package (needs conda, mamba or micromamba to build, unless python)."""
        _check_package("conda_package", conda_package)
        name = requirement_name(conda_package)
        deps = self._structure["dependencies"]
        deps[:] = [d for d in deps if not isinstance(d, str) or requirement_name(d) != name]
        deps.insert(len([d for d in deps if isinstance(d, str)]), conda_package)

    def remove_conda_package(self, conda_package: str) -> None:
        """Remove the conda package of that name (none: no change)."""
        name = requirement_name(conda_package)
        deps = self._structure["dependencies"]
        deps[:] = [d for d in deps if not isinstance(d, str) or requirement_name(d) != name]

    def add_channel(self, channel: str) -> None:
        """Add a conda channel."""
        channels = self._structure.setdefault("channels", [])
        if channel not in channels:
            channels.append(channel)

    def set_python_version(self, version: str) -> None:
        """Ask for Python ``version`` (``3.11``; it must be installed on this machine)."""
        _check_package("version", version)
        self.remove_conda_package("python")
        self._structure["dependencies"].insert(0, f"python={version}")

    def get_python_version(self) -> str | None:
        """The Python version asked for (None: none)."""
        for dep in self._structure["dependencies"]:
            if isinstance(dep, str) and _is_python(dep):
                version = dep[len("python") :].lstrip("=<>!~ ")
                return version or None
        return None

    # -- reading -------------------------------------------------------------------------------

    @property
    def pip_packages(self) -> list[str]:
        """The pip requirements (options such as ``--index-url`` left out)."""
        pip = self._pip_list(create=False) or []
        return [p for p in pip if isinstance(p, str) and not p.startswith("-")]

    @property
    def pip_options(self) -> list[str]:
        pip = self._pip_list(create=False) or []
        return [p for p in pip if isinstance(p, str) and p.startswith("-")]

    @property
    def conda_packages(self) -> list[str]:
        """The conda packages, python and pip left out."""
        return [
            d
            for d in self._structure["dependencies"]
            if isinstance(d, str) and not _is_python(d) and not _is_pip(d)
        ]

    @property
    def conda_channels(self) -> list[str]:
        return list(self._structure.get("channels") or [])

    def as_dict(self) -> dict[str, Any]:
        """The specification as a plain dict (a copy)."""
        return copy.deepcopy(self._structure)

    def serialize_to_string(self) -> str:
        """The specification as conda YAML."""
        import yaml

        return str(yaml.safe_dump(self._structure, sort_keys=False, default_flow_style=False))

    def save(self, path: str | os.PathLike[str]) -> str:
        """Write the specification (YAML) to ``path``; return it."""
        Path(path).write_text(self.serialize_to_string())
        return str(path)

    def save_to_file(
        self, base_directory: str | os.PathLike[str], conda_file_path: str | None = None
    ) -> str:
        """Write the specification to ``base_directory/conda_file_path`` (default
        ``conda_dependencies.yml``); return that path."""
        target = Path(base_directory) / (conda_file_path or "conda_dependencies.yml")
        return self.save(target)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CondaDependencies) and other._structure == self._structure

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"CondaDependencies({self._structure!r})"


def _check_package(what: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidArgumentError(f"{what} must be a non-empty string, got {value!r}.")
