"""What the node's command groups share: the ``--node`` and ``--json`` options, one-line failures, an opened node.

Every command that acts on a node takes ``--node DIR`` (default ``$RISKLINE_NODE``, the current directory when it
holds a node, else ``./riskline-node``). Library errors become one-line messages (exit 2); a failed check exits 1.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import typer
from rich.console import Console

from riskline.errors import RisklineError
from riskline.node.layout import default_node_dir
from riskline.node.local import LocalNode

NODE_DIR = typer.Option(
    None, "--node", help="Node directory (default: $RISKLINE_NODE, the current directory if it holds a node, "
    "else ./riskline-node)."
)
JSON_OUT = typer.Option(False, "--json", help="Machine-readable output on standard output.")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``riskline: error: …`` on one line and return the ``typer.Exit`` to raise."""
    print(f"riskline: error: {' '.join(message.split())}", file=sys.stderr)
    return typer.Exit(code)


@contextlib.contextmanager
def guard() -> Iterator[None]:
    """Turn a library error into a one-line failure with the error's exit code."""
    try:
        yield
    except RisklineError as error:
        raise fail(str(error), error.exit_code) from None


@contextlib.contextmanager
def opened(node_dir: Path | None) -> Iterator[LocalNode]:
    """The node at ``node_dir`` (or the default one), closed afterwards; errors as one-line failures."""
    with guard():
        node = LocalNode.open(node_dir or default_node_dir())
        try:
            yield node
        finally:
            node.close()


def console() -> Console:
    """Rich output; piped or captured output is never wrapped or cut (full rows, full lines) — issue 6."""
    probe = Console()
    if probe.is_terminal:
        return Console(highlight=False, soft_wrap=False, width=probe.width)
    return Console(highlight=False, soft_wrap=True, width=100_000)


def server_running(node: LocalNode) -> bool:
    """True when a ``riskline node serve`` process holds this node's server lock."""
    from riskline.node.locks import FileLock

    lock = FileLock(node.paths.server_lock)
    if lock.try_acquire():
        lock.release()
        return False
    return True


def delivery_hint(node: LocalNode, recipients: tuple[str, ...] | list[str]) -> str:
    """What happens next to a queued message: the running server delivers it, or nothing does until asked."""
    who = ", ".join(recipients)
    if server_running(node):
        return f"queued for {who}: the running server delivers it"
    return (f"queued for {who}: no server is running for this node — start it (`riskline node serve`) or deliver "
            "now with `riskline outbox --flush`")
