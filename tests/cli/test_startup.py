"""Start-up imports only what the command needs: ``--version`` and ``--help`` load no command module, and the
root's one-line helps agree with the commands' own."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from riskline import __version__
from riskline.cli.lazy import CommandEntry, load
from riskline.cli.main import COMMANDS

_HEAVY = ("numpy", "sqlalchemy", "pyais", "pydantic", "cryptography", "pyproj", "matplotlib", "pyarrow", "fastapi")

_PROBE = """
import json, sys
from riskline.cli.main import app
sys.argv = ["riskline", *json.loads(sys.argv[1])]
try:
    app()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(list(args))],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
        timeout=120,
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [("--version",), ("--help",)])
def test_version_and_help_import_no_command_module_and_nothing_heavy(args: tuple[str, ...]) -> None:
    modules = _modules_after(*args)
    ours = {name for name in modules if name.startswith("riskline")}
    assert ours == {"riskline", "riskline.cli", "riskline.cli.errors", "riskline.cli.lazy", "riskline.cli.main",
                    "riskline.errors"}
    assert not {name.split(".")[0] for name in modules} & set(_HEAVY)


def test_rules_show_imports_the_rulebook_and_not_the_watch() -> None:
    modules = _modules_after("rules", "show")
    assert "riskline.detection.rulebook" in modules
    # rules are plugins of the detection package (which may use ingest and tracks); the node, the channel and
    # the database stay out
    assert not {name for name in modules if name.startswith(("riskline.node", "riskline.channel", "riskline.storage"))}
    assert not {name.split(".")[0] for name in modules} & {"sqlalchemy", "cryptography"}


@pytest.mark.parametrize("entry", COMMANDS, ids=[entry.name for entry in COMMANDS])
def test_the_root_help_line_is_the_commands_own(entry: CommandEntry) -> None:
    command = load(entry)
    own = (command.short_help or command.help or "").strip().split("\n\n")[0].replace("\n", " ")
    assert own == entry.short_help


def test_piped_version_does_not_load_the_help_renderer() -> None:
    """``main()`` with its output piped sets the help width without importing ``typer.rich_utils`` (0.1 s)."""
    probe = (
        "import json, sys\nfrom riskline.cli.main import main\nsys.argv = ['riskline', '--version']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\nprint(json.dumps(sorted(sys.modules)))\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "TERMINAL_WIDTH"}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env,
                          timeout=120)
    assert done.stdout.splitlines()[0] == f"riskline {__version__}"
    assert "typer.rich_utils" not in json.loads(done.stdout.splitlines()[-1])
