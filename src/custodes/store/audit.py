"""The full audit (``custodes ledger verify``): recompute everything the ledger claims.

1. **Coverage**: every leaf of the committed tree is exactly one recorded event, an access event
   of a committed batch or a system event; none is missing, none counted twice.
2. **Events**: each access event's commitment is recomputed from its stored row (canonical
   encoding and salt) and compared with its leaf; an event whose content is gone must have a
   tombstone (a lawful erasure), or it is tampering.
3. **System events**: the same, from the openings kept in the catalog.
4. **The tree**: every interior node is recomputed from its children, so every root and proof
   the log gives out is made of checked nodes.
5. **Checkpoints**: every checkpoint the log issued verifies under the log's key and names a
   root of this tree. A history rewritten after a checkpoint was issued fails here.

The hashing is spread over worker processes (:class:`custodes.store.leaves.LeafPool`). The
result names the first bad leaf and what is wrong with it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from custodes.errors import CustodesError
from custodes.ledger import LedgerError, MerkleTree, event_leaf, open_checkpoint, parse_vkey
from custodes.store.catalog import Erasure, EventSpan, SystemEvent
from custodes.store.leaves import (
    ERASED,
    HASH,
    JOB_RECORDS,
    PARALLEL_FROM,
    LeafPool,
    Leaves,
    event_leaves,
)
from custodes.store.store import Store, parquet_listing

MAX_FINDINGS = 50
NODE_CHUNK = 1 << 18


@dataclass(frozen=True)
class Finding:
    """One thing wrong. ``leaf`` is the first leaf it concerns (None: not one leaf's)."""

    leaf: int | None
    what: str

    def __str__(self) -> str:
        return f"leaf {self.leaf}: {self.what}" if self.leaf is not None else self.what


@dataclass
class AuditReport:
    size: int
    events: int = 0  # access events whose leaf was recomputed and matched
    system_events: int = 0
    erased: int = 0  # leaves whose content was lawfully erased (tombstoned)
    nodes: int = 0  # interior nodes recomputed
    checkpoints: int = 0
    findings: list[Finding] = field(default_factory=list)
    more_findings: int = 0  # findings beyond MAX_FINDINGS, counted only

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first_bad(self) -> Finding | None:
        at_leaf = [f for f in self.findings if f.leaf is not None]
        if at_leaf:
            return min(at_leaf, key=lambda f: f.leaf or 0)
        return self.findings[0] if self.findings else None

    def add(self, leaf: int | None, what: str) -> None:
        if len(self.findings) < MAX_FINDINGS:
            self.findings.append(Finding(leaf, what))
        else:
            self.more_findings += 1

    def to_dict(self) -> dict[str, Any]:
        first = self.first_bad
        return {
            "ok": self.ok,
            "size": self.size,
            "events": self.events,
            "system_events": self.system_events,
            "erased": self.erased,
            "nodes": self.nodes,
            "checkpoints": self.checkpoints,
            "first_bad_leaf": first.leaf if first else None,
            "first_problem": str(first) if first else None,
            "findings": [{"leaf": f.leaf, "what": f.what} for f in self.findings],
            "more_findings": self.more_findings,
        }


Progress = Callable[[int, int], None]


def audit(store: Store, pool: LeafPool, progress: Progress | None = None) -> AuditReport:
    """Check the whole ledger of ``store``; never raises for what it finds."""
    size = store.catalog.ledger_size()
    report = AuditReport(size)
    try:
        tree = store.read_tree()
    except CustodesError as error:
        report.add(None, str(error))
        return report
    with tree:
        spans = store.catalog.event_spans()
        system = store.catalog.system_events()
        erasures = store.catalog.erasures()
        _check_coverage(report, size, spans, system)
        done = 0
        for span in spans:
            _check_span(report, store, pool, tree, span, erasures)
            done += span.leaf_count
            if progress:
                progress(done, size)
        _check_system_events(report, tree, system, erasures)
        _check_erasures(report, system, erasures)
        _check_nodes(report, pool, store.tree_dir, tree)
        _check_checkpoints(report, store, tree)
    if progress:
        progress(size, size)
    return report


def _check_coverage(
    report: AuditReport, size: int, spans: list[EventSpan], system: list[SystemEvent]
) -> None:
    pieces = sorted(
        [(s.leaf_first, s.leaf_count, f"the events of batch {s.batch_id}") for s in spans]
        + [(e.leaf_index, 1, f"system event {e.kind}") for e in system]
    )
    expected = 0
    for first, count, what in pieces:
        if first > expected:
            report.add(
                expected,
                f"leaves {expected}..{first - 1} stand for no stored event: a recorded event "
                "was removed without a tombstone",
            )
        elif first < expected:
            report.add(first, f"{what} claim leaves already claimed by another event")
        expected = max(expected, first + count)
    if expected < size:
        report.add(expected, f"leaves {expected}..{size - 1} stand for no stored event")
    elif expected > size:
        report.add(size, f"events are recorded up to leaf {expected - 1}, beyond the log's size")


def _check_span(
    report: AuditReport,
    store: Store,
    pool: LeafPool,
    tree: MerkleTree,
    span: EventSpan,
    erasures: dict[int, Erasure],
) -> None:
    files = [(store.data_dir / f).as_posix() for f in span.files]
    end = min(span.leaf_first + span.leaf_count, tree.size)
    position = span.leaf_first
    calls = [
        (event_leaves, (files, start, min(span.last_record, start + JOB_RECORDS - 1)))
        for start in range(span.first_record, span.last_record + 1, JOB_RECORDS)
    ]
    try:
        stray = _rows_outside(store, files, span)
        for part in pool.ordered(calls, parallel=span.leaf_count >= PARALLEL_FROM):
            position = _compare(report, tree, part, position, end, erasures)
    except Exception as error:  # a missing or damaged file, raised in a worker
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        report.add(position, f"batch {span.batch_id}: its stored events cannot be read ({reason})")
        return
    if stray:
        # Rows a reader sees but no leaf stands for: an event planted in the batch's files.
        report.add(
            span.leaf_first + span.leaf_count,
            f"batch {span.batch_id} holds {stray} stored rows outside its records "
            f"{span.first_record}..{span.last_record}: events were added",
        )
    if position != span.leaf_first + span.leaf_count:
        found = position - span.leaf_first
        report.add(
            min(position, span.leaf_first + span.leaf_count),
            f"batch {span.batch_id} has {found} stored events for {span.leaf_count} leaves: "
            "events were deleted or added",
        )


def _rows_outside(store: Store, files: list[str], span: EventSpan) -> int:
    """Rows of the batch's files that are not among its records (readers see every row)."""
    row = store.db.execute(
        f"SELECT count(*) FROM read_parquet({parquet_listing(files)}, hive_partitioning = false) "
        f"WHERE _rec IS NULL OR _rec NOT BETWEEN {span.first_record} AND {span.last_record}"
    ).fetchone()
    return int(row[0]) if row else 0


def _compare(
    report: AuditReport,
    tree: MerkleTree,
    part: Leaves,
    position: int,
    end: int,
    erasures: dict[int, Erasure],
) -> int:
    """Compare recomputed leaves with the tree from ``position``; return the next position."""
    usable = max(0, min(len(part), end - position))
    stored = tree.leaf_hashes(position, position + usable)
    if part.packed[: usable * HASH] == stored and not part.erased[:usable].any():
        report.events += usable
        return position + len(part)
    for i in range(usable):
        leaf = position + i
        mine = part.packed[i * HASH : (i + 1) * HASH]
        if part.erased[i]:
            if leaf in erasures:
                report.erased += 1
            else:
                report.add(
                    leaf,
                    f"the event (record {part.recs[i]}) has lost its content and salt without "
                    "a tombstone: erased outside the ledger",
                )
        elif mine == ERASED or mine != stored[i * HASH : (i + 1) * HASH]:
            report.add(
                leaf,
                f"the stored event (record {part.recs[i]}) does not match its leaf: altered, "
                "moved, deleted, or its salt replaced",
            )
        else:
            report.events += 1
    return position + len(part)


def _check_system_events(
    report: AuditReport, tree: MerkleTree, system: list[SystemEvent], erasures: dict[int, Erasure]
) -> None:
    for event in system:
        if event.leaf_index >= tree.size:
            continue  # reported by the coverage check
        if event.salt is None or event.encoding is None:
            if event.leaf_index in erasures:
                report.erased += 1
            else:
                report.add(event.leaf_index, "system event lost its content without a tombstone")
            continue
        if event_leaf(event.salt, event.encoding) != tree.leaf_hash(event.leaf_index):
            report.add(
                event.leaf_index, f"system event {event.kind} does not match its leaf: altered"
            )
        else:
            report.system_events += 1


def _check_erasures(
    report: AuditReport, system: list[SystemEvent], erasures: dict[int, Erasure]
) -> None:
    """Each erasure's tombstone must be an ``erasure`` system event naming that leaf."""
    by_leaf = {event.leaf_index: event for event in system}
    for erasure in erasures.values():
        tombstone = by_leaf.get(erasure.tombstone_leaf)
        named = None
        if tombstone is not None and tombstone.kind == "erasure" and tombstone.encoding:
            named = json.loads(tombstone.encoding).get("erased_leaf")
        if named != str(erasure.leaf_index):
            report.add(
                erasure.leaf_index,
                f"an erasure without a valid tombstone (leaf {erasure.tombstone_leaf} does not "
                "record it)",
            )


def check_node_range(tree_dir: str, size: int, level: int, start: int, end: int) -> int | None:
    """(In a worker.) The first interior node in the range that does not match its children."""
    with MerkleTree.reader(Path(tree_dir), size) as tree:
        return tree.check_nodes(level, start, end)


def _check_nodes(report: AuditReport, pool: LeafPool, tree_dir: Path, tree: MerkleTree) -> None:
    ranges = tree.node_ranges(NODE_CHUNK)
    calls = [
        (check_node_range, (tree_dir.as_posix(), tree.size, level, a, b)) for level, a, b in ranges
    ]
    try:
        results = list(pool.ordered(calls, parallel=tree.size >= PARALLEL_FROM))
    except LedgerError as error:
        report.add(None, f"the tree cannot be read: {error}")
        return
    for (level, a, b), bad in zip(ranges, results, strict=True):
        if bad is None:
            report.nodes += b - a
        else:
            report.add(
                bad << level,
                f"tree node {bad} of level {level} is not the hash of its children: the tree "
                "files were altered",
            )


def _check_checkpoints(report: AuditReport, store: Store, tree: MerkleTree) -> None:
    issued = store.catalog.checkpoints()
    identity = store.catalog.log_identity()
    if not issued:
        return
    if identity is None:
        report.add(None, "checkpoints were issued but the log's key is not recorded")
        return
    try:
        verifier = parse_vkey(identity[1])
    except LedgerError as error:
        report.add(None, f"the log's recorded key is damaged: {error}")
        return
    largest = 0
    for checkpoint in issued:
        name = f"checkpoint {checkpoint.seq} (size {checkpoint.size})"
        try:
            opened, _ = open_checkpoint(checkpoint.note, [verifier])
        except LedgerError as error:
            report.add(None, f"{name} does not verify under the log's key: {error}")
            continue
        if (opened.size, opened.root_hash) != (checkpoint.size, checkpoint.root):
            report.add(None, f"{name}: the catalog's size or root differs from the signed note")
            continue
        if opened.size < largest:
            report.add(opened.size, f"{name} is smaller than an earlier one: a rollback")
        largest = max(largest, opened.size)
        if opened.size > tree.size:
            report.add(
                tree.size,
                f"{name} covers more leaves than the log holds: the log was cut back",
            )
        elif tree.root(opened.size) != opened.root_hash:
            report.add(
                None,
                f"{name} is not a root of this tree: history was rewritten after it was signed",
            )
        else:
            report.checkpoints += 1
