"""Every command has help that ends with an example, as sqlite-utils does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import typer.main

from riskline.cli.main import app


def commands(group: Any, prefix: str = "riskline") -> Iterator[tuple[str, Any]]:
    """Walk Typer's command tree (Typer 0.29 vendors its own click, so this goes by shape, not by class)."""
    subcommands = getattr(group, "commands", None)
    if subcommands:
        for name, command in sorted(subcommands.items()):
            yield from commands(command, f"{prefix} {name}")
    else:
        yield prefix, group


ALL = list(commands(typer.main.get_command(app)))


def test_there_are_commands() -> None:
    names = {name for name, _ in ALL}
    assert {"riskline watch", "riskline rules show", "riskline incident plot"} <= names


@pytest.mark.parametrize(("name", "command"), ALL, ids=[name for name, _ in ALL])
def test_every_command_has_help_ending_with_an_example(name: str, command: Any) -> None:
    text = (command.help or "").strip()
    assert text, f"{name} has no help"
    last = text.splitlines()[-1].strip()
    assert last.startswith("Example: riskline "), f"{name}: help must end with 'Example: riskline …', not {last!r}"


def groups(group: Any, prefix: str = "riskline") -> Iterator[tuple[str, Any]]:
    for name, command in sorted((getattr(group, "commands", None) or {}).items()):
        if getattr(command, "commands", None):
            yield f"{prefix} {name}", command
            yield from groups(command, f"{prefix} {name}")


GROUPS = list(groups(typer.main.get_command(app)))


@pytest.mark.parametrize(("name", "group"), GROUPS, ids=[name for name, _ in GROUPS])
def test_every_command_group_has_help_ending_with_an_example(name: str, group: Any) -> None:
    text = (group.help or "").strip()
    last = text.splitlines()[-1].strip() if text else ""
    assert last.startswith("Example: riskline "), f"{name}: group help must end with 'Example: riskline …'"
