"""``runyard compute list|attach|detach`` and ``runyard submit --target``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from runyard import Workspace
from tests.cli.conftest import Invoke, write_script

pytestmark = pytest.mark.timeout(60)


def test_compute_attach_list_detach(
    cli: Invoke, cli_json: Callable[..., Any], workspace: Workspace
) -> None:
    assert cli_json("compute", "list") == [{"name": "local", "type": "local", "address": None}]
    result = cli("compute", "attach", "ray", "--ray", "http://127.0.0.1:8265")
    assert result.exit_code == 0, result.output
    assert "Attached ray" in result.stdout
    assert cli_json("compute", "list")[1] == {
        "name": "ray",
        "type": "ray",
        "address": "http://127.0.0.1:8265",
    }
    assert "ray" in workspace.compute_targets
    assert cli("compute", "detach", "ray").exit_code == 0
    assert [t["name"] for t in cli_json("compute", "list")] == ["local"]
    missing = cli("compute", "detach", "ray")
    assert missing.exit_code == 1
    assert "no compute target 'ray'" in missing.output


def test_compute_attach_refuses_local_and_bad_addresses(cli: Invoke, workspace: Workspace) -> None:
    local = cli("compute", "attach", "local", "--ray", "http://127.0.0.1:8265")
    assert local.exit_code != 0 and "every workspace's own" in local.output
    bad = cli("compute", "attach", "ray", "--ray", "127.0.0.1:8265")
    assert bad.exit_code != 0 and "dashboard URL" in bad.output


def test_submit_target_unknown_lists_the_targets(
    cli: Invoke, workspace: Workspace, tmp_path: Path
) -> None:
    write_script(tmp_path, "hello.py", "print('hello')\n")
    result = cli("submit", "--target", "gpu", "hello.py")
    assert result.exit_code != 0
    assert "Unknown compute target 'gpu'. This workspace has: local." in result.output
