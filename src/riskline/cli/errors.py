"""One place where library errors become operator messages: one line, the error's exit code, no traceback.

Usage errors (a missing argument, a bad option) are Typer's own: it prints the usage and exits with 2.
"""

from __future__ import annotations

import sys

import typer

from riskline.errors import RisklineError


def run_guarded(app: typer.Typer) -> int:
    """Run the Typer app; print known errors as ``riskline: error: …`` and return the exit code."""
    try:
        app()
    except RisklineError as error:
        print(f"riskline: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("riskline: interrupted", file=sys.stderr)
        return 130
    return 0
