"""The dashboard's tables: operator accounts, alarms, and the log of every operator action (docs/dashboard.md).

* ``operators`` — one row per account: name, role, scrypt hash (never the password);
* ``alarms`` — one row per encounter the duty officer was alarmed about, and its life (raise, acknowledge,
  snooze, resolve: who and when); ``key`` is unique, so two dashboards on one node raise one alarm;
* ``operator_actions`` — append-only: every login, alarm action, report and reply, with who, role and when.

Rows go in and come out as plain mappings; ``riskline.web`` turns them into its value objects. Callers pass
the connection, so an alarm change and its action record commit in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from riskline.storage.schema import Json, Seconds, metadata

ALARM_STATES = ("raised", "acknowledged", "snoozed", "resolved")

operators = sa.Table(
    "operators",
    metadata,
    sa.Column("name", sa.String, primary_key=True),
    sa.Column("role", sa.String, nullable=False),
    sa.Column("password_hash", sa.String, nullable=False),
    sa.Column("created", Seconds(), nullable=False),
    sa.CheckConstraint("role IN ('viewer', 'duty_officer', 'commander')", name="role"),
)
"""Who may use the dashboard, and as what."""

alarms = sa.Table(
    "alarms",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String, nullable=False, unique=True),
    sa.Column("rule", sa.String, nullable=False),
    sa.Column("a", sa.String, nullable=False),
    sa.Column("b", sa.String, nullable=False),
    sa.Column("party_a", sa.String, nullable=False),
    sa.Column("party_b", sa.String, nullable=False),
    sa.Column("severity", sa.String, nullable=False),
    sa.Column("occurred", sa.Boolean, nullable=False),
    sa.Column("incident_id", sa.Integer, nullable=True),
    sa.Column("state", sa.String, nullable=False),
    sa.Column("raised_at", Seconds(), nullable=False),
    sa.Column("reason", sa.String, nullable=False),
    sa.Column("acknowledged_by", sa.String, nullable=True),
    sa.Column("acknowledged_at", Seconds(), nullable=True),
    sa.Column("snoozed_by", sa.String, nullable=True),
    sa.Column("snoozed_until", Seconds(), nullable=True),
    sa.Column("snooze_reason", sa.String, nullable=True),
    sa.Column("resolved_by", sa.String, nullable=True),
    sa.Column("resolved_at", Seconds(), nullable=True),
    sa.Column("note", sa.String, nullable=True),
    sa.CheckConstraint("state IN ('raised', 'acknowledged', 'snoozed', 'resolved')", name="state"),
    sa.Index(None, "state"),
    sa.Index(None, "incident_id"),
    sqlite_autoincrement=True,
)
"""One alarm per encounter (rule, pair, start) and its life."""

operator_actions = sa.Table(
    "operator_actions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", Seconds(), nullable=False),
    sa.Column("operator", sa.String, nullable=False),
    sa.Column("role", sa.String, nullable=False),
    sa.Column("action", sa.String, nullable=False),
    sa.Column("target", sa.String, nullable=True),
    sa.Column("detail", Json(), nullable=False),
    sa.Index(None, "target"),
    sqlite_autoincrement=True,
)
"""Append-only: what each operator did, and when (the server's clock)."""


# Operators


def add_operator(connection: Connection, name: str, role: str, password_hash: str, created: float) -> bool:
    """Insert the account, or replace its role and hash; True if it is new."""
    exists = get_operator(connection, name) is not None
    values = {"role": role, "password_hash": password_hash, "created": created}
    if exists:
        connection.execute(sa.update(operators).where(operators.c.name == name).values(values))
    else:
        connection.execute(sa.insert(operators).values(name=name, **values))
    return not exists


def get_operator(connection: Connection, name: str) -> dict[str, Any] | None:
    return _one(connection.execute(sa.select(operators).where(operators.c.name == name)).mappings().first())


def list_operators(connection: Connection) -> list[dict[str, Any]]:
    return [dict(row) for row in connection.execute(sa.select(operators).order_by(operators.c.name)).mappings()]


def remove_operator(connection: Connection, name: str) -> bool:
    return connection.execute(sa.delete(operators).where(operators.c.name == name)).rowcount == 1


# Alarms


def insert_alarm(connection: Connection, values: Mapping[str, Any]) -> int:
    """Insert a new alarm (``values`` without ``id``); returns its id."""
    return int(connection.execute(sa.insert(alarms).returning(alarms.c.id), dict(values)).scalar_one())


def update_alarm(connection: Connection, alarm_id: int, values: Mapping[str, Any]) -> None:
    connection.execute(sa.update(alarms).where(alarms.c.id == alarm_id).values(dict(values)))


def get_alarm(connection: Connection, alarm_id: int) -> dict[str, Any] | None:
    return _one(connection.execute(sa.select(alarms).where(alarms.c.id == alarm_id)).mappings().first())


def alarm_by_key(connection: Connection, key: str) -> dict[str, Any] | None:
    return _one(connection.execute(sa.select(alarms).where(alarms.c.key == key)).mappings().first())


def alarm_for_incident(connection: Connection, incident_id: int) -> Mapping[str, Any] | None:
    query = sa.select(alarms).where(alarms.c.incident_id == incident_id).order_by(alarms.c.id.desc())
    return _one(connection.execute(query).mappings().first())


def list_alarms(connection: Connection, *, active_only: bool = False, limit: int = 500) -> list[dict[str, Any]]:
    """Newest first; ``active_only`` leaves resolved alarms out."""
    query = sa.select(alarms).order_by(alarms.c.id.desc()).limit(limit)
    if active_only:
        query = query.where(alarms.c.state != "resolved")
    return [dict(row) for row in connection.execute(query).mappings()]


def alarmed_incident_ids(connection: Connection) -> set[int]:
    query = sa.select(alarms.c.incident_id).where(alarms.c.incident_id.is_not(None))
    return {int(value) for value in connection.execute(query).scalars()}


# Actions


def record_action(
    connection: Connection,
    *,
    at: float,
    operator: str,
    role: str,
    action: str,
    target: str | None,
    detail: Mapping[str, Any],
) -> int:
    values = {"at": at, "operator": operator, "role": role, "action": action, "target": target, "detail": detail}
    statement = sa.insert(operator_actions).returning(operator_actions.c.id)
    return int(connection.execute(statement, values).scalar_one())


def list_actions(connection: Connection, *, target: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Newest first, optionally those about one target (``alarm:12``, ``incident:3``, ``message:…``)."""
    query = sa.select(operator_actions).order_by(operator_actions.c.id.desc()).limit(limit)
    if target is not None:
        query = query.where(operator_actions.c.target == target)
    return [dict(row) for row in connection.execute(query).mappings()]


def _one(row: RowMapping | None) -> dict[str, Any] | None:
    return None if row is None else dict(row)
