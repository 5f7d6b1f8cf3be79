"""The store's side of the ledger: system events, checkpoints, receipts and consistency proofs.

Leaves are of two kinds, and every index of the tree is one of them:

* an **access event** of a committed batch: the batch's events hold leaves
  ``leaf_first .. leaf_first + leaf_count - 1`` in the order of their record number (``_rec``);
  the opening (salt and canonical encoding) is recomputed from the stored row;
* a **system event**, the system's own action (``ingest_batch``, ``erasure``, and later case
  steps and investigator reads): its opening is kept verbatim in the catalog.

Appending takes the store's writer lock; reading (checkpoints, proofs) works beside a writer,
at the committed size.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from custodes.errors import StoreError
from custodes.ledger import (
    Checkpoint,
    ConsistencyProof,
    InclusionProof,
    Receipt,
    Signer,
    event_leaf,
)
from custodes.ledger.receipt import SALT_SIZE
from custodes.store.catalog import EventSpan, IssuedCheckpoint, SystemEvent
from custodes.store.encoding import encode_record
from custodes.store.encoding_columns import encode_events, encoded_columns_sql
from custodes.store.store import Store, appender, parquet_listing


def timestamp() -> str:
    """The time of a system event, as events' times are encoded (UTC, microseconds)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_system_event(
    leaf_index: int, kind: str, fields: Mapping[str, str | int | None]
) -> SystemEvent:
    """A system event for leaf ``leaf_index``, with a fresh salt and its encoding."""
    recorded_at = timestamp()
    encoding = encode_record(kind, {**fields, "recorded_at": recorded_at})
    return SystemEvent(leaf_index, kind, recorded_at, os.urandom(SALT_SIZE), encoding)


def system_leaf(record: SystemEvent) -> bytes:
    if record.salt is None or record.encoding is None:
        raise StoreError(f"system event {record.leaf_index} was erased: its leaf is in the tree")
    return event_leaf(record.salt, record.encoding)


def record(store: Store, kind: str, fields: Mapping[str, str | int | None]) -> SystemEvent:
    """Append one action of the system to the ledger (writers only): the leaf is synced to
    the tree, then committed in the catalog."""
    event = new_system_event(store.tree.size, kind, fields)
    store.tree.append([system_leaf(event)], start=event.leaf_index)
    store.tree.sync()
    store.catalog.add_system_event(event)
    return event


def record_actions(
    home: Path, actions: Sequence[tuple[str, Mapping[str, str | int | None]]], *, wait: float = 60.0
) -> list[SystemEvent]:
    """Append actions of the system (a case step, an investigator's read) to the ledger of the
    store under ``home``, from a process that is not ingesting (the web application, the case
    commands): all leaves synced, then committed together. Waits for a running writer."""
    with appender(home, wait=wait) as store:
        return append_actions(store, actions)


def append_actions(
    store: Store, actions: Sequence[tuple[str, Mapping[str, str | int | None]]]
) -> list[SystemEvent]:
    """Append actions to the ledger of a store opened to append (:func:`record_actions`, or a
    :class:`~custodes.store.store.KeptAppender`): every leaf synced, then all committed in one
    transaction, so they are recorded together or not at all."""
    events: list[SystemEvent] = []
    for kind, fields in actions:
        events.append(new_system_event(store.tree.size + len(events), kind, fields))
    store.tree.append([system_leaf(e) for e in events], start=store.tree.size)
    store.tree.sync()
    store.catalog.add_system_events(events)
    return events


# where an event is --------------------------------------------------------------------------


@dataclass(frozen=True)
class EventLocation:
    event_id: str
    batch_id: int
    rec: int
    leaf_index: int
    file: str  # relative to store/
    erased: bool


def locate_event(store: Store, event_id: str) -> EventLocation:
    """Find a stored access event's batch, file and ledger leaf."""
    spans = {span.batch_id: span for span in store.catalog.event_spans()}
    files = [f for span in spans.values() for f in span.files]
    if not files:
        raise StoreError(f"no access event {event_id!r} is stored")
    listing = parquet_listing([store.data_dir / f for f in files])
    source = f"read_parquet({listing}, hive_partitioning = true, union_by_name = true, filename = true, hive_types = {{'_batch': BIGINT, 'month': VARCHAR}})"
    row = store.db.execute(
        f"SELECT _batch, _rec, filename, _salt IS NULL FROM {source} WHERE event_id = ?",
        [event_id],
    ).fetchone()
    if row is None:
        raise StoreError(f"no access event {event_id!r} is stored")
    batch_id, rec, filename, erased = int(row[0]), int(row[1]), str(row[2]), bool(row[3])
    span = spans[batch_id]
    before = store.db.execute(
        f"SELECT count(*) FROM {_span_source(store, span)} WHERE _rec < ?", [rec]
    ).fetchone()
    assert before is not None
    relative = os.path.relpath(filename, store.data_dir)
    return EventLocation(
        event_id, batch_id, rec, span.leaf_first + int(before[0]), relative, erased
    )


def _span_source(store: Store, span: EventSpan) -> str:
    listing = parquet_listing([store.data_dir / f for f in span.files])
    return f"read_parquet({listing}, hive_partitioning = false, union_by_name = true)"


def event_opening(store: Store, location: EventLocation) -> tuple[bytes, bytes]:
    """The salt and canonical encoding of a stored event (its commitment's opening)."""
    span = next(s for s in store.catalog.event_spans() if s.batch_id == location.batch_id)
    rows = store.db.execute(
        f"SELECT _salt, {encoded_columns_sql()} FROM {_span_source(store, span)} WHERE _rec = ?",
        [location.rec],
    ).to_arrow_table()
    salt = rows.column("_salt")[0].as_py() if rows.num_rows else None
    if salt is None:
        raise StoreError(f"access event {location.event_id!r} was erased")
    return bytes(salt), encode_events(rows)[0].as_py()


# checkpoints --------------------------------------------------------------------------------


def issue_checkpoint(store: Store, signer: Signer) -> str:
    """Sign a checkpoint of the committed tree, keep it, and return the signed note.

    The first checkpoint fixes the log's name and key; a later one by another key is refused
    (a rotated key would break every verifier holding the old one).
    """
    with store.read_tree() as tree:
        size, root = tree.size, tree.root()
    note = Checkpoint(signer.name, size, root).sign(signer).format()
    verifier = signer.verifier()
    store.catalog.add_checkpoint(size, root, note, signer.name, verifier.vkey)
    return note


def latest_checkpoint(store: Store, covering: int = 0) -> IssuedCheckpoint:
    """The newest issued checkpoint of a tree of more than ``covering`` leaves."""
    issued = [c for c in store.catalog.checkpoints() if c.size > covering]
    if not issued:
        raise StoreError(
            f"no checkpoint covers leaf {covering} yet: run `custodes ledger checkpoint`"
        )
    return issued[-1]


# proofs -------------------------------------------------------------------------------------


def receipt_for_leaf(store: Store, leaf_index: int, salt: bytes, encoding: bytes) -> Receipt:
    """A receipt for a leaf whose opening is known, under the newest checkpoint covering it."""
    issued = latest_checkpoint(store, covering=leaf_index)
    with store.read_tree() as tree:
        stored_leaf = tree.leaf_hash(leaf_index)
        if event_leaf(salt, encoding) != stored_leaf:
            raise StoreError(
                f"leaf {leaf_index} does not match the stored event: the store was altered "
                "(run `custodes ledger verify`)"
            )
        proof = tree.inclusion_proof(leaf_index, issued.size)
        root = tree.root(issued.size)
    if root != issued.root:
        raise StoreError(
            f"the tree does not match checkpoint {issued.seq}: run `custodes ledger verify`"
        )
    inclusion = InclusionProof(leaf_index, issued.size, stored_leaf, tuple(proof), root)
    return Receipt(inclusion, issued.note, salt, encoding)


def receipt_for_event(store: Store, event_id: str) -> Receipt:
    """The receipt of a stored access event: proof, checkpoint and opening."""
    location = locate_event(store, event_id)
    if location.erased:
        raise StoreError(f"access event {event_id!r} was lawfully erased; only its leaf remains")
    salt, encoding = event_opening(store, location)
    return receipt_for_leaf(store, location.leaf_index, salt, encoding)


def receipts_for_events(store: Store, event_ids: Sequence[str]) -> dict[str, Receipt]:
    """Receipts for many stored access events at once (an evidence pack cites dozens): one
    scan to find them, one query per batch holding any, all under the newest checkpoint.
    Raises if an event is not stored or was erased."""
    wanted = sorted(set(event_ids))
    if not wanted:
        return {}
    spans = store.catalog.event_spans()
    files = [store.data_dir / f for span in spans for f in span.files]
    if not files:
        raise StoreError(f"no access event {wanted[0]!r} is stored")
    source = f"read_parquet({parquet_listing(files)}, hive_partitioning = true, union_by_name = true, hive_types = {{'_batch': BIGINT, 'month': VARCHAR}})"
    store.db.execute("CREATE OR REPLACE TEMP TABLE _wanted(event_id VARCHAR)")
    store.db.executemany("INSERT INTO _wanted VALUES (?)", [[e] for e in wanted])
    found = store.db.execute(
        f"SELECT DISTINCT _batch FROM {source} WHERE event_id IN (SELECT event_id FROM _wanted)"
    ).fetchall()
    openings: dict[str, tuple[int, bytes | None, bytes]] = {}
    for span in (s for s in spans if s.batch_id in {int(b) for (b,) in found}):
        rows = store.db.execute(
            f"""SELECT * FROM (
                    SELECT row_number() OVER (ORDER BY _rec) - 1 AS _position, _salt,
                           {encoded_columns_sql()}
                    FROM {_span_source(store, span)})
                WHERE event_id IN (SELECT event_id FROM _wanted)"""
        ).to_arrow_table()
        for event_id, position, salt, encoding in zip(
            rows.column("event_id").to_pylist(),
            rows.column("_position").to_pylist(),
            rows.column("_salt").to_pylist(),
            encode_events(rows).to_pylist(),
            strict=True,
        ):
            openings[str(event_id)] = (
                span.leaf_first + int(position),
                None if salt is None else bytes(salt),
                bytes(encoding),
            )
    receipts = {}
    for event_id in wanted:
        if event_id not in openings:
            raise StoreError(f"no access event {event_id!r} is stored")
        leaf_index, salt, encoding = openings[event_id]
        if salt is None:
            raise StoreError(
                f"access event {event_id!r} was lawfully erased; only its leaf remains"
            )
        receipts[event_id] = receipt_for_leaf(store, leaf_index, salt, encoding)
    return receipts


def receipt_for_system_event(store: Store, leaf_index: int) -> Receipt:
    found = store.catalog.system_events(leaf_index, leaf_index + 1)
    if not found:
        raise StoreError(f"leaf {leaf_index} is not a system event")
    event = found[0]
    if event.salt is None or event.encoding is None:
        raise StoreError(f"system event {leaf_index} was erased")
    return receipt_for_leaf(store, leaf_index, event.salt, event.encoding)


def consistency(store: Store, size1: int, size2: int) -> ConsistencyProof:
    """The RFC 9162 consistency proof between two sizes of the committed tree."""
    with store.read_tree() as tree:
        if not 0 < size1 <= size2 <= tree.size:
            raise StoreError(
                f"a consistency proof needs 0 < from <= to <= {tree.size} (the committed "
                f"size), not {size1} and {size2}"
            )
        proof = tree.consistency_proof(size1, size2)
        return ConsistencyProof(size1, size2, tree.root(size1), tree.root(size2), tuple(proof))
