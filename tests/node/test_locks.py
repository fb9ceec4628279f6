"""The writer gate: writers of several processes (here: several gates on one file) queue on it in turn."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from riskline.node.locks import WriterGate


def test_a_second_writer_passes_the_gate_only_when_the_first_leaves(tmp_path: Path) -> None:
    first, second = WriterGate(tmp_path / "write.lock"), WriterGate(tmp_path / "write.lock")
    order: list[str] = []
    first.enter(timeout=1.0)

    def write() -> None:
        second.enter(timeout=30.0)
        order.append(f"second in, holding: {second.held}")
        second.leave()

    writer = threading.Thread(target=write)
    writer.start()
    time.sleep(0.05)
    order.append("first out")
    first.leave()
    writer.join()
    assert order == ["first out", "second in, holding: True"]
    first.close()
    second.close()


def test_the_gate_is_reentrant_and_a_timed_out_writer_goes_on_without_it(tmp_path: Path) -> None:
    holder, other = WriterGate(tmp_path / "write.lock"), WriterGate(tmp_path / "write.lock")
    holder.enter(timeout=1.0)
    holder.enter(timeout=1.0)
    holder.leave()
    other.enter(timeout=0.0)
    assert (holder.held, other.held) == (True, False)
    other.leave()
    holder.leave()
    other.enter(timeout=0.0)
    assert (holder.held, other.held) == (False, True)
    other.leave()
    holder.close()
    other.close()
