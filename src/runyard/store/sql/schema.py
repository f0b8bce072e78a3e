"""The SQL schema, in SQLAlchemy Core. Portable: the same tables on SQLite and PostgreSQL.

The Alembic migrations in ``migrations/versions`` create exactly this; a test compares them.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from runyard.entities import STOP_STATUSES, LoggedModelStatus, MetricKind, RunStatus, ValueType

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _in(column: str, values: list[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


STATUS_VALUES = [s.value for s in RunStatus]
KIND_VALUES = [k.value for k in MetricKind]
VALUE_TYPE_VALUES = [v.value for v in ValueType]
STOP_VALUES = sorted(s.value for s in STOP_STATUSES)

experiments = Table(
    "experiments",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("experiment_id", String(36), nullable=False, unique=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("created_time", Float, nullable=False),
    Column("archived_time", Float, nullable=True),
    Column("run_counter", Integer, nullable=False, server_default="0"),
    Column("tags_json", Text, nullable=False, server_default="{}"),
)

runs = Table(
    "runs",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(256), nullable=False, unique=True),
    Column("experiment_pk", Integer, ForeignKey("experiments.pk"), nullable=False),
    Column("parent_pk", Integer, ForeignKey("runs.pk"), nullable=True),
    Column("root_pk", Integer, nullable=True),
    Column("number", Integer, nullable=False),
    Column("status", String(32), nullable=False),
    Column("run_type", String(64), nullable=True),
    Column("display_name", String(256), nullable=True),
    Column("description", Text, nullable=True),
    Column("target", String(64), nullable=False),
    Column("created_time", Float, nullable=False),
    Column("start_time", Float, nullable=True),
    Column("end_time", Float, nullable=True),
    Column("heartbeat_time", Float, nullable=True),
    Column("error_json", Text, nullable=True),
    Column("run_definition_json", Text, nullable=True),
    Column("submitted_by", String(256), nullable=True),
    Column("stop_status", String(32), nullable=True),
    Column("deleted_time", Float, nullable=True),
    CheckConstraint(_in("status", STATUS_VALUES), name="status"),
    CheckConstraint(_in("stop_status", STOP_VALUES), name="stop_status"),
    # Listings walk these newest first; ``deleted_time`` last, so that the test of a search
    # (and a count) that leaves deleted runs out is answered from the index alone.
    Index(None, "experiment_pk", "parent_pk", "pk", "deleted_time"),
    Index(None, "parent_pk", "pk", "deleted_time"),
    Index(None, "root_pk", "pk", "deleted_time"),
    Index(None, "status", "pk", "deleted_time"),
)
"""``deleted_time`` is when the run was deleted (``Store.set_run_deleted``), NULL while it is
not: searches leave deleted runs out unless they ask for them (``RunQuery.lifecycle``)."""

run_tags = Table(
    "run_tags",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", Text, nullable=True),
    Index(None, "key", "value", "run_pk"),
)

run_properties = Table(
    "run_properties",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", Text, nullable=False),
    Index(None, "key", "value", "run_pk"),
)

metric_series = Table(
    "metric_series",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("run_pk", Integer, ForeignKey("runs.pk"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("value_type", String(16), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("count", BigInteger, nullable=False, server_default="0"),
    Column("last_value_json", Text, nullable=True),
    Column("min_value", Float, nullable=True),
    Column("max_value", Float, nullable=True),
    Column("updated_time", Float, nullable=False),
    Column("last_number", Float, nullable=True),
    Column("last_step", BigInteger, nullable=True),
    Column("last_time", Float, nullable=True),
    UniqueConstraint("run_pk", "name"),
    # Filters and sorts on a metric (``metrics.acc > 0.9``, ``metrics.loss.min ASC``) walk these.
    Index(None, "name", "last_number", "run_pk"),
    Index(None, "name", "min_value", "run_pk"),
    Index(None, "name", "max_value", "run_pk"),
    CheckConstraint(_in("kind", KIND_VALUES), name="kind"),
    CheckConstraint(_in("value_type", VALUE_TYPE_VALUES), name="value_type"),
)
"""``last_number`` is the last value when it is a number (an int or a finite-or-infinite float;
not NaN, not a bool): what ``metrics.NAME`` compares and sorts by. ``min_value`` and
``max_value`` leave NaN and non-numbers out. ``last_step`` and ``last_time`` are the step (None
when it had none) and time of the point ``last_value_json`` holds, the last one logged."""

metric_chunks = Table(
    "metric_chunks",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("series_pk", Integer, ForeignKey("metric_series.pk"), nullable=False),
    Column("count", Integer, nullable=False),
    Column("values_encoding", String(8), nullable=False),
    Column("values_data", LargeBinary, nullable=False),
    Column("steps_encoding", String(8), nullable=True),
    Column("steps_data", LargeBinary, nullable=True),
    Column("times_data", LargeBinary, nullable=False),
    Index(None, "series_pk", "pk"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk"), primary_key=True),
    Column("path", String(1024), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("created_time", Float, nullable=False),
    Column("complete", Integer, nullable=False, server_default="0"),
    Column("upload_id", String(32), nullable=True),
    Column("writer", Text, nullable=True),
    Column("heartbeat_time", Float, nullable=True),
    Index(None, "complete"),
)
"""A run's artifacts, and the uploads under way (``complete`` 0): see ``store/sql/uploads.py``.
``upload_id`` names a pending upload (and its partial file), ``writer`` is the process writing
it, ``heartbeat_time`` its last progress."""

blobs = Table(
    "blobs",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("created_time", Float, nullable=False),
)

snapshots = Table(
    "snapshots",
    metadata,
    Column("snapshot_id", String(64), primary_key=True),
    Column("created_time", Float, nullable=False),
    Column("manifest_json", Text, nullable=False),
)

run_logs = Table(
    "run_logs",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("run_pk", Integer, ForeignKey("runs.pk"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("start", BigInteger, nullable=False),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Index(None, "run_pk", "name", "start"),
)

applied_requests = Table(
    "applied_requests",
    metadata,
    Column("request_id", String(128), primary_key=True),
    Column("applied_time", Float, nullable=False),
)
"""Request ids of the writes applied (``Store.log_metrics(..., request_id=...)`` and kin), each
recorded in the transaction of its write: a retried request finds its id and is not applied
again."""


# -- logged models, and what runs use and make (MLflow 3; store/sql/models.py) -----------------

MODEL_STATUS_VALUES = [s.value for s in LoggedModelStatus]


class ModelRole(StrEnum):
    """What a logged model is to a run it is linked with (``run_models.role``)."""

    INPUT = "input"
    OUTPUT = "output"


logged_models = Table(
    "logged_models",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("model_id", String(64), nullable=False, unique=True),
    Column("run_pk", Integer, ForeignKey("runs.pk"), nullable=False),
    Column("experiment_pk", Integer, ForeignKey("experiments.pk"), nullable=False),
    Column("name", String(500), nullable=False),
    Column("model_type", String(500), nullable=True),
    Column("status", String(16), nullable=False),
    Column("status_message", Text, nullable=True),
    Column("created_time", Float, nullable=False),
    Column("updated_time", Float, nullable=False),
    Column("deleted_time", Float, nullable=True),
    CheckConstraint(_in("status", MODEL_STATUS_VALUES), name="status"),
    # Listings by experiment and by source run walk these newest first.
    Index(None, "experiment_pk", "pk"),
    Index(None, "run_pk", "name"),
)
"""A model a run made (``run_pk``, its source run; ``experiment_pk`` is that run's experiment,
kept here for listings). Its files are the run's artifacts under ``models/<model_id>/``.
``deleted_time`` is when it was deleted, NULL while it is not."""

logged_model_tags = Table(
    "logged_model_tags",
    metadata,
    Column("model_pk", Integer, ForeignKey("logged_models.pk"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", Text, nullable=False),
)

logged_model_params = Table(
    "logged_model_params",
    metadata,
    Column("model_pk", Integer, ForeignKey("logged_models.pk"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", Text, nullable=False),
)

logged_model_metrics = Table(
    "logged_model_metrics",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("model_pk", Integer, ForeignKey("logged_models.pk"), nullable=False),
    Column("key", String(255), nullable=False),
    Column("value", Float, nullable=True),
    Column("time", Float, nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("run_pk", Integer, ForeignKey("runs.pk"), nullable=True),
    Column("dataset_name", String(500), nullable=True),
    Column("dataset_digest", String(64), nullable=True),
    Index(None, "model_pk", "key"),
)
"""Metric values recorded on a logged model; ``value`` NULL is NaN (SQLite keeps no NaN)."""

run_inputs = Table(
    "run_inputs",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("run_pk", Integer, ForeignKey("runs.pk"), nullable=False),
    Column("name", String(500), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("source_type", String(255), nullable=False),
    Column("source", Text, nullable=False),
    Column("schema", Text, nullable=True),
    Column("profile", Text, nullable=True),
    Column("tags_json", Text, nullable=False, server_default="{}"),
    UniqueConstraint("run_pk", "name", "digest"),
)
"""The datasets a run used, in the order first recorded; one row per name and digest."""

run_models = Table(
    "run_models",
    metadata,
    Column("run_pk", Integer, ForeignKey("runs.pk"), primary_key=True),
    Column("model_pk", Integer, ForeignKey("logged_models.pk"), primary_key=True),
    Column("role", String(8), primary_key=True),
    Column("step", BigInteger, nullable=False, server_default="0"),
    CheckConstraint(_in("role", [r.value for r in ModelRole]), name="role"),
)
"""The logged models a run used (role ``input``) and made (``output``, at ``step``)."""


# -- registered models (Azure ML's model registry; store/sql/registry.py) -----------------------

registered_models = Table(
    "registered_models",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("version_counter", Integer, nullable=False, server_default="0"),
    Column("created_time", Float, nullable=False),
    Column("description", Text, nullable=True),
    Column("updated_time", Float, nullable=True),
)
"""A model name; ``version_counter`` is its last version given (never given again while the
name exists); its description and ``updated_time`` (None: never changed since created)."""

registered_model_tags = Table(
    "registered_model_tags",
    metadata,
    Column("model_pk", Integer, ForeignKey("registered_models.pk"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", Text, nullable=False),
)
"""A model name's own tags (MLflow's registered model tags; a version has its own)."""

registered_model_aliases = Table(
    "registered_model_aliases",
    metadata,
    Column("model_pk", Integer, ForeignKey("registered_models.pk"), primary_key=True),
    Column("alias", String(255), primary_key=True),
    Column("version", Integer, nullable=False),
)
"""A model name's aliases (MLflow's ``models:/name@alias``), each naming one of its versions;
deleting the version deletes its aliases."""

model_versions = Table(
    "model_versions",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("model_pk", Integer, ForeignKey("registered_models.pk"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_time", Float, nullable=False),
    Column("root", String(1024), nullable=False),
    Column("description", Text, nullable=True),
    Column("run_pk", Integer, ForeignKey("runs.pk"), nullable=True),
    Column("request_id", String(128), nullable=True, unique=True),
    UniqueConstraint("model_pk", "version"),
    Index(None, "run_pk"),
)
"""A version of a registered model: ``run_pk`` the run that made it (when known),
``request_id`` the request that registered it (a retried one returns it)."""

model_version_tags = Table(
    "model_version_tags",
    metadata,
    Column("version_pk", Integer, ForeignKey("model_versions.pk"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", Text, nullable=False),
    Index(None, "key", "value"),
)

model_version_properties = Table(
    "model_version_properties",
    metadata,
    Column("version_pk", Integer, ForeignKey("model_versions.pk"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", Text, nullable=False),
    Index(None, "key", "value"),
)

model_version_files = Table(
    "model_version_files",
    metadata,
    Column("version_pk", Integer, ForeignKey("model_versions.pk"), primary_key=True),
    Column("path", String(1024), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Index(None, "digest"),
)
"""A version's files: their bytes are the blobs ``digest`` (``blobs``), shared, never changed."""
environments = Table(
    "environments",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    Column("definition", Text, nullable=False),
    Column("created_time", Float, nullable=False),
    UniqueConstraint("name", "version"),
)
"""Registered environments: one row per version of a name ("1", "2"... as text outside);
``definition`` is the environment's JSON as registered."""

compute_targets = Table(
    "compute_targets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("config", Text, nullable=False),
    Column("created_time", Float, nullable=False),
)
"""Compute targets attached to the workspace (``local`` is not stored: it always exists);
``config`` is the runner's configuration as JSON."""
