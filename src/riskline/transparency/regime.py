"""The regime as data: the Vienna Document 2011's thresholds, lead times and constraints, from a TOML file.

The bundled file ``vienna_document_2011.toml`` carries the figures of ``shared/domain/REGIMES.md`` §3 with their
marks (V confirmed in a primary text, S press or secondary, U widely cited but unconfirmed) and sources; an
analyst corrects a figure there, not in code. pydantic validates at this edge; the checker receives frozen values.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from riskline.transparency.errors import RegimeError

Mark = Literal["V", "S", "U"]
COUNTS: tuple[str, ...] = (
    "troops",
    "tanks",
    "acv",
    "artillery",
    "mlrs",
    "helicopters",
    "aircraft_sorties",
    "naval_vessels",
    "amphibious_troops",
    "airborne_troops",
)
"""The forces a notification declares, in the order of the JSON contract."""
Count = Literal[
    "troops",
    "tanks",
    "acv",
    "artillery",
    "mlrs",
    "helicopters",
    "aircraft_sorties",
    "naval_vessels",
    "amphibious_troops",
    "airborne_troops",
]
DEFAULT_REGIME = "vienna_document_2011.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class _Threshold(_Strict):
    count: Count
    value: Annotated[int, Field(gt=0)]
    mark: Mark
    source: str = Field(min_length=1)


class _Header(_Strict):
    name: str = Field(min_length=1)
    title: str = ""
    version: Annotated[int, Field(ge=1)]
    sources: list[str] = []


class _Settings(_Strict):
    hugging_margin: Annotated[float, Field(ge=0, lt=1)] = 0.10


class _Notification(_Strict):
    lead_time_days: Annotated[int, Field(ge=0)]
    lead_time_mark: Mark
    lead_time_source: str = Field(min_length=1)
    threshold: list[_Threshold] = Field(min_length=1)


class _Observation(_Strict):
    threshold: list[_Threshold] = Field(min_length=1)


class _Calendar(_Strict):
    due_month: Annotated[int, Field(ge=1, le=12)]
    due_day: Annotated[int, Field(ge=1, le=31)]
    mark: Mark
    source: str = Field(min_length=1)


class _Constraint(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    thresholds: dict[Count, Annotated[int, Field(gt=0)]] = Field(min_length=1)
    per_years: Annotated[int, Field(ge=1)]
    max_count: Annotated[int, Field(ge=0)]
    max_simultaneous: Annotated[int, Field(ge=1)] | None = None
    mark: Mark
    source: str = Field(min_length=1)


class _Clarification(_Strict):
    reply_hours: Annotated[float, Field(gt=0)]
    mark: Mark
    source: str = Field(min_length=1)


class _HazardNotice(_Strict):
    min_lead_days: Annotated[float, Field(ge=0)]
    max_lead_days: Annotated[float, Field(ge=0)]
    mark: Mark
    source: str = Field(min_length=1)


class _Regime(_Strict):
    regime: _Header
    settings: _Settings = _Settings()
    notification: _Notification
    observation: _Observation
    calendar: _Calendar
    constraint: list[_Constraint] = []
    clarification: _Clarification
    hazard_notice: _HazardNotice


@dataclass(frozen=True, slots=True)
class Threshold:
    count: str
    value: int
    mark: str
    source: str


@dataclass(frozen=True, slots=True)
class Constraint:
    """Chapter VIII: at most ``max_count`` activities above the tier per ``per_years`` calendar years."""

    name: str
    description: str
    thresholds: tuple[Threshold, ...]
    per_years: int
    max_count: int
    max_simultaneous: int | None
    mark: str
    source: str

    def applies_to(self, counts: dict[str, int]) -> bool:
        return any(counts.get(t.count, 0) >= t.value for t in self.thresholds)


@dataclass(frozen=True, slots=True)
class Regime:
    name: str
    title: str
    version: int
    origin: str
    """A file path, or ``default`` for the bundled file."""
    hugging_margin: float
    """Fraction below a threshold within which a declared figure is flagged as threshold hugging."""
    notification: tuple[Threshold, ...]
    notification_lead_s: float  # [s]
    notification_lead_mark: str
    notification_lead_source: str
    observation: tuple[Threshold, ...]
    calendar_due_month: int
    calendar_due_day: int
    calendar_mark: str
    calendar_source: str
    constraints: tuple[Constraint, ...]
    clarification_reply_s: float  # [s]
    clarification_mark: str
    hazard_min_lead_s: float  # [s]
    hazard_max_lead_s: float  # [s]
    hazard_mark: str
    hazard_source: str


def default_regime_text() -> str:
    return resources.files("riskline.transparency").joinpath(DEFAULT_REGIME).read_text(encoding="utf-8")


def load_regime(path: Path | None = None, *, hugging_margin: float | None = None) -> Regime:
    """The regime in ``path`` (default: the bundled Vienna Document 2011), validated and frozen."""
    if path is None:
        origin, text = "default", default_regime_text()
    else:
        origin = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise RegimeError(f"{path}: cannot read the regime file: {error.strerror or error}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RegimeError(f"{origin}: not valid TOML: {error}") from None
    try:
        model = _Regime.model_validate(document)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise RegimeError(f"{origin}: {where}: {first['msg']}") from None
    if model.hazard_notice.max_lead_days < model.hazard_notice.min_lead_days:
        raise RegimeError(f"{origin}: hazard_notice.max_lead_days: below min_lead_days")
    margin = model.settings.hugging_margin if hugging_margin is None else hugging_margin
    if not 0.0 <= margin < 1.0:
        raise RegimeError(f"hugging margin: {margin} is not a fraction in [0, 1)")

    def frozen(items: list[_Threshold]) -> tuple[Threshold, ...]:
        return tuple(Threshold(t.count, t.value, t.mark, t.source) for t in items)

    return Regime(
        name=model.regime.name,
        title=model.regime.title,
        version=model.regime.version,
        origin=origin,
        hugging_margin=margin,
        notification=frozen(model.notification.threshold),
        notification_lead_s=model.notification.lead_time_days * 86_400.0,
        notification_lead_mark=model.notification.lead_time_mark,
        notification_lead_source=model.notification.lead_time_source,
        observation=frozen(model.observation.threshold),
        calendar_due_month=model.calendar.due_month,
        calendar_due_day=model.calendar.due_day,
        calendar_mark=model.calendar.mark,
        calendar_source=model.calendar.source,
        constraints=tuple(
            Constraint(
                name=c.name,
                description=c.description,
                thresholds=tuple(Threshold(k, v, c.mark, c.source) for k, v in c.thresholds.items()),
                per_years=c.per_years,
                max_count=c.max_count,
                max_simultaneous=c.max_simultaneous,
                mark=c.mark,
                source=c.source,
            )
            for c in model.constraint
        ),
        clarification_reply_s=model.clarification.reply_hours * 3600.0,
        clarification_mark=model.clarification.mark,
        hazard_min_lead_s=model.hazard_notice.min_lead_days * 86_400.0,
        hazard_max_lead_s=model.hazard_notice.max_lead_days * 86_400.0,
        hazard_mark=model.hazard_notice.mark,
        hazard_source=model.hazard_notice.source,
    )
