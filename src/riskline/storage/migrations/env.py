"""Alembic's entry point, run by ``riskline.storage.engine``: migrate on the connection it hands over.

The caller owns the connection and its transaction (one transaction for the whole upgrade, so a crash or an
error leaves the database at the revision it had), so this file only configures the context and runs.
There is no ``alembic.ini``: ``riskline.storage.engine.alembic_config`` builds the configuration in code.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from riskline.storage.schema import declared_metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("riskline migrations run through riskline.storage.engine, which passes a connection")

context.configure(
    connection=connection,
    target_metadata=declared_metadata(),
    transactional_ddl=True,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
