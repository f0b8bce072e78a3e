"""The server's own tables: which workspaces exist, and the tokens that may use them.

SQLAlchemy Core, in ``server.db`` (SQLite) or the ``runyard_server`` schema (PostgreSQL), with
its own Alembic migrations (``server/migrations``). Tokens are stored only as SHA-256 hashes: the
secret is shown once, when created. A token has one workspace (or ``*``, every workspace) and a
role there.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    Engine,
    Float,
    MetaData,
    String,
    Table,
    bindparam,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError

from runyard.errors import NotFoundError, StoreError, UserError
from runyard.limits import check_text
from runyard.server.config import check_workspace_name
from runyard.store.sql import engine as sql_engine
from runyard.store.sql.migrate import Migrations, upgrade

ALL_WORKSPACES = "*"
"""The workspace of a token valid in every workspace (a server administrator's, when admin)."""
TOKEN_PREFIX = "ryd_"
MAX_TOKEN_NAME_LENGTH = 255
CONTROL_MIGRATIONS = Migrations("server's tables", Path(__file__).parent / "migrations", "0001")


class Role(StrEnum):
    """What a token may do in its workspace; each role includes the ones before it."""

    READER = "reader"  # read verbs
    WRITER = "writer"  # and write runs, metrics, logs, artifacts, snapshots
    ADMIN = "admin"  # and manage the workspace's tokens (on "*": create workspaces)

    @property
    def rank(self) -> int:
        return list(Role).index(self)


_ROLES = ", ".join(f"'{r.value}'" for r in Role)
metadata = MetaData(
    naming_convention={"pk": "pk_%(table_name)s", "ck": "ck_%(table_name)s_%(constraint_name)s"}
)
workspaces = Table(
    "workspaces",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("created_time", Float, nullable=False),
)
tokens = Table(
    "tokens",
    metadata,
    Column("token_id", String(32), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("name", String(MAX_TOKEN_NAME_LENGTH), nullable=True),
    Column("workspace", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("created_time", Float, nullable=False),
    Column("revoked_time", Float, nullable=True),
    CheckConstraint(f"role IN ({_ROLES})", name="role"),
)


@dataclass(frozen=True, slots=True)
class WorkspaceInfo:
    name: str
    created_time: float


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as the server keeps it: never the secret."""

    token_id: str
    name: str | None
    workspace: str
    role: Role
    created_time: float
    revoked_time: float | None = None

    def role_in(self, workspace: str) -> Role | None:
        """The token's role in ``workspace`` (None: no access there)."""
        if self.revoked_time is None and self.workspace in (workspace, ALL_WORKSPACES):
            return self.role
        return None


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _token(row: Any) -> TokenInfo:
    return TokenInfo(
        row.token_id, row.name, row.workspace, Role(row.role), row.created_time, row.revoked_time
    )


_LIVE_TOKEN = select(tokens).where(
    tokens.c.token_hash == bindparam("token_hash"), tokens.c.revoked_time.is_(None)
)
"""Built once: every request authenticates, and a statement built per call costs its cache key."""


class ControlStore:
    """Workspaces and tokens, in the database at ``url`` (in ``schema`` when given)."""

    def __init__(self, url: str, schema: str | None = None) -> None:
        self.url = url
        self.schema = schema
        # On PostgreSQL the tables live in ``schema``, the connections' search path (as a
        # workspace's store lives in its own schema).
        self.engine: Engine = sql_engine.acquire_engine(url, schema)
        try:
            upgrade(self.engine, CONTROL_MIGRATIONS, schema)
        except DBAPIError as exc:
            sql_engine.release_engine(self.engine)
            raise StoreError(
                f"Cannot open the server's tables in {_safe(url)}: {exc.orig}. Check the --data "
                "folder or the --store URL, and that this process may write there."
            ) from None
        except BaseException:
            sql_engine.release_engine(self.engine)
            raise

    def close(self) -> None:
        sql_engine.release_engine(self.engine)

    def ping(self) -> None:
        """Raise if the database cannot be reached (``/readyz``)."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    # -- workspaces ------------------------------------------------------------------------------

    def create_workspace(self, name: str) -> WorkspaceInfo:
        """Record a new workspace (its store is created when first opened).

        Raises:
            InvalidNameError: the name breaks the workspace naming rule.
            UserError: a workspace of that name exists already.
        """
        check_workspace_name(name)
        info = WorkspaceInfo(name, time.time())
        try:
            with sql_engine.write_transaction(self.engine) as conn:
                conn.execute(workspaces.insert().values(name=name, created_time=info.created_time))
        except IntegrityError:
            raise UserError(f"Workspace {name!r} exists already.") from None
        return info

    def ensure_workspace(self, name: str) -> WorkspaceInfo:
        """The workspace ``name``, recorded now if it was not (the served local workspace)."""
        found = self.get_workspace(name)
        if found is not None:
            return found
        with contextlib.suppress(UserError):  # another worker recorded it meanwhile
            return self.create_workspace(name)
        found = self.get_workspace(name)
        assert found is not None
        return found

    def get_workspace(self, name: str) -> WorkspaceInfo | None:
        with sql_engine.read_transaction(self.engine) as conn:
            row = conn.execute(select(workspaces).where(workspaces.c.name == name)).first()
        return None if row is None else WorkspaceInfo(row.name, row.created_time)

    def list_workspaces(self) -> list[WorkspaceInfo]:
        with sql_engine.read_transaction(self.engine) as conn:
            rows = conn.execute(select(workspaces).order_by(workspaces.c.name)).all()
        return [WorkspaceInfo(row.name, row.created_time) for row in rows]

    # -- tokens ----------------------------------------------------------------------------------

    def create_token(
        self, workspace: str, role: Role, name: str | None = None
    ) -> tuple[TokenInfo, str]:
        """Create a token with ``role`` in ``workspace`` (``*``: every workspace).

        Returns:
            The token's record and its secret, which is shown once and never stored.

        Raises:
            NotFoundError: the workspace does not exist (create it first).
            UserError: the name is longer than 255 characters, or holds a NUL or a lone
                surrogate.
        """
        role = Role(role)
        check_text("token name", name, MAX_TOKEN_NAME_LENGTH)
        if workspace != ALL_WORKSPACES and self.get_workspace(workspace) is None:
            raise NotFoundError(
                f"Workspace {workspace!r} does not exist; create it first (runyard server "
                "workspaces create NAME), then give it tokens."
            )
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        info = TokenInfo(secrets.token_hex(6), name, workspace, role, time.time())
        with sql_engine.write_transaction(self.engine) as conn:
            conn.execute(
                tokens.insert().values(
                    token_id=info.token_id,
                    token_hash=hash_token(secret),
                    name=name,
                    workspace=workspace,
                    role=role.value,
                    created_time=info.created_time,
                )
            )
        return info, secret

    def authenticate(self, secret: str) -> TokenInfo | None:
        """The live (not revoked) token whose secret is ``secret``; None if there is none."""
        with sql_engine.read_transaction(self.engine) as conn:
            row = conn.execute(_LIVE_TOKEN, {"token_hash": hash_token(secret)}).first()
        return None if row is None else _token(row)

    def list_tokens(self, workspace: str | None = None) -> list[TokenInfo]:
        """Every token (of ``workspace`` only, when given), oldest first, revoked ones too."""
        stmt = select(tokens).order_by(tokens.c.created_time, tokens.c.token_id)
        if workspace is not None:
            stmt = stmt.where(tokens.c.workspace == workspace)
        with sql_engine.read_transaction(self.engine) as conn:
            return [_token(row) for row in conn.execute(stmt)]

    def revoke_token(self, token_id: str, workspace: str | None = None) -> TokenInfo:
        """Revoke a token for good (a no-op if it is revoked already); return it.

        Raises:
            NotFoundError: there is no such token (in ``workspace``, when given).
        """
        where = f" of workspace {workspace!r}" if workspace is not None else ""
        missing = NotFoundError(
            f"There is no token {token_id!r}{where}; `runyard server tokens list` shows them."
        )
        if not (token_id.isascii() and token_id.isalnum()):
            raise missing  # token ids are hexadecimal: not worth a query (nor a DataError)
        with sql_engine.write_transaction(self.engine) as conn:
            stmt = select(tokens).where(tokens.c.token_id == token_id)
            if workspace is not None:
                stmt = stmt.where(tokens.c.workspace == workspace)
            row = conn.execute(stmt).first()
            if row is None:
                raise missing
            if row.revoked_time is None:
                conn.execute(
                    update(tokens)
                    .where(tokens.c.token_id == token_id)
                    .values(revoked_time=time.time())
                )
            row = conn.execute(select(tokens).where(tokens.c.token_id == token_id)).one()
        return _token(row)


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
