"""A watch consuming the stream, saved so that a restarted one goes on exactly where the saved one was.

A checkpoint is the whole ``Watch`` (tracks, open encounters, pending confirmations, identities: everything it
remembers) after the observation with stream sequence ``observation_seq``, with the encounter stream's last
sequence at that moment. A watch restarted from it and fed the messages after ``observation_seq`` is the watch
that was saved, fed the same messages: it closes the same encounters, field for field. Encounters it closes
again (those the dead watch closed after its checkpoint) are found on the encounter stream after
``encounter_seq`` and not published twice.

The watch is pickled (it is plain Python and NumPy state); the rule plugins it refers to, which hold
functions, are written by name and taken from this code's registry on loading. The settings fingerprint
(rulebook and fleet) must match: a checkpoint is refused under other rules. Pickle runs code on loading: the
object store must be writable only by the watch, as the streams are only by riskline (NATS permissions).
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from riskline.detection.rulebook import Rulebook
from riskline.detection.rules import RULES, RuleSpec
from riskline.stream.errors import StreamError
from riskline.watch import Watch

FORMAT: Final = b"riskline-watch-checkpoint/1\n"


class CheckpointRefused(StreamError):
    """A checkpoint that cannot be resumed here (another format, or other rules)."""

    http_status = 409


@dataclass(frozen=True, slots=True)
class WatchCheckpoint:
    observation_seq: int
    """The stream sequence of the last observation the watch took (0: none yet)."""
    encounter_seq: int
    """The encounter stream's last sequence when the checkpoint was taken: what was published before it."""
    settings: str
    """``settings_fingerprint`` of the rulebook and fleet the watch runs under."""
    watch: Watch


def settings_fingerprint(rulebook: Rulebook, fleet: Path | None) -> str:
    """SHA-256 of the rulebook in force and the fleet file's bytes."""
    digest = hashlib.sha256(json.dumps(rulebook.as_dict(), sort_keys=True, default=str).encode())
    digest.update(b"\0" + (fleet.read_bytes() if fleet is not None else b""))
    return digest.hexdigest()


def dump_checkpoint(checkpoint: WatchCheckpoint) -> bytes:
    buffer = io.BytesIO()
    buffer.write(FORMAT)
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(
        (checkpoint.observation_seq, checkpoint.encounter_seq, checkpoint.settings, checkpoint.watch)
    )
    return buffer.getvalue()


def load_checkpoint(data: bytes, *, settings: str, name: str) -> WatchCheckpoint:
    """The checkpoint ``name`` from its bytes; refused (one line) if its format or settings differ."""
    if not data.startswith(FORMAT):
        raise CheckpointRefused(f"checkpoint {name!r}: not a riskline watch checkpoint of this version")
    try:
        observation_seq, encounter_seq, saved_settings, watch = _Unpickler(io.BytesIO(data[len(FORMAT) :])).load()
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError, TypeError) as error:
        raise CheckpointRefused(
            f"checkpoint {name!r} is unreadable here ({type(error).__name__}: {str(error).splitlines()[0]}): "
            "taken by another version of riskline? start a new consumer (--durable NAME)"
        ) from None
    if saved_settings != settings:
        raise CheckpointRefused(
            f"checkpoint {name!r} was taken under another rulebook or fleet: resume with those, "
            "or start a new consumer (--durable NAME)"
        )
    if not isinstance(watch, Watch):
        raise CheckpointRefused(f"checkpoint {name!r}: holds no watch")
    if _shape(watch) != _shape(Watch(watch.rulebook, attributor=watch.attributor)):
        raise CheckpointRefused(
            f"checkpoint {name!r} was taken by another version of riskline's watch: "
            "start a new consumer (--durable NAME)"
        )
    return WatchCheckpoint(int(observation_seq), int(encounter_seq), saved_settings, watch)


def _shape(watch: Watch) -> dict[str, tuple[str, ...]]:
    """The attribute names of the watch and of each of its parts: what an older version's pickle would lack."""

    def names(obj: object) -> tuple[str, ...]:
        if hasattr(obj, "__dict__"):
            return tuple(sorted(vars(obj)))
        return tuple(sorted(getattr(type(obj), "__slots__", ())))

    parts = {name: names(part) for name, part in sorted(vars(watch).items())}
    return {"": names(watch), **parts}


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj: Any) -> Any:
        if type(obj) is RuleSpec:
            return ("rule", obj.name)
        return None


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        kind, name = pid
        if kind != "rule" or name not in RULES:
            raise CheckpointRefused(f"checkpoint refers to rule {name!r}, which this version does not have")
        return RULES[name]
