"""Command groups loaded when used: ``riskline --version`` and ``--help`` import no command's module.

Each command module (``cli/watch.py``, ``cli/node.py``…) imports what its commands need — NumPy, SQLAlchemy,
pyais, the channel's cryptography — which takes seconds on a busy machine. The root group therefore knows its
commands only by name, module and one line of help (``LazyCommand``); the module is imported the moment a
command is run or its own help is asked for (``make_context``), and then only that module. The root's
``commands`` mapping loads every module when walked whole (tests that check every command's help do that).

The one-line helps are a copy of each command's own; ``tests/cli/test_startup.py`` checks they agree.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

import typer
import typer.main
from typer.core import TyperGroup


@dataclass(frozen=True, slots=True)
class CommandEntry:
    """Where a top-level command lives and what the root's help says of it."""

    name: str
    module: str
    """Module with a ``register(app)`` that adds this command (and maybe others)."""
    short_help: str


def load(entry: CommandEntry) -> Any:
    """The real click command of ``entry``, its module imported and registered on a scratch Typer app."""
    module = importlib.import_module(entry.module)
    scratch = typer.Typer(rich_markup_mode="rich", pretty_exceptions_enable=False, add_completion=False)

    @scratch.callback()
    def _scratch() -> None:  # a callback makes the scratch app a group even with one command
        """Scratch group."""

    module.register(scratch)
    group = typer.main.get_command(scratch)
    command = group.commands.get(entry.name)  # type: ignore[attr-defined]
    if command is None:
        raise LookupError(f"{entry.module}.register adds no command named {entry.name!r}")
    return command


class LazyCommand(typer.core.TyperCommand):
    """Stands for a command in the root's help; becomes the real command when invoked (``make_context``)."""

    def __init__(self, entry: CommandEntry, commands: LazyCommands) -> None:
        super().__init__(name=entry.name, short_help=entry.short_help, help=entry.short_help)
        self._commands = commands

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        real = self._commands[self.name or ""]
        return real.make_context(info_name, args, parent=parent, **extra)


class LazyCommands(MutableMapping[str, Any]):
    """Name → real command, each loaded on first access; iteration gives the names without loading."""

    def __init__(self, entries: tuple[CommandEntry, ...], eager: dict[str, Any]) -> None:
        self._entries = {entry.name: entry for entry in entries}
        self._loaded: dict[str, Any] = dict(eager)

    def placeholder(self, name: str) -> Any:
        """The loaded command, or a stand-in that loads it when run."""
        if name in self._loaded:
            return self._loaded[name]
        entry = self._entries.get(name)
        return None if entry is None else LazyCommand(entry, self)

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            entry = self._entries.get(name)
            if entry is None:
                raise KeyError(name)
            self._loaded[name] = load(entry)
        return self._loaded[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        self._loaded.pop(name, None)
        self._entries.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        yield from self._entries
        yield from (name for name in self._loaded if name not in self._entries)

    def __len__(self) -> int:
        return len(set(self._entries) | set(self._loaded))


def lazy_group(entries: tuple[CommandEntry, ...]) -> type[TyperGroup]:
    """A ``TyperGroup`` class whose commands are ``entries``, loaded on use (pass it as ``typer.Typer(cls=…)``)."""

    class LazyGroup(TyperGroup):
        def __init__(self, *args: Any, commands: Any = None, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.commands = LazyCommands(entries, dict(commands or {}))

        def get_command(self, ctx: Any, cmd_name: str) -> Any:
            commands = self.commands
            assert isinstance(commands, LazyCommands)
            return commands.placeholder(cmd_name)

        def list_commands(self, ctx: Any) -> list[str]:
            return list(self.commands)

    return LazyGroup


__all__ = ["CommandEntry", "LazyCommand", "LazyCommands", "lazy_group", "load"]
