"""``riskline dashboard`` (a watch database, read-only, no login) and ``riskline operator`` (dashboard accounts).

The node's own dashboard is served by ``riskline node serve`` (``--dashboard HOST:PORT``); see docs/dashboard.md.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from riskline.cli.node_common import NODE_DIR, fail, guard, opened
from riskline.cli.options import RULES, SETS, rulebook_from

if TYPE_CHECKING:  # imported inside the commands, to keep start-up fast
    from riskline.web.backend import Dashboard
    from riskline.web.replay import ReplayThread

operator_app = typer.Typer(
    help="Dashboard accounts of this node: viewer, duty officer or commander.\n\n"
    "Example: riskline operator add tamm --role duty_officer --node ee-node",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.command("dashboard")(dashboard)
    app.add_typer(operator_app, name="operator")


def dashboard(
    db: Path = typer.Option(..., "--db", help="Watch database (SQLite file) to show.", dir_okay=False),
    listen: str = typer.Option("127.0.0.1:8780", "--listen", help="HOST:PORT to serve on (port 0: any free one)."),
    allow_remote: bool = typer.Option(False, "--allow-remote", help="Allow an address that is not loopback."),
    replay: Path | None = typer.Option(
        None, "--replay", help="Replay this recording (any format `riskline watch` reads) live into the dashboard.",
        dir_okay=False, exists=True,
    ),
    fleet: Path | None = typer.Option(None, "--fleet", help="Fleet file for --replay.", dir_okay=False, exists=True),
    speed: float = typer.Option(10.0, "--speed", help="Replay speed, times real time."),
    rules: Path | None = RULES,
    sets: list[str] = SETS,
) -> None:
    """Serve the dashboard of a watch database: read-only, on loopback, no login. Ctrl-C stops it.

    With --replay, a recording is replayed through the watch at --speed and appears live; what it finds is
    stored in the database like `riskline watch` would.

    Example: riskline dashboard --db riskline.db --listen 127.0.0.1:8780
    """
    from riskline.node.config import parse_listen
    from riskline.storage.engine import open_database
    from riskline.web.backend import Dashboard
    from riskline.web.server import DashboardServer, check_listen

    with guard():
        address = parse_listen(listen)
        check_listen(address, allow_remote=allow_remote)
        if speed <= 0:
            raise fail(f"--speed must be positive, not {speed:g}")
        database = open_database(db, create=replay is not None)
        board = Dashboard(database, title=f"watch database {db.name}")
        server = DashboardServer(board, address, allow_remote=allow_remote)
    replaying = None
    if replay is not None:
        replaying = _start_replay(board, replay, fleet, speed, rules, sets)
    print(f"riskline dashboard of {db} at {server.url} (read-only; Ctrl-C stops it)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if replaying is not None:
            replaying.stop()
        database.close()


def _start_replay(
    board: Dashboard, path: Path, fleet: Path | None, speed: float, rules: Path | None, sets: list[str]
) -> ReplayThread:
    from riskline.ingest.sources import read_path
    from riskline.ingest.stats import IngestStats
    from riskline.tracks.attribution import Attributor
    from riskline.tracks.fleet import Fleet
    from riskline.watch import Watch
    from riskline.web.replay import ReplayThread, replay

    with guard():
        watch = Watch(rulebook_from(rules, sets), attributor=Attributor(Fleet.load(fleet) if fleet else None))
        observations = sorted(read_path(path, IngestStats()), key=lambda o: o.t)
    return ReplayThread(
        lambda stop: replay(board, observations, watch, speed=speed, stop=stop, inputs=[str(path)])
    ).start()


@operator_app.command("add")
def operator_add(
    name: str = typer.Argument(..., help="Operator name (no spaces), e.g. tamm."),
    role: str = typer.Option(..., "--role", help="viewer, duty_officer or commander."),
    node_dir: Path | None = NODE_DIR,
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Create a dashboard account on this node, or change its role and password.

    The password is asked for twice (or read from standard input); only its scrypt hash is stored.

    Example: riskline operator add tamm --role duty_officer --node ee-node
    """
    from riskline.web.accounts import parse_role
    from riskline.web.backend import Dashboard

    with guard():
        parsed = parse_role(role)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with opened(node_dir) as node, guard():
        created = Dashboard(node.database, node=node).add_operator(name, parsed, password)
    typer.echo(f"{'created' if created else 'updated'} operator {name} ({parsed.value})")


@operator_app.command("list")
def operator_list(node_dir: Path | None = NODE_DIR) -> None:
    """List this node's dashboard accounts and their roles.

    Example: riskline operator list --node ee-node
    """
    from riskline.web.backend import Dashboard

    with opened(node_dir) as node, guard():
        accounts = Dashboard(node.database, node=node).operators()
    if not accounts:
        typer.echo("no operators yet: add one with `riskline operator add NAME --role duty_officer`")
    for account in accounts:
        typer.echo(f"{account['name']:24} {account['role']}")
