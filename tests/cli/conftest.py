"""Fixtures of the CLI tests: a runner that invokes ``runyard`` in-process, and run factories."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import pytest
from click.testing import CliRunner, Result

from runyard import Experiment, Run
from runyard.cli.main import main


class Invoke(Protocol):
    def __call__(self, *args: str, env: Mapping[str, str | None] | None = None) -> Result: ...


TERMINAL_ENV = ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS", "LINES")
"""Variables through which the caller's terminal would reach rich; unset unless a test sets them."""


@pytest.fixture
def cli() -> Invoke:
    """``cli("runs", "list")`` runs the command line; unexpected exceptions are not swallowed."""
    runner = CliRunner()

    def invoke(*args: str, env: Mapping[str, str | None] | None = None) -> Result:
        full_env: dict[str, str | None] = dict.fromkeys(TERMINAL_ENV)
        full_env.update(env or {})
        return runner.invoke(main, list(args), env=full_env, catch_exceptions=False)

    return invoke


@pytest.fixture
def cli_json(cli: Invoke) -> Callable[..., Any]:
    """``cli_json("runs", "list")`` runs a command with ``--json``, checks it worked, parses it."""

    def invoke(*args: str, env: Mapping[str, str | None] | None = None) -> Any:
        result = cli(*args, "--json", env=env)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout, parse_constant=_reject_constant)

    return invoke


def _reject_constant(name: str) -> Any:
    raise AssertionError(f"{name} is not JSON")


@pytest.fixture
def start_run(experiment: Experiment) -> Callable[..., Run]:
    """Start a Running run of ``experiment`` without snapshot or outputs folder (fast)."""

    def start(experiment_: Experiment | None = None, **kwargs: Any) -> Run:
        target = experiment_ or experiment
        return target.start_logging(snapshot_directory=None, outputs=False, **kwargs)

    return start
