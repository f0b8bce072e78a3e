"""The Ray target against a real Ray head on 127.0.0.1 (``scripts/ray.sh``, started by
``make test``): the seed's script cells, a failure, outputs/ uploaded by the job, cancel, the
duration limit, children from Ray tasks, an impossible resource request, and a pinned
environment on both targets.

Every test has its own workspace (SQLite: the cluster shares this machine) and shares the one
Ray head with the other tests (and another pytest worker): jobs ask for no CPU of their own."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from runyard import (
    CondaDependencies,
    Environment,
    Experiment,
    RayCluster,
    RunConfiguration,
    ScriptRunConfig,
    Workspace,
)
from runyard.errors import ComputeTargetError
from runyard.runners.ray import (
    ADDRESS_PROPERTY,
    JOB_ID_PROPERTY,
    LARGE_LOG_BYTES,
    OUTPUTS_UPLOAD_ERROR,
    RayJob,
)
from runyard.runners.supervisor import STD_LOG
from runyard.sdk.script_run import ScriptRun
from runyard.settings import TRACKING_URI_ENV
from tests.runners.helpers import is_alive, read_pids, wait_until, write_script
from tests.runners.test_seed import HELLO, HELLO_WITH_CHILDREN

pytestmark = pytest.mark.timeout(180)

HELLO_WITH_PIDS = """
import os, subprocess, sys, time

child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
with open(sys.argv[1], "w") as out:
    out.write(f"{os.getpid()} {child.pid}")
print("Wait for 10 seconds..", flush=True)
time.sleep(float(sys.argv[2]))
print("Done waiting")
"""

FAILING = """
import os

os.makedirs("outputs", exist_ok=True)
with open("outputs/partial.txt", "w") as out:
    out.write("half done")
print("about to fail", flush=True)
raise SystemExit(3)
"""

WRITES_OUTPUTS = """
import os
from runyard import Run

os.makedirs("outputs/sub", exist_ok=True)
with open("outputs/model.txt", "w") as out:
    out.write("weights")
with open("outputs/sub/x.bin", "wb") as out:
    out.write(bytes(range(4)))
with open("mine.txt", "w") as out:
    out.write("uploaded by the script")
Run.get_context().upload_file("outputs/mine.txt", "mine.txt")
with open("outputs/mine.txt", "w") as out:
    out.write("the local copy")
os.chdir("/")  # outputs/ is the job's working directory's, where the script started
"""

# The upload reads the store from the job's variables: a script that spoils them makes it fail.
BREAKS_THE_UPLOAD = f"""
import os

os.makedirs("outputs", exist_ok=True)
with open("outputs/model.txt", "w") as out:
    out.write("weights")
os.environ[{TRACKING_URI_ENV!r}] = "nowhere://at-all"
"""

CHILDREN_FROM_TASKS = """
import ray
from runyard import Run

parent = Run.get_context()

@ray.remote(num_cpus=0)
def trial(i):
    child = Run.get_context().child_run(name=f"trial-{i}")
    child.log("i", i)
    child.complete()
    return child.id

ray.init()
ids = ray.get([trial.remote(i) for i in range(3)])
print("children", ids, flush=True)
"""

LOUD = """
import sys

for i in range(int(sys.argv[1])):
    print(f"line {i:07d} " + "x" * 90)
print("the end")
"""

PINNED = """
import inflection
from runyard import Run

Run.get_context().log("version", inflection.__version__)
"""


@pytest.fixture
def ray_ws(workspace: Workspace, ray_address: str) -> Workspace:
    workspace.attach_compute("ray", RayCluster(address=ray_address))
    return workspace


def _submit(
    ws: Workspace, folder: Path, name: str, code: str, *args: str, **config: object
) -> ScriptRun:
    write_script(folder, name, code)
    run_config = RunConfiguration(target="ray", **config)  # type: ignore[arg-type]
    cfg = ScriptRunConfig(
        source_directory=str(folder), script=name, arguments=list(args), run_config=run_config
    )
    return Experiment(ws, "on-ray").submit(cfg)


def test_ray_hello_completes_with_log_metric_and_job_id(
    ray_ws: Workspace, ray_address: str, tmp_path: Path
) -> None:
    run = _submit(ray_ws, tmp_path / "src", "hello.py", HELLO + "print('hi from ray')\n")
    out = io.StringIO()

    details = run.wait_for_completion(show_output=True, file=out)

    assert details["status"] == "Completed"
    assert run.get_metrics() == {"message": "Hello from run!"}
    assert details["runDefinition"]["target"] == "ray"
    assert details["properties"][JOB_ID_PROPERTY] == run.id
    assert details["properties"][ADDRESS_PROPERTY] == ray_address
    assert details["properties"]["_azureml.ComputeTargetType"] == "ray"
    assert "hi from ray" in out.getvalue()
    assert "hi from ray" in run.get_details_with_logs()["logFiles"]["user_logs/std_log.txt"]


def test_ray_large_log_is_copied_whole(ray_ws: Workspace, tmp_path: Path) -> None:
    lines = 2 * LARGE_LOG_BYTES // 100  # past the size from which the log is fetched less often
    run = _submit(ray_ws, tmp_path / "src", "loud.py", LOUD, str(lines))

    assert run.wait_for_completion()["status"] == "Completed"

    log = run.get_details_with_logs()["logFiles"][STD_LOG]
    printed = [line for line in log.splitlines() if line.startswith("line ")]
    assert printed == [f"line {i:07d} " + "x" * 90 for i in range(lines)]
    assert log.rstrip().endswith("the end")


def test_ray_job_fetches_a_large_log_less_often(ray_address: str) -> None:
    class Logs:
        fetches = 0
        text = "a" * 10

        def get_job_logs(self, job_id: str) -> str:
            self.fetches += 1
            return self.text

    job = RayJob(ray_address, "no-such-job")
    job._client = logs = Logs()

    assert job.new_output() == b"a" * 10
    logs.text = "a" * LARGE_LOG_BYTES
    assert len(job.new_output()) == LARGE_LOG_BYTES - 10  # small so far: fetched each poll
    logs.text += "b"
    assert job.new_output() == b""  # large now: not fetched again so soon
    assert logs.fetches == 2
    assert job.new_output(final=True) == b"b"  # the job ended: all of it at once
    assert logs.fetches == 3


def test_ray_children_created_in_the_script_and_in_ray_tasks(
    ray_ws: Workspace, tmp_path: Path
) -> None:
    seeded = _submit(ray_ws, tmp_path / "a", "children.py", HELLO_WITH_CHILDREN)
    tasks = _submit(ray_ws, tmp_path / "b", "tasks.py", CHILDREN_FROM_TASKS)

    assert seeded.wait_for_completion()["status"] == "Completed"
    assert tasks.wait_for_completion()["status"] == "Completed"

    assert len(list(seeded.get_children())) == 5
    children = sorted(tasks.get_children(), key=lambda r: r.name)
    assert [c.name for c in children] == ["trial-0", "trial-1", "trial-2"]
    assert [c.get_metrics()["i"] for c in children] == [0, 1, 2]
    assert all(c.get_status() == "Completed" for c in children)


def test_ray_failing_script_fails_with_exit_code_and_log_tail(
    ray_ws: Workspace, tmp_path: Path
) -> None:
    run = _submit(ray_ws, tmp_path / "src", "fail.py", FAILING)

    run.wait_for_completion(raise_on_error=False)

    details = run.get_details()
    assert details["status"] == "Failed"
    message = details["error"]["error"]["message"]
    assert "exited with code 3" in message
    assert "about to fail" in message
    assert "outputs/partial.txt" in run.get_file_names()  # as on the local target


def test_ray_outputs_are_uploaded_when_the_job_ends(ray_ws: Workspace, tmp_path: Path) -> None:
    run = _submit(ray_ws, tmp_path / "a", "train.py", WRITES_OUTPUTS)
    broken = _submit(ray_ws, tmp_path / "b", "broken.py", BREAKS_THE_UPLOAD)
    # Not cmd.py: on the working_dir's path, Ray's workers would import it for the stdlib's cmd.
    write_script(tmp_path / "c", "mk.py", "open('outputs/c', 'w')")
    cfg = ScriptRunConfig(str(tmp_path / "c"), command=["python", "mk.py"], compute_target="ray")
    command = Experiment(ray_ws, "on-ray").submit(cfg)

    assert run.wait_for_completion()["status"] == "Completed"
    assert command.wait_for_completion()["status"] == "Completed"
    broken.wait_for_completion(raise_on_error=False)

    names = run.get_file_names()
    assert {"outputs/model.txt", "outputs/sub/x.bin", "outputs/mine.txt"} <= set(names)
    run.download_file("outputs/sub/x.bin", str(tmp_path / "x.bin"))
    assert (tmp_path / "x.bin").read_bytes() == bytes(range(4))
    run.download_file("outputs/mine.txt", str(tmp_path / "mine.txt"))
    assert (tmp_path / "mine.txt").read_text() == "uploaded by the script"
    model = run.register_model("m", "outputs/model.txt")
    assert model.name == "m"
    details = broken.get_details()
    assert details["status"] == "Failed"
    error = details["error"]["error"]
    assert error["code"] == OUTPUTS_UPLOAD_ERROR
    assert "could not upload the run's outputs/" in error["message"]
    assert "nowhere://at-all" in error["message"]
    assert "outputs/model.txt" not in broken.get_file_names()
    assert "outputs/c" in command.get_file_names()


def test_ray_cancel_stops_the_job_and_its_process_tree(
    ray_ws: Workspace, ray_address: str, tmp_path: Path
) -> None:
    from ray.job_submission import JobStatus, JobSubmissionClient

    pid_file = tmp_path / "pids.txt"
    run = _submit(ray_ws, tmp_path / "src", "delay.py", HELLO_WITH_PIDS, str(pid_file), "60")
    pids = read_pids(pid_file, 2, timeout=60)
    wait_until(lambda: run.get_status() == "Running", timeout=30, what="Running")

    ScriptRun(Experiment(ray_ws, "on-ray"), run.id).cancel()  # as another process would

    assert run.get_status() == "Canceled"
    assert JobSubmissionClient(ray_address).get_job_status(run.id) == JobStatus.STOPPED
    wait_until(lambda: not any(is_alive(p) for p in pids), timeout=30, what="the tree gone")
    assert (
        "Wait for 10 seconds.." in run.get_details_with_logs()["logFiles"]["user_logs/std_log.txt"]
    )


def test_ray_max_run_duration_cancels_the_job(ray_ws: Workspace, tmp_path: Path) -> None:
    pid_file = tmp_path / "pids.txt"
    run = _submit(
        ray_ws,
        tmp_path / "src",
        "delay.py",
        HELLO_WITH_PIDS,
        str(pid_file),
        "60",
        max_run_duration_seconds=3,
    )

    run.wait_for_completion(raise_on_error=False)

    details = run.get_details()
    assert details["status"] == "Canceled"
    assert details["error"]["error"]["code"] == "MaxRunDurationExceeded"


def test_ray_impossible_resource_request_is_refused_at_submit(
    ray_ws: Workspace, tmp_path: Path
) -> None:
    for asked, words in [
        ({"cpu_count": 512}, "512 CPUs"),
        ({"gpu_count": 1}, "1 GPUs"),
        ({"node_count": 3}, "3 nodes"),
    ]:
        with pytest.raises(ComputeTargetError, match=words) as caught:
            _submit(ray_ws, tmp_path / "src", "hello.py", HELLO, **asked)
        assert "has 1 node(s), 2 CPUs, 0 GPUs" in str(caught.value)
    assert list(Experiment(ray_ws, "on-ray").get_runs()) == []


def test_ray_pinned_environment_runs_on_both_targets(ray_ws: Workspace, tmp_path: Path) -> None:
    env = Environment("pinned")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["inflection==0.5.0"])
    write_script(tmp_path / "src", "pinned.py", PINNED)
    runs = [
        Experiment(ray_ws, "pinned").submit(
            ScriptRunConfig(
                source_directory=str(tmp_path / "src"),
                script="pinned.py",
                compute_target=target,
                environment=env,
            )
        )
        for target in ("local", "ray")
    ]
    for run in runs:
        assert run.wait_for_completion()["status"] == "Completed"
        assert run.get_metrics() == {"version": "0.5.0"}


def test_ray_unknown_target_lists_the_workspace_targets(ray_ws: Workspace, tmp_path: Path) -> None:
    write_script(tmp_path, "hello.py", HELLO)
    cfg = ScriptRunConfig(source_directory=str(tmp_path), script="hello.py", compute_target="gpu")
    with pytest.raises(Exception, match="This workspace has: local, ray"):
        Experiment(ray_ws, "x").submit(cfg)
