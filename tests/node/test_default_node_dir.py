"""Without ``--node``, a command acts on the node in the current directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskline.node.layout import default_node_dir


def test_the_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RISKLINE_NODE", "/srv/ee")
    assert default_node_dir() == Path("/srv/ee")


def test_the_current_directory_when_it_holds_a_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RISKLINE_NODE", raising=False)
    (tmp_path / "node.toml").write_text("")
    assert default_node_dir() == Path(".")


def test_else_the_directory_node_init_creates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RISKLINE_NODE", raising=False)
    assert default_node_dir() == Path("riskline-node")
