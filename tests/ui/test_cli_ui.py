"""``runyard ui`` as a user runs it: a real process serving the local workspace of its folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from runyard import settings
from tests.server.process import free_port

STARTUP_SECONDS = 30.0

SEED = """
import runyard
ws = runyard.Workspace.from_config()
run = runyard.Experiment(ws, "cli-ui").start_logging(
    snapshot_directory=None, outputs=False, display_name="first"
)
run.log("acc", 0.75)
run.complete()
ws.close()
"""


def clean_env() -> dict[str, str]:
    """The environment without a tracking URI or token: the folder's workspace is used."""
    drop = {settings.TRACKING_URI_ENV, settings.TOKEN_ENV, settings.SERVER_CONFIG_ENV}
    return {k: v for k, v in os.environ.items() if k not in drop}


def test_runyard_ui_serves_the_local_workspace_and_prints_its_address(tmp_path: Path) -> None:
    env = clean_env()
    subprocess.run([sys.executable, "-c", SEED], cwd=tmp_path, env=env, check=True, timeout=60)
    port = free_port()
    log = tmp_path / "ui.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "runyard.cli.main", "ui", "--no-browser", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        assert f"runyard UI: {base}/ui/" in log.read_text()
        # No tokens on a local workspace: the one workspace opens at once.
        with httpx.Client(base_url=base, follow_redirects=True, timeout=10.0) as client:
            home = client.get("/ui/")
            assert home.status_code == 200
            assert "cli-ui" in home.text
            workspace = home.url.path.split("/")[3]
            runs_page = client.get(f"/ui/w/{workspace}/e/cli-ui")
            assert runs_page.status_code == 200 and 'id="runs-data"' in runs_page.text
            listed = client.get(
                f"/ui/api/w/{workspace}/e/cli-ui/runs", params={"column": "metrics.acc"}
            ).json()
            assert [(r["display_name"], r["values"]) for r in listed["runs"]] == [("first", [0.75])]
            assert client.get("/ui/vendor/plotly.min.js").status_code == 200
    finally:
        # Ctrl-C, as a user stops it.
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
    assert process.returncode == 0, log.read_text()
