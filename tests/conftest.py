"""Shared fixtures: every test gets its own folder and its own workspace on a real SQLite file.

PostgreSQL tests use the server named by ``$RUNYARD_TEST_POSTGRES_URL`` (``make test`` starts one
with ``scripts/postgres.sh`` and sets it): each test gets a fresh database (``postgres_url``) or
a fresh schema (``postgres_schema``), dropped after it. Without the variable they are skipped,
unless ``RUNYARD_REQUIRE_SERVICES=1`` (as in ``make test`` and CI), where they fail instead.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from runyard import Experiment, Workspace

POSTGRES_URL_ENV = "RUNYARD_TEST_POSTGRES_URL"
REQUIRE_SERVICES_ENV = "RUNYARD_REQUIRE_SERVICES"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run each test in its own empty folder, with no tracking URI from the environment."""
    for name in (
        "RUNYARD_TRACKING_URI",
        "RUNYARD_ARTIFACT_ROOT",
        "RUNYARD_RUN_ID",
        "RUNYARD_EXPERIMENT",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.create(tmp_path)
    yield ws
    ws.close()


@pytest.fixture
def experiment(workspace: Workspace) -> Experiment:
    return Experiment(workspace=workspace, name="explore-runs")


def _service_missing(reason: str) -> None:
    """Skip, or fail when the services are required (CI skips nothing)."""
    if os.environ.get(REQUIRE_SERVICES_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_SERVICES_ENV}=1: services are required).", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An autocommit engine on the database of ``$RUNYARD_TEST_POSTGRES_URL``, to create and drop
    the databases and schemas of the tests."""
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        _service_missing(
            f"PostgreSQL tests need {POSTGRES_URL_ENV}: run `make test`, or export the URL that "
            "`scripts/postgres.sh start` prints"
        )
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _service_missing("PostgreSQL tests need psycopg: pip install -e '.[dev]'")
    assert url is not None
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except DBAPIError as exc:
        engine.dispose()
        # A URL that is set but does not answer is a broken setup, never a reason to skip.
        pytest.fail(f"{POSTGRES_URL_ENV}={url} does not answer: {exc.orig}", pytrace=False)
    yield engine
    engine.dispose()


@contextlib.contextmanager
def _fresh_database(admin: Engine) -> Iterator[str]:
    name = f"runyard_t_{uuid.uuid4().hex[:16]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE template0'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        _drop_database(admin, name)


@pytest.fixture
def postgres_url(postgres_admin: Engine) -> Iterator[str]:
    """The URL of a fresh, empty database on the test server, dropped after the test."""
    with _fresh_database(postgres_admin) as url:
        yield url


@pytest.fixture(scope="module")
def postgres_module_url(postgres_admin: Engine) -> Iterator[str]:
    """The URL of a fresh, empty database shared by the tests of a module, dropped after them."""
    with _fresh_database(postgres_admin) as url:
        yield url


def _drop_database(admin: Engine, name: str) -> None:
    """Drop the database, ending its sessions. Retried: ending an autovacuum worker busy in it
    needs pg_signal_backend (``scripts/postgres.sh`` grants it), and the worker ends soon."""
    deadline = time.monotonic() + 30
    while True:
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            return
        except DBAPIError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture
def postgres_schema(postgres_admin: Engine) -> Iterator[str]:
    """The name of a schema, new to the database of ``$RUNYARD_TEST_POSTGRES_URL`` (not created:
    ``SqlStore(url, root, schema=...)`` creates it); dropped with its content after the test."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    try:
        yield name
    finally:
        with postgres_admin.connect() as conn:
            conn.execute(text("SET lock_timeout = '30s'"))
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))


@pytest.fixture(scope="session")
def postgres_server_url(postgres_admin: Engine) -> str:
    """``$RUNYARD_TEST_POSTGRES_URL``: a database shared by every test; work in a
    ``postgres_schema`` of it, or in a ``postgres_url`` database of your own."""
    return postgres_admin.url.render_as_string(hide_password=False)


S3_ENDPOINT_ENV = "RUNYARD_TEST_S3_ENDPOINT"


@pytest.fixture(scope="session")
def s3_endpoint() -> str:
    """``$RUNYARD_TEST_S3_ENDPOINT``: the URL of an S3-compatible server for the tests (``make
    test`` starts moto's with ``scripts/s3.sh``; it takes any credentials). Skipped without it,
    failing instead with ``RUNYARD_REQUIRE_SERVICES=1``."""
    import urllib.error
    import urllib.request

    url = os.environ.get(S3_ENDPOINT_ENV, "").rstrip("/")
    if not url:
        _service_missing(
            f"S3 tests need {S3_ENDPOINT_ENV}: run `make test`, or export the URL that "
            "`scripts/s3.sh start` prints"
        )
    if importlib.util.find_spec("s3fs") is None:
        _service_missing("S3 tests need s3fs: pip install -e '.[dev]'")
    try:
        urllib.request.urlopen(url, timeout=10).close()
    except urllib.error.HTTPError:
        pass  # an answer, if not a welcome one: the server is up
    except OSError as exc:
        # A URL that is set but does not answer is a broken setup, never a reason to skip.
        pytest.fail(f"{S3_ENDPOINT_ENV}={url} does not answer: {exc}", pytrace=False)
    return url


RAY_ADDRESS_ENV = "RUNYARD_TEST_RAY_ADDRESS"


@pytest.fixture(scope="session")
def ray_address() -> str:
    """``$RUNYARD_TEST_RAY_ADDRESS``: a Ray head's dashboard URL (``make test`` starts one on
    127.0.0.1 with ``scripts/ray.sh``). Skipped without it, failing instead with
    ``RUNYARD_REQUIRE_SERVICES=1``."""
    import urllib.request

    address = os.environ.get(RAY_ADDRESS_ENV, "").rstrip("/")
    if not address:
        _service_missing(
            f"Ray tests need {RAY_ADDRESS_ENV}: run `make test`, or export the URL that "
            "`scripts/ray.sh start` prints"
        )
    if importlib.util.find_spec("ray") is None:
        _service_missing("Ray tests need ray: pip install -e '.[dev]'")
    try:
        urllib.request.urlopen(f"{address}/api/version", timeout=10).close()
    except OSError as exc:
        pytest.fail(f"{RAY_ADDRESS_ENV}={address} does not answer: {exc}", pytrace=False)
    return address
