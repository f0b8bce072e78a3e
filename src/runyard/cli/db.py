"""``runyard db``: the database of a store, such as migrating it to this runyard's schema.

A store is also migrated whenever it is opened; ``runyard db upgrade`` does it ahead, on purpose,
and says what it did (say, before a server's workers are restarted on a new runyard).
"""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from runyard.cli._context import CliError
from runyard.cli._output import print_line
from runyard.errors import StoreError


@click.group()
def db() -> None:
    """The database of a store: migrations."""


@db.command("upgrade")
@click.option(
    "--store",
    "url",
    required=True,
    metavar="URL",
    help="The store's database: sqlite:///path/to/runyard.db or "
    "postgresql+psycopg://user:password@host/database.",
)
@click.option(
    "--schema",
    metavar="NAME",
    help="PostgreSQL only: the schema the store is in (a tracking server's workspace <name> is "
    "ws_<name>). Default: public.",
)
def upgrade(url: str, schema: str | None) -> None:
    """Migrate an existing store to the newest revision this runyard knows.

    Prints the revision before and after. A store at the newest revision is left as it is; a
    database (or schema) without a store is refused, as is a store that a newer runyard
    migrated.
    """
    from runyard.store.sql.engine import create_sql_engine
    from runyard.store.sql.migrate import STORE_MIGRATIONS, current_revision
    from runyard.store.sql.migrate import upgrade as upgrade_store

    try:
        parsed = make_url(url)
    except ArgumentError:
        parsed = None
    if parsed is None or parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise click.BadParameter(
            f"{url!r} is not an SQL store: give sqlite:///path/to/runyard.db or "
            "postgresql+psycopg://user:password@host/database (a tracking server migrates its "
            "own stores).",
            param_hint="--store",
        )
    where = parsed.render_as_string(hide_password=True) + (f" (schema {schema})" if schema else "")
    if parsed.get_backend_name() == "sqlite" and schema is None:
        database = parsed.database or ""
        if database in ("", ":memory:") or not Path(database).is_file():
            raise CliError(
                f"There is no SQLite file at {database or '(none)'}: `runyard db upgrade` migrates "
                "an existing store. Check --store."
            )
    engine = create_sql_engine(url, schema)
    try:
        before = current_revision(engine)
        if before is None:
            raise CliError(
                f"There is no runyard store in {where}: nothing to migrate. Check --store and "
                "--schema (a store is created when runyard first opens it)."
            )
        upgrade_store(engine, STORE_MIGRATIONS, schema)
        after = current_revision(engine)
    except DBAPIError as exc:
        raise StoreError(
            f"Cannot migrate the store {where}: {str(exc.orig).strip()}. Check that the database "
            "is reachable and that this user may change its tables."
        ) from None
    finally:
        engine.dispose()
    print_line(f"Store:    {where}")
    print_line(f"Before:   {before}")
    head = STORE_MIGRATIONS.head
    newest = "the newest" if after == head else f"not the newest, {head}"
    done = "; it was already" if after == before else ""
    print_line(f"After:    {after} ({newest}{done})")
