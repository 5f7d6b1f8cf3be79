"""Lawful erasure of an access event's content, recorded in the ledger by a tombstone.

The law can require an event's content to go (a court order, a record that should never have
been exported). The ledger must not make that impossible, nor make it silent:

1. the event's stored row is rewritten with every value but ``event_id`` and its record
   number emptied, and its salt removed: the commitment in the tree can no longer be opened,
   so nothing about the event can be learnt or confirmed from it;
2. a tombstone, a system event saying which leaf was erased, by whom, why and when, is
   appended to the ledger;
3. the rewritten file replaces the old one and the erasure commits in one catalog transaction.

The erased leaf stays in the tree: every earlier checkpoint and proof still verifies. ``verify``
accepts an emptied event only where a tombstone names it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from custodes.bundle.validate import ident, literal
from custodes.durable import fsync_path, fsync_paths
from custodes.errors import StoreError
from custodes.store.catalog import Erasure
from custodes.store.ledger import locate_event, new_system_event, system_leaf
from custodes.store.store import writer

_KEPT = {"event_id", "_rec"}


@dataclass(frozen=True)
class ErasureReport:
    event_id: str
    erased_leaf: int
    tombstone_leaf: int
    erased_by: str
    reason: str


def erase_event(home: Path, event_id: str, reason: str, erased_by: str) -> ErasureReport:
    """Erase a stored access event's content; append its tombstone. Needs the writer lock."""
    if not reason.strip():
        raise StoreError("an erasure needs a reason (it is recorded in the ledger)")
    if not erased_by.strip():
        raise StoreError("an erasure needs the name of who erased it")
    with writer(home) as store:
        location = locate_event(store, event_id)
        if location.erased:
            raise StoreError(f"access event {event_id!r} is already erased")
        old = store.data_dir / location.file
        new_relative = _replacement_name(location.file, store.tree.size)
        pending = store.pending_dir / "erase" / new_relative
        pending.parent.mkdir(parents=True, exist_ok=True)
        columns = [
            name
            for (name,) in store.db.execute(
                f"SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet("
                f"{literal(old.as_posix())}, hive_partitioning = false))"
            ).fetchall()
        ]
        emptied = ", ".join(
            ident(c)
            if c in _KEPT
            else f"CASE WHEN _rec = {location.rec} THEN NULL ELSE {ident(c)} END AS {ident(c)}"
            for c in columns
        )
        store.db.execute(
            f"COPY (SELECT {emptied} FROM read_parquet({literal(old.as_posix())}, "
            f"hive_partitioning = false) ORDER BY _rec) TO {literal(pending.as_posix())} "
            "(FORMAT parquet)"
        )
        fsync_path(pending)
        tombstone = new_system_event(
            store.tree.size,
            "erasure",
            {
                "erased_leaf": location.leaf_index,
                "event_id": event_id,
                "table": "access_events",
                "reason": reason,
                "erased_by": erased_by,
            },
        )
        store.tree.append([system_leaf(tombstone)], start=tombstone.leaf_index)
        store.tree.sync()
        target = store.data_dir / new_relative
        os.replace(pending, target)
        fsync_paths({target.parent})
        store.catalog.commit_erasure(
            Erasure(location.leaf_index, event_id, tombstone.leaf_index),
            tombstone,
            location.batch_id,
            location.file,
            new_relative,
        )
        old.unlink()  # a crash before this leaves an unlisted file, which recovery deletes
        fsync_paths({old.parent})
        store.refresh_views()
        return ErasureReport(event_id, location.leaf_index, tombstone.leaf_index, erased_by, reason)


def _replacement_name(relative: str, tombstone_leaf: int) -> str:
    """``.../part_3.parquet`` becomes ``.../part_3~e<leaf>.parquet`` (one suffix, the last)."""
    path = Path(relative)
    stem = path.stem.split("~")[0]
    return (path.parent / f"{stem}~e{tombstone_leaf}{path.suffix}").as_posix()
