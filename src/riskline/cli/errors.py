"""One place where library errors become operator messages: one line, exit code 2, no traceback.

Usage errors (a missing argument, a bad option) are Typer's own: it prints the usage and exits with 2.
"""

from __future__ import annotations

import sys

import typer

from riskline.channel.errors import ChannelError
from riskline.detection.errors import DetectionError
from riskline.ingest.errors import IngestError
from riskline.node.errors import NodeError
from riskline.storage.errors import StorageError
from riskline.tracks.errors import TracksError

OPERATOR_ERRORS: tuple[type[Exception], ...] = (
    IngestError, TracksError, DetectionError, StorageError, ChannelError, NodeError
)


def run_guarded(app: typer.Typer) -> int:
    """Run the Typer app; print known errors as ``riskline: error: …`` and return the exit code."""
    try:
        app()
    except OPERATOR_ERRORS as error:
        print(f"riskline: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("riskline: interrupted", file=sys.stderr)
        return 130
    return 0
