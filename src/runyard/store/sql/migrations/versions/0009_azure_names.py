"""Azure ML's names for what ported code reads or filters on: the run type of submitted scripts
(``runyard.scriptrun`` becomes ``azureml.scriptrun``), the tag of ``create_children(count=)``
(``runyard.batch_child_number`` becomes ``azureml.batch_child_number``), and the properties
``runyard.ComputeTargetType`` (now ``_azureml.ComputeTargetType``) and ``runyard.git.*`` (now
``azureml.git.*``, with ``mlflow.source.git.{repoURL,branch,commit}`` beside them, as Azure ML
records them).

Only rows are rewritten; the schema does not change. A key is renamed only where the run has no
row of the new name already (the primary key is (run, key)): such a run keeps both. The names
are spelled out here, not imported, so that this revision keeps doing the same whatever the
package's constants become.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_RUN_TYPES = (("runyard.scriptrun", "azureml.scriptrun"),)
_TAGS = (("runyard.batch_child_number", "azureml.batch_child_number"),)
_GIT = ("repository_uri", "branch", "commit", "dirty")
_PROPERTIES = (
    ("runyard.ComputeTargetType", "_azureml.ComputeTargetType"),
    *((f"runyard.git.{name}", f"azureml.git.{name}") for name in _GIT),
)
_MLFLOW = (
    ("runyard.git.repository_uri", "mlflow.source.git.repoURL"),
    ("runyard.git.branch", "mlflow.source.git.branch"),
    ("runyard.git.commit", "mlflow.source.git.commit"),
)
"""Properties copied under MLflow's names (before the renaming: only the runs whose git
properties this revision renames get them)."""


def _key_table(name: str) -> sa.TableClause:
    return sa.table(name, sa.column("run_pk", sa.Integer), sa.column("key", sa.String))


def _rename_keys(conn: sa.Connection, name: str, pairs: tuple[tuple[str, str], ...]) -> None:
    table = _key_table(name)
    other = sa.alias(_key_table(name), "other")
    for old, new in pairs:
        taken = (
            sa.select(sa.literal(1))
            .select_from(other)
            .where(other.c.run_pk == table.c.run_pk, other.c.key == new)
        )
        conn.execute(table.update().where(table.c.key == old, ~sa.exists(taken)).values(key=new))


def _copy_git_to_mlflow(conn: sa.Connection) -> None:
    properties = sa.table(
        "run_properties",
        sa.column("run_pk", sa.Integer),
        sa.column("key", sa.String),
        sa.column("value", sa.Text),
    )
    other = sa.alias(properties, "other")
    for source, target in _MLFLOW:
        taken = (
            sa.select(sa.literal(1))
            .select_from(other)
            .where(other.c.run_pk == properties.c.run_pk, other.c.key == target)
        )
        rows = sa.select(properties.c.run_pk, sa.literal(target), properties.c.value).where(
            properties.c.key == source,
            ~sa.exists(taken),
        )
        conn.execute(properties.insert().from_select(["run_pk", "key", "value"], rows))


def upgrade() -> None:
    conn = op.get_bind()
    runs = sa.table("runs", sa.column("run_type", sa.String))
    for old, new in _RUN_TYPES:
        conn.execute(runs.update().where(runs.c.run_type == old).values(run_type=new))
    _rename_keys(conn, "run_tags", _TAGS)
    _copy_git_to_mlflow(conn)
    _rename_keys(conn, "run_properties", _PROPERTIES)


def downgrade() -> None:
    # The run type, the tag and the compute target property go back to the names the older
    # runyard writes and reads; git properties keep Azure's names (runyard never reads them).
    conn = op.get_bind()
    runs = sa.table("runs", sa.column("run_type", sa.String))
    for old, new in _RUN_TYPES:
        conn.execute(runs.update().where(runs.c.run_type == new).values(run_type=old))
    _rename_keys(conn, "run_tags", tuple((new, old) for old, new in _TAGS))
    _rename_keys(conn, "run_properties", tuple((new, old) for old, new in _PROPERTIES[:1]))
