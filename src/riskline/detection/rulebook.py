"""The rulebook: which rules are in force, with which parameters, citing which source.

A rulebook is a TOML file (see ``default_rules.toml``, built from ``shared/domain/REGIMES.md`` §6). Every rule
carries its source and the mark of that source — ``V`` confirmed in a primary text, ``S`` press or secondary,
``U`` widely cited but unconfirmed — and the operator sees both. Parameters can be overridden one by one
(``--set air_proximity.horizontal_m=18520``); overrides are validated like the file itself.
pydantic validates at this edge; the detector receives frozen dataclasses. Each rule's parameters, both forms,
live in its own module under ``riskline.detection.rules``; the registry there decides which sections exist.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, create_model

from riskline.detection.errors import RulebookError
from riskline.detection.rules import REGISTRY, RULES
from riskline.detection.rules.base import Citation, NonNegative, Positive, Strict

SEVERITY_ORDER: dict[str, int] = {"low": 0, "medium": 1, "high": 2, "critical": 3}


def _rules_model() -> type[Strict]:
    """The ``[rules]`` section: one sub-section per registered rule (required unless the rule has defaults)."""
    fields: dict[str, Any] = {
        spec.name: (spec.model, spec.model.model_validate({})) if spec.default else (spec.model, ...)
        for spec in REGISTRY
    }
    return create_model("_Rules", __base__=Strict, **fields)


_Rules = _rules_model()


class _Header(Strict):
    name: str = Field(min_length=1)
    title: str = ""
    agreements: list[str] = Field(default_factory=list)


class _WatchSettings(Strict):
    tick_s: Positive = 2.0
    hold_air_s: NonNegative = 30.0
    hold_sea_s: NonNegative = 300.0
    evidence_air_s: Positive = 180.0
    evidence_sea_s: Positive = 1800.0


class _Rulebook(Strict):
    rulebook: _Header
    watch: _WatchSettings = _WatchSettings()
    rules: _Rules  # type: ignore[valid-type]


# ---------------------------------------------------------------- frozen values the detector uses


@dataclass(frozen=True, slots=True)
class WatchSettings:
    tick_s: float  # [s]
    hold_air_s: float  # [s]
    hold_sea_s: float  # [s]
    evidence_air_s: float  # [s]
    evidence_sea_s: float  # [s]


RULE_NAMES: tuple[str, ...] = tuple(spec.name for spec in REGISTRY)


@dataclass(frozen=True, slots=True)
class Rulebook:
    """The rules in force. Each rule's frozen parameters are in ``rules`` and also read as attributes
    (``rulebook.air_proximity``), as the rule's module defines them."""

    name: str
    title: str
    agreements: tuple[str, ...]
    watch: WatchSettings
    rules: Mapping[str, Any]
    """Rule name → its frozen parameters, in registry order."""
    origin: str
    """Where it came from: a file path or ``default``."""
    overrides: tuple[str, ...] = ()
    """The ``--set`` overrides applied, as given."""
    raw: Mapping[str, Any] | None = None
    """The validated document, for display and for storing with each run."""

    def __getattr__(self, name: str) -> Any:
        rules = object.__getattribute__(self, "rules")
        if name in rules:
            return rules[name]
        raise AttributeError(name)

    def rule(self, name: str) -> Any:
        if name not in RULE_NAMES:
            raise RulebookError(f"unknown rule {name!r}; rules are: {', '.join(RULE_NAMES)}")
        return self.rules[name]

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
    model = _WatchSettings if rule == "watch" else RULES[rule].model
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
    return Rulebook(
        name=model.rulebook.name,
        title=model.rulebook.title,
        agreements=tuple(model.rulebook.agreements),
        watch=WatchSettings(**model.watch.model_dump()),
        rules={spec.name: spec.freeze(getattr(model.rules, spec.name)) for spec in REGISTRY},
        origin=origin,
        overrides=overrides,
        raw=model.model_dump(),
    )
