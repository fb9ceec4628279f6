"""The bytes riskline puts on NATS subjects, and the message ids JetStream de-duplicates by.

An observation is compact JSON of its fields (SI units, as inside; ``None`` fields left out); an encounter is
the ``incidents`` row form the store keeps (``encounter_to_row``: every float exact, evidence included), so
whoever reads the encounter stream gets exactly what the watch closed.

Message ids are content hashes (SHA-256, hex): the same report published twice — by a receiver restarted
over input it had already sent, or by two receivers that heard the same ship — carries the same id, and
JetStream stores it once within its duplicate window. An encounter's id is its pair, rule and start, so a
watch replaying the same stretch of the stream publishes nothing twice.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields
from typing import Any

from riskline.incidents.model import Encounter
from riskline.ingest.observation import Domain, Kind, Observation
from riskline.storage.watch_store import encounter_from_row, encounter_to_row
from riskline.stream.errors import BadStreamMessage

_FIELDS = tuple(field.name for field in fields(Observation))


def encode_observation(observation: Observation) -> bytes:
    """Compact JSON, keys in declaration order, ``None`` fields left out; exact floats (``repr``)."""
    data = {name: getattr(observation, name) for name in _FIELDS}
    return json.dumps(
        {key: value for key, value in data.items() if value is not None},
        separators=(",", ":"),
        allow_nan=False,
        ensure_ascii=False,
    ).encode()


def decode_observation(payload: bytes) -> Observation:
    try:
        data: dict[str, Any] = json.loads(payload)
        if data.get("domain") is not None:
            data["domain"] = Domain(data["domain"])
        if data.get("kind") is not None:
            data["kind"] = Kind(data["kind"])
        return Observation(**data)
    except (ValueError, TypeError) as error:
        raise BadStreamMessage(f"not a riskline observation: {str(error).splitlines()[0]}") from None


def observation_id(payload: bytes) -> str:
    """The JetStream message id of an encoded observation: the SHA-256 of its bytes."""
    return hashlib.sha256(payload).hexdigest()


def encode_encounter(encounter: Encounter) -> bytes:
    return json.dumps(encounter_to_row(encounter), separators=(",", ":"), allow_nan=False).encode()


def decode_encounter(payload: bytes) -> Encounter:
    try:
        return encounter_from_row(json.loads(payload))
    except (ValueError, TypeError, KeyError) as error:
        raise BadStreamMessage(f"not a riskline encounter: {str(error).splitlines()[0]}") from None


def encounter_id(encounter: Encounter) -> str:
    """Pair, rule and start: one encounter, however often a watch closes it."""
    key = f"{encounter.rule}|{encounter.a}|{encounter.b}|{encounter.start!r}|{encounter.occurred}"
    return hashlib.sha256(key.encode()).hexdigest()
