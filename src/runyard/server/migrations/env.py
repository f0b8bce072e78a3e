"""Alembic environment of the server's own tables: runs on the connection handed over.

On PostgreSQL the tables and the version table live in the schema given in
``config.attributes["schema"]`` (``runyard_server``).
"""

from __future__ import annotations

from alembic import context

from runyard.server.control import metadata

connection = context.config.attributes["connection"]
schema = context.config.attributes.get("schema")
if schema is not None:
    connection = connection.execution_options(schema_translate_map={None: schema})
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,
    version_table_schema=schema,
)
with context.begin_transaction():
    context.run_migrations()
