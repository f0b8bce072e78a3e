"""The Ray target: a submitted script runs as a job of a Ray cluster (Job Submission API).

``RayRunner.submit`` (in the submitter) checks what is sure to fail -- ``ray`` not installed,
the cluster unreachable, resources no node of it has, an environment Ray cannot make -- then
creates the Queued run and starts its supervisor process, as the local target does
(``runners/local.py``). The supervisor (``runners/supervisor.py``) hands the run to ``follow``:

1. lays the run's snapshot out as a working copy, which becomes the job's ``working_dir``;
2. submits the job (its submission id: the run id): entrypoint ``python -m
   runyard.runners.ray_job SCRIPT ARGS`` (the bootstrap, or ``--command`` and the run's
   command; then the job uploads ``outputs/`` itself: the working copy is on the cluster),
   runtime environment: the working copy, runyard's package as a ``py_modules`` entry (so
   ``Run.get_context()`` imports the submitter's runyard on any cluster), the environment's
   pip packages, and the environment variables (the run's own, then the run id, the tracking
   URI and token); the requested CPUs, GPUs and memory as the entrypoint's resources;
3. follows the job (``runners/ray_watch.py``): PENDING keeps the run Starting, RUNNING makes
   it Running; its log is copied into the run's ``user_logs/std_log.txt`` as it grows; a stop
   request (``cancel()`` from any process) or ``max_run_duration_seconds`` (counted from
   RUNNING) stops the job (Ray ends its process tree); a cluster that stops answering, or a
   stop Ray never confirms, ends the run after a deadline;
4. when the job ends: SUCCEEDED -> Completed, FAILED -> Failed (the exit code and the last log
   lines as the error; ``OutputsUploadFailed`` and the job's reason when it could not upload
   ``outputs/``), STOPPED -> the stop request's status (Canceled).

``ray`` itself is imported only here, and only when a Ray run is submitted or followed.
"""

from __future__ import annotations

import json
import os
import shlex
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runyard.capture.error import build_error
from runyard.entities import RunInfo, RunStatus
from runyard.errors import ComputeTargetError, EnvironmentSpecError, MissingExtraError
from runyard.runners.environments import PACKAGE_DIR, EnvironmentSpec
from runyard.runners.local import LocalRunner
from runyard.runners.ray_job import COMMAND_FLAG
from runyard.runners.ray_watch import OUTPUTS_UPLOAD_ERROR, watch
from runyard.runners.submission import ScriptSubmission
from runyard.runners.targets import JobState, JobStatus
from runyard.settings import (
    ARTIFACT_ROOT_ENV,
    EXPERIMENT_NAME_ENV,
    JOB_PYTHON_ENV,
    RUN_ID_ENV,
    TOKEN_ENV,
    TRACKING_URI_ENV,
    TrackingUri,
)
from runyard.store.base import Store

if TYPE_CHECKING:
    from runyard.runners.supervisor import Supervisor

JOB_ID_PROPERTY = "runyard.ray.job_id"
ADDRESS_PROPERTY = "runyard.ray.address"
LARGE_LOG_BYTES = 1024 * 1024
LARGE_LOG_POLL_SECONDS = 5.0
"""Ray's API gives a job's whole log at each call (no offset): once it is larger than
``LARGE_LOG_BYTES``, the supervisor fetches it this often only (and once more at the end)."""
RAY_TOKEN_VARIABLE = "RAY_AUTH_TOKEN"
"""Ray's own variable: its job client sends the token it holds (token-auth clusters)."""


def _client_class() -> Any:
    """Ray's ``JobSubmissionClient`` class.

    Raises:
        MissingExtraError: ray is not installed.
    """
    try:
        from ray.job_submission import JobSubmissionClient
    except ImportError as exc:
        raise MissingExtraError(
            f"The Ray target needs ray's job client: pip install 'runyard[ray]' ({exc})."
        ) from None
    return JobSubmissionClient


def _job_client(address: str) -> Any:
    """Ray's ``JobSubmissionClient`` on ``address``.

    Raises:
        MissingExtraError: ray is not installed.
        ComputeTargetError: the cluster does not answer.
    """
    client_class = _client_class()
    try:
        return client_class(address)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ComputeTargetError(f"Cannot reach the Ray cluster at {address}: {exc}") from None


def cluster_nodes(address: str, timeout: float = 10.0) -> list[dict[str, float]]:
    """The total resources of each live node of the cluster (its dashboard's state API).

    Raises:
        ComputeTargetError: the cluster does not answer.
    """
    request = urllib.request.Request(f"{address.rstrip('/')}/api/v0/nodes?limit=10000")
    token = os.environ.get(RAY_TOKEN_VARIABLE)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = json.loads(response.read())
    except (OSError, ValueError) as exc:
        raise ComputeTargetError(
            f"Cannot reach the Ray cluster at {address} (its dashboard, which serves the Job "
            f"Submission API): {exc}. Is the cluster up, and the address the dashboard's "
            "(http://HOST:8265 by default)?"
        ) from None
    nodes = body.get("data", {}).get("result", {}).get("result", [])
    return [
        {str(k): float(v) for k, v in (node.get("resources_total") or {}).items()}
        for node in nodes
        if node.get("state") == "ALIVE"
    ]


@dataclass(frozen=True)
class Resources:
    """What a run asks of its target (``RunConfiguration``'s cpu_count, gpu_count, memory_gb
    and node_count, in the run definition)."""

    cpus: float | None = None
    gpus: float | None = None
    memory_gb: float | None = None
    nodes: int = 1

    @staticmethod
    def from_definition(definition: Mapping[str, Any]) -> Resources:
        asked = definition.get("resources") or {}
        return Resources(
            cpus=asked.get("cpuCount"),
            gpus=asked.get("gpuCount"),
            memory_gb=asked.get("memoryGb"),
            nodes=int(definition.get("nodeCount") or 1),
        )

    def entrypoint_options(self) -> dict[str, Any]:
        """The job's entrypoint resources (the script's driver process)."""
        options: dict[str, Any] = {}
        if self.cpus is not None:
            options["entrypoint_num_cpus"] = self.cpus
        if self.gpus is not None:
            options["entrypoint_num_gpus"] = self.gpus
        if self.memory_gb is not None:
            options["entrypoint_memory"] = int(self.memory_gb * 1024**3)
        return options

    def check(self, address: str, nodes: list[dict[str, float]]) -> None:
        """Refuse what no node (or not enough nodes) of the cluster can ever give.

        Raises:
            ComputeTargetError: naming what was asked and what the cluster has.
        """
        totals = {
            "CPUs": sum(n.get("CPU", 0.0) for n in nodes),
            "GPUs": sum(n.get("GPU", 0.0) for n in nodes),
            "GB of memory": sum(n.get("memory", 0.0) for n in nodes) / 1024**3,
        }
        has = f"{len(nodes)} node(s), " + ", ".join(f"{v:.4g} {k}" for k, v in totals.items())
        asks = [
            (self.cpus, "CPU", "CPUs", 1.0),
            (self.gpus, "GPU", "GPUs", 1.0),
            (self.memory_gb, "memory", "GB of memory", 1024**3),
        ]
        for amount, key, label, unit in asks:
            if amount is None:
                continue
            largest = max((n.get(key, 0.0) / unit for n in nodes), default=0.0)
            if amount > largest:
                raise ComputeTargetError(
                    f"The run asks for {amount:g} {label}, but no node of the Ray cluster at "
                    f"{address} has that many (the largest has {largest:g}): it would wait "
                    f"forever. The cluster has {has}. Ask for less, or use a larger cluster."
                )
        if self.nodes > len(nodes):
            raise ComputeTargetError(
                f"The run asks for {self.nodes} nodes, but the Ray cluster at {address} has {has}."
            )


class RayRunner(LocalRunner):
    """Runs scripts as jobs of the Ray cluster at ``config["address"]`` (its dashboard)."""

    kind = "ray"

    def __init__(self, name: str, config: Mapping[str, Any]) -> None:
        self.target = name
        self.address = str(config["address"])

    def check(
        self, store: Store, tracking_uri: TrackingUri, submission: ScriptSubmission
    ) -> tuple[dict[str, Any], bool]:
        """Refuse what the cluster can never run (nothing is created then).

        Raises:
            MissingExtraError: ray is not installed.
            ComputeTargetError: the cluster does not answer, or lacks the resources asked.
            EnvironmentSpecError: the environment asks for what a Ray job cannot have (Docker,
                conda-only packages).
        """
        _client_class()
        spec = EnvironmentSpec.from_definition(submission.run_definition, tracking_uri)
        if spec is not None and spec.conda:
            raise EnvironmentSpecError(
                f"Environment {spec.name!r} has conda-only packages ({', '.join(spec.conda)}); "
                "the Ray target installs pip packages only: declare them as pip packages."
            )
        Resources.from_definition(submission.run_definition).check(
            self.address, cluster_nodes(self.address)
        )
        target = {"name": self.target, "kind": "ray", "address": self.address}
        return {"computeTarget": target}, True


class RayJob:
    """A Ray job, seen through the Job Submission API (``targets.Job``)."""

    def __init__(self, address: str, job_id: str) -> None:
        self.address = address
        self.job_id = job_id
        self._client = _job_client(address)
        self._sent = 0
        self._fetched = 0.0

    @staticmethod
    def submit(
        address: str, job_id: str, entrypoint: str, runtime_env: dict[str, Any], **options: Any
    ) -> RayJob:
        job = RayJob(address, job_id)
        job._client.submit_job(
            entrypoint=entrypoint, submission_id=job_id, runtime_env=runtime_env, **options
        )
        return job

    def status(self) -> JobStatus:
        info = self._client.get_job_info(self.job_id)
        state = JobState(str(info.status.value).lower())  # Ray's names, in lower case
        return JobStatus(state, info.driver_exit_code, info.message)

    def new_output(self, final: bool = False) -> bytes:
        # The whole log each time (Ray's API has no offset), the part not sent yet kept: a
        # job's log is bounded by what the cluster keeps of it, and a large one is fetched
        # only every LARGE_LOG_POLL_SECONDS.
        now = time.monotonic()
        if (
            not final
            and self._sent >= LARGE_LOG_BYTES
            and now - self._fetched < LARGE_LOG_POLL_SECONDS
        ):
            return b""
        self._fetched = now
        text = str(self._client.get_job_logs(self.job_id)).encode()
        new, self._sent = text[self._sent :], max(self._sent, len(text))
        return new

    def tail(self, lines: int) -> str:
        return "\n".join(self._client.get_job_logs(self.job_id).splitlines()[-lines:])

    def cancel(self) -> None:
        self._client.stop_job(self.job_id)


def job_environment(sup: Supervisor, info: RunInfo) -> dict[str, Any]:
    """The job's runtime environment: the working copy, runyard, pip packages, variables."""
    definition = dict(info.run_definition or {})
    tracking = sup.tracking_uri
    env_vars = {str(k): str(v) for k, v in (definition.get("environmentVariables") or {}).items()}
    env_vars.update(
        {
            RUN_ID_ENV: info.run_id,
            EXPERIMENT_NAME_ENV: info.experiment_name,
            TRACKING_URI_ENV: tracking.uri,
            "PYTHONUNBUFFERED": "1",
        }
    )
    if tracking.token:
        env_vars[TOKEN_ENV] = tracking.token
    if sup.artifact_root:
        env_vars[ARTIFACT_ROOT_ENV] = sup.artifact_root
    runtime_env: dict[str, Any] = {
        "working_dir": str(sup.workdir),
        "py_modules": [str(PACKAGE_DIR)],
        "env_vars": env_vars,
    }
    spec = EnvironmentSpec.from_definition(definition, tracking)
    if spec is not None and spec.python_version:
        env_vars[JOB_PYTHON_ENV] = spec.python_version  # the job runs the cluster's Python
    if spec is not None and spec.pip:
        pip: dict[str, Any] = {"packages": [*spec.pip, *spec.runtime], "pip_check": False}
        if spec.pip_options:
            pip["pip_install_options"] = list(spec.pip_options)
        runtime_env["pip"] = pip
    return runtime_env


def entrypoint(definition: Mapping[str, Any]) -> str:
    """The job's shell command: runyard's job entry (``runners/ray_job.py``) running the script
    under the bootstrap, or the run's command, then uploading ``outputs/``."""
    entry = ["python", "-u", "-m", "runyard.runners.ray_job"]
    if definition.get("command"):
        return shlex.join([*entry, COMMAND_FLAG, *(str(part) for part in definition["command"])])
    arguments = [str(a) for a in definition.get("arguments") or []]
    return shlex.join([*entry, str(definition["script"]), *arguments])


def is_ray_run(info: RunInfo) -> bool:
    target = (info.run_definition or {}).get("computeTarget") or {}
    return isinstance(target, Mapping) and target.get("kind") == "ray"


def follow(sup: Supervisor, info: RunInfo) -> None:
    """Run ``info`` as a Ray job and follow it to its end (the supervisor's part for Ray)."""
    definition = dict(info.run_definition or {})
    address = str(definition["computeTarget"]["address"])
    store, run_id = sup.store, sup.run_id
    info = store.get_run(run_id)
    if info.status is RunStatus.CANCEL_REQUESTED or info.status.is_terminal:
        sup._end_without_start(info)
        return
    store.set_run_status(run_id, RunStatus.STARTING)
    sup.prepare(info)
    try:
        runtime_env = job_environment(sup, info)
        resources = Resources.from_definition(definition)
        job = RayJob.submit(
            address,
            run_id,
            entrypoint(definition),
            runtime_env,
            metadata={"runyard_run_id": run_id, "runyard_experiment": info.experiment_name},
            **resources.entrypoint_options(),
        )
    except Exception as exc:  # the cluster refused or vanished: the run cannot start
        message = f"The Ray cluster at {address} did not take the job: {exc}"
        store.set_run_status(
            run_id, RunStatus.FAILED, build_error(message, "ComputeTarget", time.time())
        )
        sup.note(message)
        return
    store.add_properties(run_id, {JOB_ID_PROPERTY: job.job_id, ADDRESS_PROPERTY: address})
    sup.note(f"submitted Ray job {job.job_id} to {address}")
    watch(sup, job, address, definition)


__all__ = [
    "OUTPUTS_UPLOAD_ERROR",
    "RayJob",
    "RayRunner",
    "Resources",
    "cluster_nodes",
    "follow",
    "is_ray_run",
]
