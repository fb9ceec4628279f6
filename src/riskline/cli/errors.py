"""One place where library errors become operator messages: one line, a non-zero exit, no traceback."""

from __future__ import annotations

import sys

import click
import typer

from riskline.channel.errors import ChannelError
from riskline.detection.errors import DetectionError
from riskline.ingest.errors import IngestError
from riskline.storage.errors import StorageError
from riskline.tracks.errors import TracksError

OPERATOR_ERRORS: tuple[type[Exception], ...] = (IngestError, TracksError, DetectionError, StorageError, ChannelError)


def run_guarded(app: typer.Typer) -> int:
    """Run the Typer app; print known errors as ``riskline: error: …`` and return the exit code."""
    try:
        result = app(standalone_mode=False)
    except OPERATOR_ERRORS as error:
        print(f"riskline: error: {error}", file=sys.stderr)
        return 2
    except click.exceptions.Abort:
        print("riskline: aborted", file=sys.stderr)
        return 130
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Exit as done:
        return done.exit_code
    except KeyboardInterrupt:
        print("riskline: interrupted", file=sys.stderr)
        return 130
    return result if isinstance(result, int) else 0


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line error and return an Exit to raise."""
    print(f"riskline: error: {message}", file=sys.stderr)
    return typer.Exit(code)
