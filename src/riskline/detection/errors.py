"""Errors of the detection package.

    DetectionError              root
    └── RulebookError           a rulebook file or a ``--set`` override is invalid (whose fault: the operator's input)

Each message is one line and names the file, rule and parameter at fault.
"""

from __future__ import annotations

from riskline.errors import RisklineError


class DetectionError(RisklineError):
    status = 400


class RulebookError(DetectionError):
    status = 422
