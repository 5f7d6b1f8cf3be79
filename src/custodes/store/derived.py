"""What a derived result (linkage, explanations) was computed from, so the next run can tell
whether it still holds, must be redone, or can be brought up to date with the new batches only.

A derived result keeps, beside it, a small ``state.json``: the committed batches of every table
it was computed over, and the number of lawful erasures at that time. Batches are never changed
after they commit (an erasure empties a row, and is counted), so comparing states is exact.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from custodes.store.store import Store


@dataclass(frozen=True)
class SourceState:
    batches: dict[str, list[int]]
    erasures: int

    @classmethod
    def of(cls, store: Store) -> SourceState:
        return cls(store.catalog.committed_batch_ids(), len(store.catalog.erasures()))

    def new_batches(self, before: SourceState, table: str) -> list[int]:
        """Batches of ``table`` committed since ``before``."""
        seen = set(before.batches.get(table, []))
        return [b for b in self.batches.get(table, []) if b not in seen]

    def same_tables(self, before: SourceState, tables: set[str] | None = None) -> bool:
        """Whether ``tables`` (default: all) hold exactly the batches they held ``before``."""
        names = tables if tables is not None else set(self.batches) | set(before.batches)
        return all(self.batches.get(t, []) == before.batches.get(t, []) for t in names)

    def extends(self, before: SourceState) -> bool:
        """Whether every batch of ``before`` is still here (nothing was rolled back)."""
        return all(
            set(ids) <= set(self.batches.get(table, [])) for table, ids in before.batches.items()
        )


def load_state(path: Path) -> SourceState | None:
    """The state kept beside a derived result, or None (never computed, or an older version)."""
    try:
        data = json.loads(path.read_text())
        return SourceState(
            {str(k): [int(b) for b in v] for k, v in data["batches"].items()}, int(data["erasures"])
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def save_state(path: Path, state: SourceState) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(".tmp")
    scratch.write_text(json.dumps({"batches": state.batches, "erasures": state.erasures}))
    os.replace(scratch, path)
