"""The rulebook: which rules are in force, with which parameters, citing which source.

A rulebook is a TOML file (see ``default_rules.toml``, built from ``shared/domain/REGIMES.md`` §6). Every rule
carries its source and the mark of that source — ``V`` confirmed in a primary text, ``S`` press or secondary,
``U`` widely cited but unconfirmed — and the operator sees both. Parameters can be overridden one by one
(``--set air_proximity.horizontal_m=18520``); overrides are validated like the file itself.
pydantic validates at this edge; the detector receives frozen dataclasses.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from riskline.detection.errors import RulebookError

Mark = Literal["V", "S", "U"]
Severity = Literal["critical", "high", "medium", "low"]
SEVERITY_ORDER: dict[str, int] = {"low": 0, "medium": 1, "high": 2, "critical": 3}

Positive = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _RuleModel(_Strict):
    enabled: bool = True
    description: str = ""
    source: str = Field(min_length=1)
    mark: Mark


class _Band(_Strict):
    severity: Severity
    max_m: NonNegative


class _AirProximity(_RuleModel):
    horizontal_m: Positive
    vertical_m: Positive
    lookahead_s: NonNegative
    severity: Severity


class _AirIntercept(_RuleModel):
    lookahead_s: NonNegative
    bands: list[_Band] = Field(min_length=1)

    @field_validator("bands")
    @classmethod
    def _increasing(cls, bands: list[_Band]) -> list[_Band]:
        limits = [band.max_m for band in bands]
        if limits != sorted(limits) or len(set(limits)) != len(limits):
            raise ValueError("bands must have strictly increasing max_m")
        return bands


class _LowPass(_RuleModel):
    horizontal_m: Positive
    altitude_m: Positive
    lookahead_s: NonNegative
    severity: Severity


class _RepeatedLowPasses(_RuleModel):
    count: int = Field(ge=2)
    window_s: Positive
    pass_gap_s: NonNegative
    severity: Severity


class _ShipContactRange(_RuleModel):
    day_m: Positive
    night_m: Positive
    night_sun_elevation_deg: float = Field(ge=-18, le=10)
    lookahead_s: NonNegative
    severity: Severity


class _NonCooperative(_RuleModel):
    horizontal_m: Positive
    vertical_m: Positive
    lookahead_s: NonNegative
    severity: Severity


class _TerritorialEntry(_RuleModel):
    territories: str = ""
    lookahead_s: NonNegative
    severity: Severity


class _Rules(_Strict):
    air_proximity: _AirProximity
    air_intercept: _AirIntercept
    low_pass: _LowPass
    repeated_low_passes: _RepeatedLowPasses
    ship_contact_range: _ShipContactRange
    non_cooperative_aircraft: _NonCooperative
    territorial_entry: _TerritorialEntry


class _Header(_Strict):
    name: str = Field(min_length=1)
    title: str = ""
    agreements: list[str] = []


class _WatchSettings(_Strict):
    tick_s: Positive = 2.0
    hold_air_s: NonNegative = 30.0
    hold_sea_s: NonNegative = 300.0
    evidence_air_s: Positive = 180.0
    evidence_sea_s: Positive = 1800.0


class _Rulebook(_Strict):
    rulebook: _Header
    watch: _WatchSettings = _WatchSettings()
    rules: _Rules


# ---------------------------------------------------------------- frozen values the detector uses


@dataclass(frozen=True, slots=True)
class Citation:
    source: str
    mark: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class SeverityBand:
    severity: str
    max_m: float  # [m] inclusive upper bound of the band


@dataclass(frozen=True, slots=True)
class AirProximity:
    enabled: bool
    horizontal_m: float  # [m]
    vertical_m: float  # [m]
    lookahead_s: float  # [s]
    severity: str
    citation: Citation


@dataclass(frozen=True, slots=True)
class AirIntercept:
    enabled: bool
    lookahead_s: float  # [s]
    bands: tuple[SeverityBand, ...]
    citation: Citation

    @property
    def max_m(self) -> float:  # [m]
        return self.bands[-1].max_m

    def severity_for(self, distance_m: float) -> str | None:
        for band in self.bands:
            if distance_m <= band.max_m:
                return band.severity
        return None


@dataclass(frozen=True, slots=True)
class LowPass:
    enabled: bool
    horizontal_m: float  # [m]
    altitude_m: float  # [m] above the sea
    lookahead_s: float  # [s]
    severity: str
    citation: Citation


@dataclass(frozen=True, slots=True)
class RepeatedLowPasses:
    enabled: bool
    count: int
    window_s: float  # [s]
    pass_gap_s: float  # [s]
    severity: str
    citation: Citation


@dataclass(frozen=True, slots=True)
class ShipContactRange:
    enabled: bool
    day_m: float  # [m]
    night_m: float  # [m]
    night_sun_elevation_deg: float  # [deg]
    lookahead_s: float  # [s]
    severity: str
    citation: Citation


@dataclass(frozen=True, slots=True)
class NonCooperativeAircraft:
    enabled: bool
    horizontal_m: float  # [m]
    vertical_m: float  # [m]
    lookahead_s: float  # [s]
    severity: str
    citation: Citation


@dataclass(frozen=True, slots=True)
class TerritorialEntry:
    enabled: bool
    territories: str
    """Path of a GeoJSON FeatureCollection whose features carry a ``party`` property; empty = rule idle."""
    lookahead_s: float  # [s]
    severity: str
    citation: Citation


@dataclass(frozen=True, slots=True)
class WatchSettings:
    tick_s: float  # [s]
    hold_air_s: float  # [s]
    hold_sea_s: float  # [s]
    evidence_air_s: float  # [s]
    evidence_sea_s: float  # [s]


RULE_NAMES: tuple[str, ...] = (
    "air_proximity",
    "air_intercept",
    "low_pass",
    "repeated_low_passes",
    "ship_contact_range",
    "non_cooperative_aircraft",
    "territorial_entry",
)


@dataclass(frozen=True, slots=True)
class Rulebook:
    name: str
    title: str
    agreements: tuple[str, ...]
    watch: WatchSettings
    air_proximity: AirProximity
    air_intercept: AirIntercept
    low_pass: LowPass
    repeated_low_passes: RepeatedLowPasses
    ship_contact_range: ShipContactRange
    non_cooperative_aircraft: NonCooperativeAircraft
    territorial_entry: TerritorialEntry
    origin: str
    """Where it came from: a file path or ``default``."""
    overrides: tuple[str, ...] = ()
    """The ``--set`` overrides applied, as given."""
    raw: Mapping[str, Any] | None = None
    """The validated document, for display and for storing with each run."""

    def rule(self, name: str) -> Any:
        if name not in RULE_NAMES:
            raise RulebookError(f"unknown rule {name!r}; rules are: {', '.join(RULE_NAMES)}")
        return getattr(self, name)

    def citation(self, name: str) -> Citation:
        citation: Citation = self.rule(name).citation
        return citation

    def as_dict(self) -> dict[str, Any]:
        return {"origin": self.origin, "overrides": list(self.overrides), **dict(self.raw or {})}


# ---------------------------------------------------------------- loading

DEFAULT_RULEBOOK = "default_rules.toml"


def default_rulebook_text() -> str:
    return resources.files("riskline.detection").joinpath(DEFAULT_RULEBOOK).read_text(encoding="utf-8")


def load_rulebook(path: Path | None = None, overrides: Iterable[str] = ()) -> Rulebook:
    """Load ``path`` (or the default rulebook), apply ``--set`` overrides, validate, freeze."""
    if path is None:
        origin, text = "default", default_rulebook_text()
    else:
        origin = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise RulebookError(f"{path}: cannot read rulebook: {error.strerror or error}") from None
        except UnicodeDecodeError as error:
            raise RulebookError(
                f"{path}: not a rulebook: not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset "
                f"{error.start}); a rulebook is a TOML file"
            ) from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RulebookError(f"{origin}: not valid TOML: {error}") from None
    given = tuple(overrides)
    for override in given:
        _apply_override(document, override)
    return _freeze(_validate(document, origin), origin, given)


def parse_override(text: str) -> tuple[str, str, Any]:
    """``rule.param=value`` → (rule, param, value); the value is read as JSON when it parses, else as text."""
    key, sep, value_text = text.partition("=")
    rule, dot, param = key.strip().partition(".")
    if not sep or not dot or not rule or not param:
        raise RulebookError(f"--set {text!r}: expected RULE.PARAM=VALUE, e.g. air_proximity.horizontal_m=18520")
    if rule not in RULE_NAMES and rule != "watch":
        raise RulebookError(f"--set {text!r}: unknown rule {rule!r}; rules are: {', '.join(RULE_NAMES)}")
    try:
        value: Any = json.loads(value_text)
    except json.JSONDecodeError:
        value = value_text.strip()
    return rule, param, value


def _apply_override(document: dict[str, Any], text: str) -> None:
    rule, param, value = parse_override(text)
    section = document.setdefault("watch", {}) if rule == "watch" else document.setdefault("rules", {}).get(rule)
    if not isinstance(section, dict):
        raise RulebookError(f"--set {text!r}: rule {rule!r} is not in this rulebook")
    model = _WatchSettings if rule == "watch" else _Rules.model_fields[rule].annotation
    allowed = set(getattr(model, "model_fields", {})) - {"description", "source", "mark"}
    if param not in allowed:
        known = ", ".join(sorted(allowed))
        raise RulebookError(f"--set {text!r}: rule {rule!r} has no parameter {param!r}; it has: {known}")
    section[param] = value


def _validate(document: dict[str, Any], origin: str) -> _Rulebook:
    try:
        return _Rulebook.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise RulebookError(f"{origin}: {where}: {first['msg']}") from None


def _freeze(model: _Rulebook, origin: str, overrides: tuple[str, ...]) -> Rulebook:
    rules = model.rules

    def citation(rule: _RuleModel) -> Citation:
        return Citation(source=rule.source, mark=rule.mark, description=rule.description)

    def plain(rule: _RuleModel, cls: type[Any]) -> Any:
        names = {f.name for f in fields(cls)} - {"citation"}
        return cls(**{name: getattr(rule, name) for name in names}, citation=citation(rule))

    intercept = rules.air_intercept
    return Rulebook(
        name=model.rulebook.name,
        title=model.rulebook.title,
        agreements=tuple(model.rulebook.agreements),
        watch=WatchSettings(**model.watch.model_dump()),
        air_proximity=plain(rules.air_proximity, AirProximity),
        air_intercept=AirIntercept(
            enabled=intercept.enabled,
            lookahead_s=intercept.lookahead_s,
            bands=tuple(SeverityBand(b.severity, b.max_m) for b in intercept.bands),
            citation=citation(intercept),
        ),
        low_pass=plain(rules.low_pass, LowPass),
        repeated_low_passes=plain(rules.repeated_low_passes, RepeatedLowPasses),
        ship_contact_range=plain(rules.ship_contact_range, ShipContactRange),
        non_cooperative_aircraft=plain(rules.non_cooperative_aircraft, NonCooperativeAircraft),
        territorial_entry=plain(rules.territorial_entry, TerritorialEntry),
        origin=origin,
        overrides=overrides,
        raw=model.model_dump(),
    )
