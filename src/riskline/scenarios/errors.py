"""Errors of the scenario generators (``riskline.scenarios``).

    ScenarioError               root: a scenario cannot be built as asked (a ``ValueError``)
    ├── GeometryError           the asked geometry cannot be flown (whose fault: the caller's numbers)
    └── IncidentFileError       a row of an incidents CSV cannot be read (whose fault: the file)

Each message is one line and names the platform, leg, parameter or file line at fault.
"""

from __future__ import annotations

from riskline.errors import RisklineError


class ScenarioError(RisklineError, ValueError):
    """Root of every scenario error."""


class GeometryError(ScenarioError):
    pass


class IncidentFileError(ScenarioError):
    pass
