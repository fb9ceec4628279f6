"""The package layout follows the data, and the core never imports the edges.

``ingest → tracks → detection → incidents → transparency → channel → node``; ``storage``, ``web`` and ``cli`` are edges.
A core package may import only packages before it in the flow (and the shared leaf modules).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "riskline"
FLOW = ["ingest", "tracks", "detection", "incidents", "transparency", "channel", "node"]
LEAVES = {"units", "timeutil", "errors", "__init__"}
EDGES = {"storage", "web", "cli", "stream"}
ALLOWED: dict[str, set[str]] = {pkg: set(FLOW[: i + 1]) | LEAVES for i, pkg in enumerate(FLOW)}
ALLOWED["watch"] = {"ingest", "tracks", "detection", "incidents", "transparency"} | LEAVES
ALLOWED["scenarios"] = {"ingest", "tracks"} | LEAVES
ALLOWED["history"] = {"ingest", "tracks", "detection", "incidents", "watch", "storage"} | LEAVES  # row form
ALLOWED["testing"] = set(FLOW) | LEAVES | {"watch", "testing", "storage", "scenarios"}
ALLOWED["node"] |= {"storage", "watch"}  # the node is the deployable unit: it owns its database


def riskline_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("riskline"):
            parts = node.module.split(".")
            found.add(parts[1] if len(parts) > 1 else "__init__")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "riskline":
                    found.add(parts[1] if len(parts) > 1 else "__init__")
    return found


def module_owner(path: Path) -> str:
    relative = path.relative_to(SRC)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


CORE_FILES = [p for p in sorted(SRC.rglob("*.py")) if module_owner(p) in ALLOWED]


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_core_modules_import_only_what_comes_before_them(path: Path) -> None:
    owner = module_owner(path)
    forbidden = riskline_imports(path) - ALLOWED[owner] - {owner}
    assert not forbidden, f"{path.relative_to(SRC)} ({owner}) imports {sorted(forbidden)}"


def test_the_flow_is_complete() -> None:
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert set(FLOW) | EDGES | {"testing", "scenarios"} <= packages | {"web"}
