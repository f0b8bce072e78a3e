"""The server's own tables (workspaces, token hashes): migrated by the one migration runner, in
their own schema on PostgreSQL, refused when a newer runyard migrated them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from runyard.errors import StoreError
from runyard.server.control import CONTROL_MIGRATIONS, ControlStore, Role
from runyard.store.sql.migrate import current_revision


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    """(URL, schema) of new, empty server tables."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.db'}", None
    else:
        yield (
            request.getfixturevalue("postgres_server_url"),
            request.getfixturevalue("postgres_schema"),
        )


def test_control_tables_are_created_at_head_and_reopened_as_they_are(
    location: tuple[str, str | None],
) -> None:
    url, schema = location
    control = ControlStore(url, schema)
    control.create_workspace("team")
    _, secret = control.create_token("team", Role.WRITER, "ci")
    assert current_revision(control.engine) == CONTROL_MIGRATIONS.head
    control.close()
    again = ControlStore(url, schema)
    try:
        assert [w.name for w in again.list_workspaces()] == ["team"]
        found = again.authenticate(secret)
        assert found is not None and found.role is Role.WRITER
    finally:
        again.close()


def test_control_tables_live_in_their_schema_on_postgresql(
    postgres_server_url: str, postgres_schema: str
) -> None:
    ControlStore(postgres_server_url, postgres_schema).close()
    engine = create_engine(postgres_server_url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names(schema=postgres_schema))
            assert {"workspaces", "tokens", "alembic_version"} <= tables
    finally:
        engine.dispose()


def test_control_tables_newer_than_runyard_are_refused(location: tuple[str, str | None]) -> None:
    url, schema = location
    control = ControlStore(url, schema)
    with control.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    control.close()
    with pytest.raises(StoreError, match=r"server's tables is at revision 9999.*Upgrade runyard"):
        ControlStore(url, schema)
