"""The one root of every error riskline raises on purpose: ``RisklineError``.

Each package keeps its own root below it (``IngestError``, ``TracksError``, ``DetectionError``,
``StorageError``, ``ChannelError``, ``NodeError``, ``ScenarioError``), and each error carries what the two edges
need to show it: ``exit_code`` for the CLI (2: the input or the request was wrong; 1: a check ran and failed)
and ``http_status`` for the node's API. Messages are one line, fit for an operator at 3 a.m.
"""

from __future__ import annotations

from typing import ClassVar


class RisklineError(Exception):
    """Root of every riskline error; one-line message, an exit code for the CLI, an HTTP status for the API."""

    exit_code: ClassVar[int] = 2
    http_status: ClassVar[int] = 400
