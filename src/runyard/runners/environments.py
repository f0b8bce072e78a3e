"""Declared environments on the local target: built once into cached virtual environments.

An ``Environment`` travels in the run definition as Azure ML serialises it (``environment``:
``python.userManagedDependencies``, ``python.interpreterPath``, ``python.condaDependencies``,
``docker``...). ``EnvironmentSpec.from_definition`` reads what is to be built:

- user-managed (``userManagedDependencies``), or declaring no package and no other Python:
  nothing to build; the script runs with ``interpreterPath`` (``python``: the submitter's);
- Docker asked for: ``EnvironmentSpecError`` (runyard runs no container);
- otherwise a spec: the Python version, the pip requirements (Azure's own ``azureml-*``
  packages left out: runyard replaces them), pip options, and conda-only packages.

``build`` makes the spec a virtual environment under the cache folder
(``settings.env_cache_dir()``), in ``<cache>/<hash>``, the hash being of the whole spec (and of
runyard's version and place, which the environment links to). A file lock makes concurrent
builds of one spec build once; the folder counts as built only once its marker file is written,
last, so a failed or interrupted build is removed and redone, never used. (The folder is built
where it stays: a virtual environment cannot be moved, its scripts name their interpreter.)

How a build goes, with uv when it is found (on the PATH or the ``uv`` package), else ``venv``
and ``pip`` (``settings.ENV_BUILDER_ENV`` chooses):

1. a virtual environment of the asked Python (the running interpreter when it is the same
   major.minor; otherwise one installed on this machine, or ``EnvironmentSpecError`` naming
   those found; nothing is downloaded) -- or, with conda-only packages, a conda environment
   made by conda, mamba or micromamba, whichever is on the PATH;
2. the user's pip requirements, as given;
3. runyard made importable: a ``.pth`` file puts a folder holding only a link to runyard's
   package on ``sys.path`` (after the environment's own packages), and runyard's own
   requirements are installed only when the user's do not already name them, under the user's
   requirements as constraints: the user's pins win, and ``Run.get_context()`` works.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock

from runyard.errors import EnvironmentBuildError, EnvironmentSpecError
from runyard.settings import Scheme, TrackingUri, env_builder

MARKER = ".runyard-built"
BUILD_LOG = "system_logs/environment_build.txt"
LINK_DIR_NAME = "runyard-link"
CONDA_TOOLS = ("micromamba", "mamba", "conda")
CORE_REQUIREMENTS = (
    "sqlalchemy>=2.0,<3",
    "alembic>=1.13",
    "click>=8.1",
    "rich>=13",
    "filelock>=3.12",
    "pathspec>=0.12",
    "fsspec>=2024.2",
    "pyyaml>=6",
)
"""runyard's own requirements (pyproject's ``dependencies``), when its metadata is missing."""
STORE_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    Scheme.HTTP: ("httpx>=0.27",),
    Scheme.HTTPS: ("httpx>=0.27",),
    Scheme.POSTGRESQL: ("psycopg[binary]>=3.1",),
}
"""What a script needs besides to reach its store, by tracking URI scheme."""
PACKAGE_DIR = Path(__file__).resolve().parents[1]
"""runyard's package folder: what the environment's ``.pth`` link points at."""

Log = Callable[[str], None]


@dataclass(frozen=True)
class EnvironmentSpec:
    """What to build: plain data, hashed into the cache key."""

    name: str
    python_version: str | None
    """``major.minor`` asked for; None: the running interpreter's."""
    pip: tuple[str, ...] = ()
    pip_options: tuple[str, ...] = ()
    conda: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()
    """Azure's SDK packages (``azureml-*``) left out of the build."""
    runtime: tuple[str, ...] = ()
    """runyard's requirements, for the script's ``Run.get_context()``."""

    @property
    def key(self) -> str:
        """The cache key: a hash of everything that decides what is built."""
        data = asdict(self)
        data.pop("name")  # two names of one spec share a build
        data["runyard"] = [_runyard_version(), str(PACKAGE_DIR)]
        data["python"] = self.python_version or current_version()
        text = json.dumps(data, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:20]

    @staticmethod
    def from_definition(
        definition: Mapping[str, Any] | None, tracking_uri: TrackingUri | None = None
    ) -> EnvironmentSpec | None:
        """The spec of a run definition's ``environment``; None when nothing is to be built.

        Raises:
            EnvironmentSpecError: Docker is asked for.
        """
        env = (definition or {}).get("environment")
        if not env:
            return None
        name = str(env.get("name") or "environment")
        docker = env.get("docker") or {}
        if docker.get("enabled") or docker.get("baseImage") or docker.get("baseDockerfile"):
            raise EnvironmentSpecError(
                f"Environment {name!r} asks for Docker (docker.enabled, base_image or "
                "base_dockerfile); runyard runs no container. It builds a virtual environment "
                "from env.python.conda_dependencies (pip packages and a Python version) "
                "instead: set env.docker.enabled = False and env.docker.base_image = None, or "
                "python.user_managed_dependencies = True to use an interpreter of yours."
            )
        python = env.get("python") or {}
        if python.get("userManagedDependencies"):
            return None
        conda = python.get("condaDependencies") or {}
        version: str | None = None
        conda_packages: list[str] = []
        pip: list[str] = []
        options: list[str] = []
        for dep in conda.get("dependencies") or []:
            if isinstance(dep, Mapping):
                for line in dep.get("pip") or []:
                    (options if str(line).startswith("-") else pip).append(str(line).strip())
            elif requirement_name(str(dep)) == "python":
                version = _major_minor(str(dep)[len("python") :].lstrip("=<>!~ "))
            elif requirement_name(str(dep)) != "pip":
                conda_packages.append(str(dep))
        skipped = tuple(p for p in pip if requirement_name(p).startswith("azureml-"))
        pip = [p for p in pip if p not in skipped]
        if version == current_version():
            version = None
        if not pip and not conda_packages and version is None:
            return None  # declares nothing: the current interpreter, as user-managed
        user_names = {requirement_name(p) for p in pip}
        runtime = tuple(
            r for r in _runtime_requirements(tracking_uri) if requirement_name(r) not in user_names
        )
        return EnvironmentSpec(
            name=name,
            python_version=version,
            pip=tuple(pip),
            pip_options=tuple(options),
            conda=tuple(conda_packages),
            channels=tuple(str(c) for c in conda.get("channels") or []),
            skipped=skipped,
            runtime=runtime,
        )


def user_interpreter(definition: Mapping[str, Any] | None) -> str | None:
    """The interpreter a user-managed environment names; None: the submitter's."""
    env = (definition or {}).get("environment") or {}
    path = (env.get("python") or {}).get("interpreterPath")
    if not path or path in ("python", "python3"):
        return None
    return shutil.which(str(path)) or str(path)


def current_version() -> str:
    """The running interpreter's ``major.minor``."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def requirement_name(requirement: str) -> str:
    """The distribution name of a requirement (``Six[x]==1.0`` -> ``six``), normalised."""
    name = requirement.strip()
    for stop in "[=<>!~;@ ":
        name = name.split(stop)[0]
    return name.lower().replace("_", "-").replace(".", "-")


def _major_minor(version: str) -> str | None:
    parts = version.strip().split(".")
    if len(parts) < 2 or not (parts[0].isascii() and parts[0].isdigit()):
        return version.strip() or None
    return f"{parts[0]}.{''.join(c for c in parts[1] if c.isascii() and c.isdigit())}"


def _runyard_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("runyard")
    except PackageNotFoundError:
        return "unknown"


def _runtime_requirements(tracking_uri: TrackingUri | None) -> tuple[str, ...]:
    from importlib.metadata import PackageNotFoundError, requires

    try:
        found = [r for r in requires("runyard") or [] if "extra ==" not in r]
    except PackageNotFoundError:
        found = []
    core = tuple(r.split(";")[0].strip() for r in found) or CORE_REQUIREMENTS
    extra = STORE_REQUIREMENTS.get(tracking_uri.scheme, ()) if tracking_uri else ()
    return core + extra


# -- checks at submit --------------------------------------------------------------------------


def conda_tool() -> str | None:
    """conda, mamba or micromamba, the first on the PATH (None: none)."""
    for tool in CONDA_TOOLS:
        found = shutil.which(tool)
        if found:
            return found
    return None


def check_buildable(spec: EnvironmentSpec) -> None:
    """Raise now what would make the build fail for sure: a conda-only package without conda,
    a Python version not installed.

    Raises:
        EnvironmentSpecError: saying which and what to do.
    """
    if spec.conda and conda_tool() is None:
        listed = ", ".join(repr(p) for p in spec.conda)
        raise EnvironmentSpecError(
            f"Environment {spec.name!r} asks for the conda package(s) {listed}, and neither "
            "conda, mamba nor micromamba is on the PATH. runyard builds pip packages and a "
            "Python version without conda: declare them as pip packages "
            "(CondaDependencies.create(pip_packages=[...])), or install micromamba."
        )
    if spec.python_version is not None and not spec.conda:
        find_python(spec.python_version)


def find_python(version: str) -> str:
    """An installed interpreter of ``version`` (``major.minor``); never downloads one.

    Raises:
        EnvironmentSpecError: none is installed; the message names the versions found.
    """
    if version == current_version():
        return sys.executable
    uv = find_uv()
    if uv is not None:
        found = _run_quiet([uv, "python", "find", "--no-python-downloads", version])
        if found:
            return found.splitlines()[-1].strip()
    candidate = shutil.which(f"python{version}")
    if candidate and _version_of(candidate) == version:
        return candidate
    versions = sorted(
        {current_version()}
        | {
            v
            for minor in range(6, 20)
            if (path := shutil.which(f"python3.{minor}")) and (v := _version_of(path))
        },
        key=lambda v: tuple(int(p) for p in v.split(".")),
    )
    raise EnvironmentSpecError(
        f"Python {version} is not installed on this machine (found: {', '.join(versions)}), "
        "and runyard does not download interpreters. Install it, or ask for one of these "
        "(CondaDependencies.create(python_version=...)), or leave python_version out to use "
        f"the current one ({current_version()})."
    )


def _run_quiet(command: Sequence[str]) -> str | None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _version_of(python: str) -> str | None:
    return _run_quiet([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"])


def find_uv() -> str | None:
    """The uv binary: on the PATH, else the ``uv`` package's (None: neither)."""
    found = shutil.which("uv")
    if found:
        return found
    try:
        import uv  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    with contextlib.suppress(Exception):
        return str(uv.find_uv_bin())
    return None


# -- the build ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildResult:
    python: str
    """The interpreter to run the script with."""
    folder: Path
    reused: bool
    seconds: float


def build(spec: EnvironmentSpec, cache: Path, log: Log) -> BuildResult:
    """The environment of ``spec`` under ``cache``: built now, or reused when it was.

    ``log`` gets the build's progress and its tools' output, line by line.

    Raises:
        EnvironmentSpecError: see ``check_buildable``.
        EnvironmentBuildError: a step failed (the log has its output); nothing is left behind.
    """
    check_buildable(spec)
    cache.mkdir(parents=True, exist_ok=True)
    folder = cache / spec.key
    started = time.monotonic()
    log(f"Environment {spec.name!r}: specification {spec.key}")
    with FileLock(str(cache / f"{spec.key}.lock")):
        if (folder / MARKER).is_file():
            log(f"Reused the environment built before in {folder} (no build).")
            return BuildResult(_python_in(folder), folder, True, time.monotonic() - started)
        if folder.exists():
            log(f"Removing an unfinished build in {folder}.")
            shutil.rmtree(folder)
        try:
            _build_into(spec, folder, log)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        seconds = time.monotonic() - started
        (folder / MARKER).write_text(json.dumps({**asdict(spec), "seconds": seconds}))
    log(f"Built the environment in {seconds:.1f} s: {folder}")
    return BuildResult(_python_in(folder), folder, False, seconds)


def _python_in(folder: Path) -> str:
    return str(folder / "bin" / "python")


def _build_into(spec: EnvironmentSpec, folder: Path, log: Log) -> None:
    for package in spec.skipped:
        log(f"Skipped {package}: Azure ML's SDK; runyard replaces it in the environment.")
    uv = _chosen_uv()
    log(f"Builder: {'uv (' + uv + ')' if uv else 'venv and pip'}")
    if spec.conda:
        _conda_create(spec, folder, log)
    elif uv:
        python = find_python(spec.python_version or current_version())
        _step(log, [uv, "venv", "--python", python, str(folder)])
    else:
        python = find_python(spec.python_version or current_version())
        _step(log, [python, "-m", "venv", str(folder)])
    python = _python_in(folder)
    install = [uv, "pip", "install", "--python", python] if uv else [python, "-m", "pip"]
    if not uv:
        install += ["install", "--disable-pip-version-check"]
    work = folder / ".runyard-build"
    work.mkdir()
    if spec.pip:
        requirements = work / "requirements.txt"
        requirements.write_text("\n".join([*spec.pip_options, *spec.pip]) + "\n")
        log("Installing the environment's pip packages: " + ", ".join(spec.pip))
        _step(log, [*install, "-r", str(requirements)])
    _link_runyard(python, folder, log)
    if spec.runtime:
        constraints = work / "constraints.txt"
        constraints.write_text("\n".join(_constraints(spec.pip)) + "\n")
        log("Installing what runyard needs and the environment lacks (the user's pins win).")
        _step(log, [*install, *spec.pip_options, "-c", str(constraints), *spec.runtime])
    shutil.rmtree(work, ignore_errors=True)


def _chosen_uv() -> str | None:
    choice = env_builder()
    if choice == "pip":
        return None
    uv = find_uv()
    if uv is None and choice == "uv":
        raise EnvironmentSpecError(
            "The environment builder is set to uv, and uv was not found: install it "
            "(pip install uv) or let runyard use venv and pip."
        )
    return uv


def _conda_create(spec: EnvironmentSpec, folder: Path, log: Log) -> None:
    tool = conda_tool()
    assert tool is not None  # check_buildable
    python = f"python={spec.python_version or current_version()}"
    channels = [arg for c in spec.channels for arg in ("-c", c)]
    _step(log, [tool, "create", "-y", "-p", str(folder), *channels, python, "pip", *spec.conda])


def _constraints(requirements: Sequence[str]) -> list[str]:
    """The user's requirements as pip constraints: names and versions only (no extras, no
    URLs), so that installing runyard's needs cannot move a package the user pinned."""
    lines = []
    for requirement in requirements:
        if "://" in requirement or requirement.startswith((".", "/")) or " @ " in requirement:
            continue
        name, _, rest = requirement.partition("[")
        lines.append(name + rest.partition("]")[2] if rest else requirement)
    return lines


def _link_runyard(python: str, folder: Path, log: Log) -> None:
    """Make runyard importable in the environment without installing it (nor its copy of any
    package): a folder holding only a link to runyard's package, named by a ``.pth`` file."""
    site = _run_quiet([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    if not site:
        raise EnvironmentBuildError(f"Could not find the site-packages of {python}.")
    link_dir = folder / LINK_DIR_NAME
    link_dir.mkdir(exist_ok=True)
    (link_dir / "runyard").symlink_to(PACKAGE_DIR, target_is_directory=True)
    Path(site, "runyard-link.pth").write_text(str(link_dir) + "\n")
    log(f"Linked runyard ({PACKAGE_DIR}) into the environment.")


def _step(log: Log, command: Sequence[str]) -> None:
    """Run one build command, its output to the log.

    Raises:
        EnvironmentBuildError: it failed; the message has the end of its output.
    """
    log("$ " + " ".join(command))
    env = dict(os.environ)
    env["UV_PYTHON_DOWNLOADS"] = "never"  # this machine may have no internet but the index
    env.pop("PYTHONPATH", None)  # the submitter's paths are not the environment's
    try:
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
        )
    except OSError as exc:
        raise EnvironmentBuildError(f"Could not run {command[0]}: {exc}") from exc
    tail: list[str] = []
    assert process.stdout is not None
    try:
        for line in process.stdout:
            log(line.rstrip("\n"))
            tail = [*tail[-19:], line.rstrip("\n")]
    except BaseException:
        # log() raised (a store error): end the tool before its build folder is removed.
        process.kill()
        raise
    finally:
        process.stdout.close()
        code = process.wait()
    if code != 0:
        last = "\n".join(tail[-8:])
        raise EnvironmentBuildError(
            f"The environment build failed: {Path(command[0]).name} exited with code {code}. "
            f"See {BUILD_LOG} for the whole log. Its last lines:\n{last}"
        )
