"""Fixtures of the transparency tests: a fresh copy of the Zapad-2017 notification for each test."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from notification_samples import ZAPAD_2017


@pytest.fixture
def zapad() -> dict[str, Any]:
    return copy.deepcopy(ZAPAD_2017)
