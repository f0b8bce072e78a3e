"""``runyard db upgrade``: migrating an existing store, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from runyard.entities import NewRun
from runyard.store.sql.engine import create_sql_engine
from runyard.store.sql.migrate import STORE_MIGRATIONS, current_revision
from tests.cli.conftest import Invoke
from tests.store.sql_workers import SqlTarget


def _revision(target: SqlTarget) -> str | None:
    engine = create_sql_engine(target.url, target.schema)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def _upgrade(cli: Invoke, target: SqlTarget) -> tuple[int, str, str]:
    args = ["db", "upgrade", "--store", target.url]
    if target.schema is not None:
        args += ["--schema", target.schema]
    result = cli(*args)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def sqlite_target(tmp_path: Path) -> SqlTarget:
    return SqlTarget(f"sqlite:///{tmp_path}/runyard.db", str(tmp_path / "artifacts"))


def test_db_upgrade_migrates_an_old_sqlite_store(cli: Invoke, sqlite_target: SqlTarget) -> None:
    sqlite_target.migrate_to("0001")
    code, stdout, _ = _upgrade(cli, sqlite_target)
    assert code == 0
    assert stdout.splitlines() == [
        f"Store:    {sqlite_target.url}",
        "Before:   0001",
        f"After:    {STORE_MIGRATIONS.head} (the newest)",
    ]
    assert _revision(sqlite_target) == STORE_MIGRATIONS.head


def test_db_upgrade_leaves_a_current_store_alone(cli: Invoke, sqlite_target: SqlTarget) -> None:
    store = sqlite_target.open()
    store.create_runs([NewRun("r", "exp")])
    store.close()
    code, stdout, _ = _upgrade(cli, sqlite_target)
    assert code == 0
    assert f"Before:   {STORE_MIGRATIONS.head}" in stdout
    assert f"After:    {STORE_MIGRATIONS.head} (the newest; it was already)" in stdout
    store = sqlite_target.open()
    try:
        assert store.get_run("r").number == 1
    finally:
        store.close()


def test_db_upgrade_missing_sqlite_file_is_refused(cli: Invoke, tmp_path: Path) -> None:
    missing = tmp_path / "nothing" / "runyard.db"
    code, _, stderr = _upgrade(cli, SqlTarget(f"sqlite:///{missing}", str(tmp_path)))
    assert code == 1
    assert "There is no SQLite file" in stderr
    assert not missing.parent.exists()


def test_db_upgrade_newer_store_is_refused(cli: Invoke, sqlite_target: SqlTarget) -> None:
    sqlite_target.open().close()
    engine = create_sql_engine(sqlite_target.url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    code, stdout, stderr = _upgrade(cli, sqlite_target)
    assert (code, stdout) == (1, "")
    assert "revision 0099" in stderr
    assert "Upgrade runyard" in stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--store", "http://127.0.0.1:5000/team"], "is not an SQL store"),
        (["--store", "not a url"], "is not an SQL store"),
    ],
)
def test_db_upgrade_other_urls_are_usage_errors(cli: Invoke, args: list[str], message: str) -> None:
    result = cli("db", "upgrade", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_db_upgrade_schema_for_sqlite_is_refused(cli: Invoke, sqlite_target: SqlTarget) -> None:
    sqlite_target.open().close()
    code, _, stderr = _upgrade(cli, SqlTarget(sqlite_target.url, "", schema="ws_a"))
    assert code == 1
    assert "only be given for a PostgreSQL store" in stderr


def test_db_upgrade_migrates_an_old_postgres_schema(
    cli: Invoke, postgres_server_url: str, postgres_schema: str, tmp_path: Path
) -> None:
    target = SqlTarget(postgres_server_url, str(tmp_path), schema=postgres_schema)
    target.migrate_to("0001")
    code, stdout, _ = _upgrade(cli, target)
    assert code == 0
    assert stdout.splitlines()[1:] == [
        "Before:   0001",
        f"After:    {STORE_MIGRATIONS.head} (the newest)",
    ]
    assert f"(schema {postgres_schema})" in stdout
    assert ":runyard@" not in stdout  # the password is never printed
    assert _revision(target) == STORE_MIGRATIONS.head


def test_db_upgrade_postgres_database_without_store_is_refused(
    cli: Invoke, postgres_url: str, tmp_path: Path
) -> None:
    target = SqlTarget(postgres_url, str(tmp_path))
    code, _, stderr = _upgrade(cli, target)
    assert code == 1
    assert "There is no runyard store" in stderr
    assert _revision(target) is None
