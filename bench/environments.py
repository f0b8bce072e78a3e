"""Environment builds and the Ray target: build once vs reuse; submit to Running, local vs Ray.

What is measured, on a fresh workspace (SQLite) and a fresh environment cache:

- environment build vs reuse: a run whose environment pins one small pip package
  (``--package``), submitted twice to the local target: the first builds the cached virtual
  environment (``runyard.environment.build_seconds``, and the time from submit to Running), the
  second reuses it (a cache hit: ``runyard.environment.reused`` is ``true``);
- submit to Running, ``--repeat`` times each, of a script that sleeps a second: on the local
  target, and on the Ray cluster at ``--ray`` (a Ray job: the first after the head's start
  pays the job supervisor's start, later ones only the working-dir upload and the driver's
  start); and the same on Ray with the pinned environment (Ray's own pip runtime env, cached
  by Ray after its first build).

MLflow has no equivalent: MLflow Projects build conda/virtualenv environments per project
(``env_manager``) but have no Ray backend (their backends are local, Databricks and
Kubernetes), so there is nothing to compare against here.

Usage: python bench/environments.py --ray http://127.0.0.1:54340 [--repeat 5] [--json PATH]
(a Ray head: ``scripts/ray.sh start`` prints its address.)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from log_throughput import machine  # the same machine description in every benchmark

SCRIPT = "import time\ntime.sleep(1)\n"


def _until_running(run: Any, timeout: float = 300.0) -> float:
    start = time.monotonic()
    while run.get_status() not in ("Running", "Completed", "Failed", "Canceled"):
        if time.monotonic() - start > timeout:
            raise TimeoutError(run.id)
        time.sleep(0.01)
    return time.monotonic() - start


def _submit_to_running(ws: Any, folder: Path, target: str, env: Any = None) -> float:
    from runyard import Experiment, ScriptRunConfig

    cfg = ScriptRunConfig(
        source_directory=str(folder), script="sleep.py", compute_target=target, environment=env
    )
    started = time.monotonic()
    run = Experiment(ws, f"bench-{target}").submit(cfg)
    _until_running(run)
    seconds = time.monotonic() - started
    details = run.wait_for_completion()
    if details["status"] != "Completed":
        raise RuntimeError(f"{run.id} ended {details['status']}: {details.get('error')}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ray", required=True, help="the Ray head's dashboard URL")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--package", default="inflection==0.5.1")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["RUNYARD_ENV_CACHE"] = str(root / "envs")  # a cold cache: the build is real
        from runyard import CondaDependencies, Environment, RayCluster, Workspace

        ws = Workspace.create(root / "ws")
        ws.attach_compute("ray", RayCluster(address=args.ray))
        folder = root / "src"
        folder.mkdir()
        (folder / "sleep.py").write_text(SCRIPT)
        env = Environment("pinned")
        env.python.conda_dependencies = CondaDependencies.create(pip_packages=[args.package])

        results: dict[str, Any] = {"machine": machine(), "date": time.strftime("%Y-%m-%d")}
        results["local_build_to_running_s"] = _submit_to_running(ws, folder, "local", env)
        results["local_reuse_to_running_s"] = _submit_to_running(ws, folder, "local", env)
        for target, environment, key in [
            ("local", None, "local"),
            ("ray", None, "ray"),
            ("ray", env, "ray_pinned_env"),
        ]:
            times = [
                _submit_to_running(ws, folder, target, environment) for _ in range(args.repeat)
            ]
            results[f"{key}_submit_to_running_s"] = {
                "first": times[0],
                "median": statistics.median(times),
                "all": times,
            }
        ws.close()
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
