"""Shared helpers for the benchmarks: machine facts, timing, markdown output. Benchmarks are not tests."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

OUT = Path(__file__).resolve().parent / "out"
REPO = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def shared_dir() -> Path:
    return Path(os.environ.get("RISKLINE_SHARED") or REPO.parent / "shared").resolve()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_line() -> str:
    blas = [k for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS") if k in os.environ]
    return (
        f"- CPU: {cpu_model()} ({os.cpu_count()} logical cores visible); Python {sys.version.split()[0]}, "
        f"NumPy {np.__version__}; BLAS variables set: {', '.join(blas) or 'none'}"
    )


def best_of(fn: Callable[[], T], repeat: int = 3) -> tuple[float, T]:
    """(median seconds, last result) over ``repeat`` runs."""
    times = []
    result: T | None = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    assert result is not None
    return statistics.median(times), result


def write_section(name: str, text: str) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.md"
    path.write_text(text.rstrip() + "\n", encoding="utf-8")
    print(text)
    print(f"[written to {path}]")
    return path
