"""ScriptRunConfig: what to run (a script in a source folder), where and how."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runyard.errors import InvalidArgumentError, UserError
from runyard.sdk.environment import Environment, default_environment

DEFAULT_MAX_RUN_DURATION_SECONDS = 2_592_000  # 30 days, as Azure ML


@dataclass
class RunConfiguration:
    """How a script runs: its target, script, arguments, environment variables and
    ``environment`` (an ``Environment``; default: one that declares nothing, so the script runs
    with the current interpreter). ``cpu_count``, ``gpu_count``, ``memory_gb`` and
    ``node_count`` ask the target for resources: a Ray target reserves them for the job (and
    refuses at submit what its cluster can never give); the local target ignores them."""

    script: str | None = None
    arguments: list[str] = field(default_factory=list)
    command: list[str] | None = None
    target: str = "local"
    environment_variables: dict[str, str] = field(default_factory=dict)
    max_run_duration_seconds: int = DEFAULT_MAX_RUN_DURATION_SECONDS
    environment: Environment = field(default_factory=default_environment)
    cpu_count: float | None = None
    gpu_count: float | None = None
    memory_gb: float | None = None
    node_count: int = 1

    def _resources(self) -> dict[str, float]:
        asked: dict[str, float] = {}
        for key, value in (
            ("cpuCount", self.cpu_count),
            ("gpuCount", self.gpu_count),
            ("memoryGb", self.memory_gb),
        ):
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise InvalidArgumentError(
                    f"RunConfiguration's {key} must be a number >= 0 (or None), got {value!r}."
                )
            asked[key] = float(value)
        node_count = self.node_count
        if isinstance(node_count, bool) or not isinstance(node_count, int) or node_count < 1:
            raise InvalidArgumentError(
                f"RunConfiguration.node_count must be an integer >= 1, got {node_count!r}."
            )
        return asked

    def to_definition(self) -> dict[str, Any]:
        """The ``runDefinition`` shown by ``get_details()``.

        Raises:
            InvalidArgumentError: ``environment`` is not an Environment, or a resource request
                is not a number >= 0 (``node_count``: an integer >= 1).
        """
        resources = self._resources()
        environment = self.environment
        if environment is None:
            environment = self.environment = default_environment()
        if not isinstance(environment, Environment):
            raise InvalidArgumentError(
                f"environment must be a runyard Environment, got {type(environment).__name__}."
            )
        serialized = environment._serialize_to_dict()
        # The environment's variables, then the run configuration's (the more specific) on top.
        variables = {**serialized["environmentVariables"], **self.environment_variables}
        return {
            "script": self.script,
            "command": self.command,
            "arguments": list(self.arguments),
            "target": self.target,
            "framework": "Python",
            "maxRunDurationSeconds": self.max_run_duration_seconds,
            "nodeCount": self.node_count,
            "resources": resources,
            "environmentVariables": variables,
            "environment": serialized,
            "history": {
                "outputCollection": True,
                "snapshotProject": True,
                "directoriesToWatch": ["logs"],
            },
        }


class ScriptRunConfig:
    """A script (or command) in ``source_directory`` to submit with ``experiment.submit``.

    Raises:
        UserError: the script is not inside ``source_directory``, or neither script nor command
            is given.
    """

    def __init__(
        self,
        source_directory: str | os.PathLike[str],
        script: str | None = None,
        arguments: Sequence[Any] | None = None,
        run_config: RunConfiguration | None = None,
        compute_target: str | None = None,
        environment: Any = None,
        max_run_duration_seconds: int = DEFAULT_MAX_RUN_DURATION_SECONDS,
        command: Sequence[str] | str | None = None,
        **_: Any,
    ) -> None:
        self.source_directory = str(source_directory)
        if run_config is None:
            run_config = RunConfiguration(
                target=compute_target or "local",
                environment=environment if environment is not None else default_environment(),
                max_run_duration_seconds=max_run_duration_seconds,
            )
        elif not isinstance(run_config, RunConfiguration):
            raise InvalidArgumentError(
                f"run_config must be a runyard RunConfiguration, got {type(run_config).__name__}."
            )
        if script is not None:
            run_config.script = script
        if arguments is not None:
            run_config.arguments = [str(a) for a in arguments]
        if command is not None:
            run_config.command = command.split() if isinstance(command, str) else list(command)
        self.run_config = run_config
        self._validate()

    @property
    def script(self) -> str | None:
        return self.run_config.script

    @property
    def arguments(self) -> list[str]:
        return self.run_config.arguments

    @property
    def command(self) -> list[str] | None:
        return self.run_config.command

    def _validate(self) -> None:
        if not self.run_config.target:
            raise UserError("Must specify a compute target (use 'local').")
        if self.script is None and not self.command:
            raise UserError("ScriptRunConfig needs a script or a command.")
        self.relative_script()

    def relative_script(self) -> str | None:
        """The script's path relative to ``source_directory`` (how it is found in the run's
        working copy), checked again now.

        Raises:
            UserError: the script is missing or outside ``source_directory``.
        """
        if self.script is None:
            return None
        source = Path(self.source_directory).resolve()
        path = (source / self.script).resolve()
        if not path.is_file() or not path.is_relative_to(source):
            raise UserError(
                f"{path} script path doesn't exist. The script should be inside the project "
                f"folder ({source})."
            )
        return path.relative_to(source).as_posix()

    def with_environment(self, variables: Mapping[str, str]) -> ScriptRunConfig:
        self.run_config.environment_variables.update(variables)
        return self

    def __repr__(self) -> str:
        return (
            f"ScriptRunConfig(source_directory={self.source_directory!r}, script={self.script!r}, "
            f"arguments={self.arguments!r}, target={self.run_config.target!r})"
        )
