"""The channel store is a package of one module per aggregate, used as one namespace: its ``__all__`` is sorted,
complete and importable, and each state column allows exactly its enum's values."""

from __future__ import annotations

import importlib
import pkgutil

import sqlalchemy as sa

from riskline.storage import channel_store as store
from riskline.storage.channel_store import states


def test_the_public_names_are_sorted_importable_and_every_modules_public_name_is_among_them() -> None:
    names = store.__all__
    assert names == sorted(names)
    assert all(hasattr(store, name) for name in names)
    for module_info in pkgutil.iter_modules(store.__path__):
        if module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{store.__name__}.{module_info.name}")
        own = {
            name
            for name, value in vars(module).items()
            if not name.startswith("_") and getattr(value, "__module__", None) == module.__name__
        }
        tables = {name for name, value in vars(module).items() if isinstance(value, sa.Table)}
        assert own | tables <= set(names), module.__name__


def test_each_state_column_allows_exactly_the_values_of_its_enum() -> None:
    def allowed(table: sa.Table, name: str) -> str:
        named = f"ck_{table.name}_{name}"
        (constraint,) = [c for c in table.constraints if isinstance(c, sa.CheckConstraint) and c.name == named]
        return str(constraint.sqltext)

    assert allowed(store.outbox, "state") == "state IN ('pending', 'delivered', 'failed-permanent')"
    assert allowed(store.messages, "status") == "status IN ('open', 'answered', 'closed')"
    assert allowed(store.messages, "direction") == allowed(store.receipts, "direction") == "direction IN ('in', 'out')"
    assert allowed(store.peer_checkpoints, "kind") == "kind IN ('head', 'cosigned_by_us', 'cosigned_by_peer')"
    assert states.check_in("x", states.Direction) == "x IN ('in', 'out')"
