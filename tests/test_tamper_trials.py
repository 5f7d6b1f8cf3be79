"""Tampering trials: an insider with full access to the files alters a real ingested store, and
the ledger catches every attempt.

One small synthetic force is ingested once (several batches of access events), a checkpoint is
signed, and a witness cosigns it. Each trial copies that store, applies *one* tampering, at a
random event, position, field or value drawn from its own seeded ``random.Random``, and asks:

* ``verify`` (:func:`custodes.store.audit`): must fail, naming the tampered leaf first, for
  every change to what is stored: one field altered, an event deleted, two events swapped, a
  salt replaced, an event erased without a tombstone, an event planted in a batch's file. The
  insider rewrites Parquet files and edits the catalog (hiding a deletion in the batch's leaf
  count, forging an erasure record) but cannot recompute the leaves without rewriting the tree,
  which the signed checkpoint pins.
* the **witness**: must refuse the re-signed checkpoint when the insider, holding the log's
  signing key, rewrites history consistently: cuts the tail and re-signs a smaller checkpoint
  (perhaps padding the log back to the witnessed size), or forks (recomputes an altered event's
  leaf, rebuilds the tree, re-signs a checkpoint of the same size). Such a store is internally
  consistent, and when the insider also deletes the checkpoints the log kept, ``verify`` alone
  legitimately finds nothing: the witness's memory of the checkpoint it cosigned is what catches
  it. When the insider leaves the old checkpoints in place, ``verify`` must catch it as well.

The detection rate (by the detector each kind answers to) must be 100%; the last test prints it
per kind.
"""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
import string
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from custodes.ledger import MerkleTree, Signer, event_leaf, generate_signer, open_checkpoint
from custodes.store import (
    AuditReport,
    LeafPool,
    audit,
    consistency,
    erase_event,
    ingest,
    issue_checkpoint,
    open_store,
)
from custodes.store.catalog import SystemEvent
from custodes.store.encoding import encode_event
from custodes.store.ledger import new_system_event, system_leaf
from custodes.synth import generate
from custodes.witness import Witness, format_add_checkpoint

ORIGIN = "test.example/log"
WORKFORCE, DAYS, SEED = 40, 2, 20260105
BATCH_ROWS = 700  # several batches of access events, and a short last one
TRIALS_PER_KIND = 15
ALTERABLE = ("person_id", "subject_id", "purpose", "ts")  # who, whom, why, when
KEPT_BY_ERASURE = ("event_id", "_rec")  # what a (lawful or not) erasure leaves of a row

Row = dict[str, Any]


# the pristine store -------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """Where a stored access event is: its batch, file (relative to ``store/``), record number
    and ledger leaf."""

    batch: int
    file: str
    rec: int
    leaf: int


@dataclass(frozen=True)
class Pristine:
    home: Path
    witness: Path  # the witness's state: it has cosigned ``note``
    signer: Signer  # the log's signing key (the insider holds it too)
    note: str
    size: int
    events: tuple[Event, ...]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Pristine:
    """One real store, built once: a synthetic force ingested in batches of 700 events, one
    signed checkpoint, and a witness that has cosigned it."""
    root = tmp_path_factory.mktemp("pristine")
    generate(root / "bundle", workforce=WORKFORCE, days=DAYS, seed=SEED)
    home = root / "home"
    ingest(root / "bundle", home, batch_rows=BATCH_ROWS)
    signer = generate_signer(ORIGIN)
    with open_store(home) as store:
        note = issue_checkpoint(store, signer)
        size = store.catalog.ledger_size()
        spans = store.catalog.event_spans()
    events: list[Event] = []
    for span in spans:
        recs = sorted(
            (rec, file)
            for file in span.files
            for rec in pq.read_table(home / "store" / file, columns=["_rec"]).column(0).to_pylist()
        )
        events += [
            Event(span.batch_id, f, rec, span.leaf_first + i) for i, (rec, f) in enumerate(recs)
        ]
    assert len(spans) >= 3, "the trials need several batches of access events"
    witness = Witness.init(root / "witness", "pcc.example/witness")
    witness.trust_log(signer.verifier().vkey)
    witness.add_checkpoint(note, 0, [])
    return Pristine(home, witness.path, signer, note, size, tuple(events))


# what the insider works with ----------------------------------------------------------------


@dataclass(frozen=True)
class Insider:
    """A copy of the pristine store, and the insider's dice."""

    home: Path
    rng: random.Random
    pristine: Pristine

    @property
    def events(self) -> tuple[Event, ...]:
        return self.pristine.events

    def pick_event(self) -> Event:
        return self.rng.choice(self.events)

    def path(self, event: Event) -> Path:
        return self.home / "store" / event.file


def read_rows(path: Path) -> tuple[pa.Schema, list[Row]]:
    """A stored file's rows (without the columns its directory names add) and its schema."""
    table = pq.read_table(path, partitioning=None)
    return table.schema, table.to_pylist()


def write_rows(path: Path, schema: pa.Schema, rows: list[Row]) -> None:
    """Replace a stored file, keeping its schema: nothing looks out of place."""
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def edit_row(insider: Insider, event: Event, change: Callable[[Row], str]) -> tuple[str, Row]:
    """Apply ``change`` to the stored row of ``event``; return its description and the row."""
    schema, rows = read_rows(insider.path(event))
    row = next(r for r in rows if r["_rec"] == event.rec)
    what = change(row)
    write_rows(insider.path(event), schema, rows)
    return what, row


@contextmanager
def catalog(home: Path) -> Iterator[sqlite3.Connection]:
    """The catalog, edited directly (one transaction, committed on leaving)."""
    with closing(sqlite3.connect(home / "catalog.sqlite")) as db, db:
        yield db


def tree_dir(home: Path) -> Path:
    return home / "ledger" / "tree"


def resign(insider: Insider, *, hide: bool) -> str:
    """Sign a checkpoint of the rewritten tree with the log's key; with ``hide``, first delete
    the checkpoints the log kept, which the rewritten history contradicts."""
    if hide:
        with catalog(insider.home) as db:
            db.execute("DELETE FROM checkpoints")
    with open_store(insider.home) as store:
        return issue_checkpoint(store, insider.pristine.signer)


# small, subtle changes to one row -----------------------------------------------------------


def change_one_character(text: str, rng: random.Random) -> str:
    """The same text with one character replaced by another of its kind."""
    i = rng.randrange(len(text))
    old = text[i]
    if old.isdigit():
        pool = string.digits
    elif old.isupper():
        pool = string.ascii_uppercase
    elif old.islower():
        pool = string.ascii_lowercase
    else:
        pool = " -./"
    return text[:i] + rng.choice([c for c in pool if c != old]) + text[i + 1 :]


def alter_a_field(rng: random.Random) -> Callable[[Row], str]:
    """One character of who, whom or why, or the time shifted by one second."""

    def change(row: Row) -> str:
        name = rng.choice([f for f in ALTERABLE if row[f]])
        before = row[name]
        if isinstance(before, datetime):
            row[name] = before + timedelta(seconds=rng.choice((-1, 1)))
        else:
            row[name] = change_one_character(before, rng)
        return f"{name} of record {row['_rec']}: {before!r} -> {row[name]!r}"

    return change


def replace_the_salt(rng: random.Random, others: list[bytes]) -> Callable[[Row], str]:
    """Fresh random bytes, or another event's salt."""

    def change(row: Row) -> str:
        fresh = rng.random() < 0.5 or not others
        row["_salt"] = rng.randbytes(32) if fresh else rng.choice(others)
        source = "random bytes" if fresh else "another event's salt"
        return f"salt of record {row['_rec']} replaced by {source}"

    return change


def empty_the_row(row: Row) -> str:
    """What an erasure does to a row: every value but the id and record number, and the salt."""
    for name in row:
        if name not in KEPT_BY_ERASURE:
            row[name] = None
    return f"record {row['_rec']} ({row['event_id']}) emptied"


# the tamperings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Tampering:
    """What the insider did, and what the detectors must say about it."""

    what: str
    bad_leaf: int | None = None  # the first leaf verify must name (kinds verify answers to)
    note: str | None = None  # a re-signed checkpoint the insider shows the witness
    attempts: tuple[tuple[int, tuple[bytes, ...]], ...] = ()  # (old size, proof) sent with it
    hid_checkpoints: bool = False


def alter_one_field(insider: Insider) -> Tampering:
    """One character of one field of one event, or its time by a second."""
    event = insider.pick_event()
    what, _ = edit_row(insider, event, alter_a_field(insider.rng))
    return Tampering(what, bad_leaf=event.leaf)


def delete_an_event(insider: Insider) -> Tampering:
    """One row removed from its file; half the time the batch's leaf count is lowered to match."""
    event = insider.pick_event()
    schema, rows = read_rows(insider.path(event))
    write_rows(insider.path(event), schema, [r for r in rows if r["_rec"] != event.rec])
    what = f"record {event.rec} of batch {event.batch} deleted"
    if insider.rng.random() < 0.5:
        with catalog(insider.home) as db:
            db.execute(
                "UPDATE batches SET leaf_count = leaf_count - 1, rows_stored = rows_stored - 1 "
                "WHERE batch_id = ?",
                (event.batch,),
            )
        what += ", and the batch's leaf count lowered to hide it"
    return Tampering(what, bad_leaf=event.leaf)


def swap_two_events(insider: Insider) -> Tampering:
    """Two rows trade their contents (each keeps its record number), or their record numbers."""
    first, second = sorted(insider.rng.sample(insider.events, 2), key=lambda e: e.leaf)
    columns = "record numbers" if insider.rng.random() < 0.5 else "contents"
    files = {insider.path(e): read_rows(insider.path(e)) for e in (first, second)}
    a, b = (
        next(r for r in files[insider.path(e)][1] if r["_rec"] == e.rec) for e in (first, second)
    )
    names = ["_rec"] if columns == "record numbers" else [n for n in a if n != "_rec"]
    for name in names:
        a[name], b[name] = b[name], a[name]
    for path, (schema, rows) in files.items():
        write_rows(path, schema, rows)
    return Tampering(f"records {first.rec} and {second.rec} swap {columns}", bad_leaf=first.leaf)


def replace_a_salt(insider: Insider) -> Tampering:
    """One event's salt replaced: the content is untouched, the commitment no longer opens."""
    event = insider.pick_event()
    others = [insider.pick_event() for _ in range(3)]
    salts = [
        row["_salt"]
        for other in others
        if other != event
        for row in read_rows(insider.path(other))[1]
        if row["_rec"] == other.rec
    ]
    what, _ = edit_row(insider, event, replace_the_salt(insider.rng, salts))
    return Tampering(what, bad_leaf=event.leaf)


def erase_without_tombstone(insider: Insider) -> Tampering:
    """An event emptied as ``erase`` would, but outside the ledger: no tombstone leaf. The insider
    may forge the erasure record, naming a leaf that is no tombstone (a batch's own leaf) or
    none at all."""
    event = insider.pick_event()
    what, row = edit_row(insider, event, empty_the_row)
    forgery = insider.rng.choice(("none", "a batch leaf", "a missing leaf"))
    if forgery != "none":
        with catalog(insider.home) as db:
            if forgery == "a batch leaf":
                (tombstone,) = db.execute(
                    "SELECT batch_leaf FROM batches WHERE batch_id = ?", (event.batch,)
                ).fetchone()
            else:
                tombstone = insider.pristine.size + insider.rng.randrange(1000)
            db.execute(
                "INSERT INTO erasures(leaf_index, event_id, tombstone_leaf) VALUES (?, ?, ?)",
                (event.leaf, row["event_id"], tombstone),
            )
        what += f", with a forged erasure record naming {forgery} as its tombstone"
    return Tampering(what, bad_leaf=event.leaf)


def add_an_event(insider: Insider) -> Tampering:
    """A planted event: a copy of a real row with another id, person and salt, added to a
    batch's file under a record number that is not the batch's (none, one past every record, or
    one of another batch). Every query would see it; no leaf stands for it."""
    event = insider.pick_event()
    schema, rows = read_rows(insider.path(event))
    planted = dict(next(r for r in rows if r["_rec"] == event.rec))
    others = [e for e in insider.events if e.batch != event.batch]
    where = insider.rng.choice(("no record number", "past every record", "another batch's"))
    planted["_rec"] = {
        "no record number": None,
        "past every record": max(e.rec for e in insider.events) + 1 + insider.rng.randrange(99),
        "another batch's": insider.rng.choice(others).rec if others else None,
    }[where]
    planted["event_id"] = f"E9{insider.rng.randrange(10**9):09d}"
    planted["person_id"] = change_one_character(planted["person_id"], insider.rng)
    planted["_salt"] = insider.rng.randbytes(32)
    write_rows(insider.path(event), schema, [*rows, planted])
    batch_end = max(e.leaf for e in insider.events if e.batch == event.batch) + 1
    return Tampering(
        f"event planted in batch {event.batch} with {where} record number", bad_leaf=batch_end
    )


def truncate_and_resign(insider: Insider) -> Tampering:
    """The tail of the log cut off, consistently: the last batch(es) of events lose their last
    rows (or go entirely), the batch's own record is rewritten to match, the tree is cut back,
    and a smaller checkpoint is signed. Half the time the insider then pads the log with new
    leaves up to (or past) the witnessed size, so as not to look smaller."""
    rng, home, pristine = insider.rng, insider.home, insider.pristine
    batches = sorted({e.batch for e in insider.events})
    batch = rng.choice(batches[-2:])
    mine = [e for e in insider.events if e.batch == batch]
    keep = rng.randint(1, len(mine) - 1 if batch == batches[-1] else len(mine))
    with catalog(home) as db, MerkleTree(tree_dir(home)) as tree:
        size = cut_back(db, tree, home, batch, mine, keep)
        what = f"log cut back from {pristine.size} to {size} leaves"
        if rng.random() < 0.5:
            padding = pristine.size - size + rng.randint(0, 3)
            append_system_events(db, tree, "padding", padding)
            size += padding
            what += f", then padded to {size}"
        tree.sync()
        db.execute("UPDATE ledger SET size = ?", (size,))
        proof = tuple(tree.consistency_proof(pristine.size, size)) if size >= pristine.size else ()
    hide = rng.random() < 0.75  # mostly a careful insider, who hides the old checkpoints
    note = resign(insider, hide=hide)
    attempts = ((pristine.size, proof), (size, ()), (0, ()))
    return Tampering(what, note=note, attempts=attempts, hid_checkpoints=hide)


def cut_back(
    db: sqlite3.Connection, tree: MerkleTree, home: Path, batch: int, mine: list[Event], keep: int
) -> int:
    """Keep the first ``keep`` events of ``batch`` and nothing after; return the new size."""
    batch_leaf = mine[-1].leaf + 1  # a batch's own leaf follows its events'
    for (files,) in db.execute("SELECT files FROM batches WHERE batch_leaf > ?", (batch_leaf,)):
        for file in json.loads(files):
            (home / "store" / file).unlink()
    db.execute("DELETE FROM batches WHERE batch_leaf > ?", (batch_leaf,))
    if keep == len(mine):  # cut at the end of the batch: its own record stands
        db.execute("DELETE FROM system_events WHERE leaf_index > ?", (batch_leaf,))
        tree.truncate(batch_leaf + 1)
        return batch_leaf + 1
    gone = {e.rec for e in mine[keep:]}
    for file in sorted({e.file for e in mine[keep:]}):
        schema, rows = read_rows(home / "store" / file)
        write_rows(home / "store" / file, schema, [r for r in rows if r["_rec"] not in gone])
    # cut inside the batch: its own record (the next leaf) is rewritten to say so
    (encoding,) = db.execute(
        "SELECT encoding FROM system_events WHERE leaf_index = ?", (batch_leaf,)
    ).fetchone()
    fields = json.loads(encoding)
    for name in ("rows_read", "rows_stored", "leaf_count"):
        fields[name] = str(int(fields[name]) - len(gone))
    fields["last_record"] = str(mine[keep - 1].rec)
    del fields["type"], fields["recorded_at"]
    new_batch_leaf = mine[keep - 1].leaf + 1
    db.execute("DELETE FROM system_events WHERE leaf_index >= ?", (new_batch_leaf,))
    db.execute(
        "UPDATE batches SET leaf_count = ?, rows_stored = ?, last_record = ?, batch_leaf = ? "
        "WHERE batch_id = ?",
        (keep, keep, mine[keep - 1].rec, new_batch_leaf, batch),
    )
    tree.truncate(new_batch_leaf)
    add_system_event(db, tree, new_system_event(new_batch_leaf, "ingest_batch", fields))
    return new_batch_leaf + 1


def add_system_event(db: sqlite3.Connection, tree: MerkleTree, event: SystemEvent) -> None:
    tree.append([system_leaf(event)], start=event.leaf_index)
    db.execute(
        "INSERT INTO system_events VALUES (?, ?, ?, ?, ?)",
        (event.leaf_index, event.kind, event.recorded_at, event.salt, event.encoding),
    )


def append_system_events(db: sqlite3.Connection, tree: MerkleTree, kind: str, count: int) -> None:
    """``count`` well-formed system events, each with its opening: leaves that verify."""
    for _ in range(count):
        add_system_event(db, tree, new_system_event(tree.size, kind, {"n": tree.size}))


def fork(insider: Insider) -> Tampering:
    """A second history of the same size: one event altered (or its salt replaced), its leaf
    recomputed from the altered row, the tree rebuilt from there, and a checkpoint re-signed.
    The store is consistent again; the witness holds the other root for that size."""
    rng, pristine = insider.rng, insider.pristine
    event = insider.pick_event()
    change = alter_a_field(rng) if rng.random() < 0.5 else replace_the_salt(rng, [])
    with MerkleTree(tree_dir(insider.home)) as tree:
        _, original = read_rows(insider.path(event))
        row = next(r for r in original if r["_rec"] == event.rec)
        # The insider knows how a leaf is made (it is public): check that they get it right.
        assert event_leaf(row["_salt"], encode_event(row)) == tree.leaf_hash(event.leaf)
        what, row = edit_row(insider, event, change)
        rest = tree.leaf_hashes(event.leaf + 1, tree.size)
        tree.truncate(event.leaf)
        tree.append([event_leaf(row["_salt"], encode_event(row))])
        tree.append_packed(rest)
        tree.sync()
    hide = rng.random() < 0.75
    note = resign(insider, hide=hide)
    what = f"fork at leaf {event.leaf}: {what}"
    return Tampering(what, note=note, attempts=((pristine.size, ()), (0, ())), hid_checkpoints=hide)


TAMPERINGS: dict[str, Callable[[Insider], Tampering]] = {
    "alter one field": alter_one_field,
    "delete an event": delete_an_event,
    "swap two events": swap_two_events,
    "replace a salt": replace_a_salt,
    "erase without tombstone": erase_without_tombstone,
    "add an event": add_an_event,
    "truncate and re-sign": truncate_and_resign,
    "fork": fork,
}
CAUGHT_BY_WITNESS = {"truncate and re-sign", "fork"}  # the rest: caught by verify
TRIALS = [(kind, seed) for kind in TAMPERINGS for seed in range(TRIALS_PER_KIND)]


# the detectors ------------------------------------------------------------------------------


def verify(home: Path) -> AuditReport:
    """``custodes ledger verify``."""
    with open_store(home) as store, LeafPool() as pool:
        return audit(store, pool)


# The witness's refusals that are about the history shown: a smaller checkpoint (400), an old
# size that is not the one it holds (409), no consistency proof from what it holds (422). A 403
# or 404 would be a refusal for the wrong reason (the insider's checkpoint was not the log's).
HISTORY_REFUSED = {400, 409, 422}


def show_the_witness(pristine: Pristine, workdir: Path, tampering: Tampering) -> tuple[int, ...]:
    """Send the re-signed checkpoint to (a copy of) the witness, with each old size and proof
    the insider tries; return the status of each reply. A refusal leaves the state as it was."""
    assert tampering.note is not None
    witness = Witness.open(shutil.copytree(pristine.witness, workdir / "witness"))
    held = witness.state(ORIGIN)
    statuses = tuple(
        witness.handle(format_add_checkpoint(old, list(proof), tampering.note)).status
        for old, proof in tampering.attempts
    )
    if 200 not in statuses:
        assert witness.state(ORIGIN) == held
    return statuses


@dataclass(frozen=True)
class Outcome:
    kind: str
    tampering: Tampering
    report: AuditReport
    witness_statuses: tuple[int, ...] | None  # None: no checkpoint was shown to the witness

    @property
    def witness_refused(self) -> bool:
        """Shown the checkpoint, the witness refused every attempt, for what the history is."""
        statuses = self.witness_statuses
        return statuses is not None and len(statuses) > 0 and set(statuses) <= HISTORY_REFUSED

    @property
    def detected(self) -> bool:
        """By the detector this kind answers to (see the module's docstring)."""
        if self.kind in CAUGHT_BY_WITNESS:
            return self.witness_refused and (self.tampering.hid_checkpoints or not self.report.ok)
        first = self.report.first_bad
        return first is not None and first.leaf == self.tampering.bad_leaf


def run_trial(pristine: Pristine, kind: str, seed: int, workdir: Path) -> Outcome:
    """Copy the pristine store, tamper with it once, and run the detectors."""
    home = shutil.copytree(pristine.home, workdir / "home")
    insider = Insider(home, random.Random(f"{kind}/{seed}"), pristine)
    tampering = TAMPERINGS[kind](insider)
    report = verify(home)
    statuses = None if tampering.note is None else show_the_witness(pristine, workdir, tampering)
    return Outcome(kind, tampering, report, statuses)


OUTCOMES: dict[tuple[str, int], Outcome] = {}  # filled by the trials, summed up by the last test


# the tests ----------------------------------------------------------------------------------


def test_a_pristine_copy_passes_verify_and_the_witness(pristine: Pristine, tmp_path: Path) -> None:
    """No false positives: an untouched copy verifies in full, and the witness cosigns its
    checkpoint again."""
    home = shutil.copytree(pristine.home, tmp_path / "home")
    report = verify(home)
    assert report.ok, report.findings
    assert report.events == len(pristine.events)
    assert report.checkpoints == 1
    witness = Witness.open(shutil.copytree(pristine.witness, tmp_path / "witness"))
    assert witness.add_checkpoint(pristine.note, pristine.size, []).startswith("— ")


def test_a_lawful_erasure_passes_verify_and_the_witness(pristine: Pristine, tmp_path: Path) -> None:
    """A lawful erasure empties an event too, but leaves a tombstone: verify accepts it, and the
    log, grown by the tombstone, still extends the witnessed checkpoint."""
    home = shutil.copytree(pristine.home, tmp_path / "home")
    event = random.Random(SEED).choice(pristine.events)
    _, rows = read_rows(home / "store" / event.file)
    event_id = next(r["event_id"] for r in rows if r["_rec"] == event.rec)
    erased = erase_event(home, event_id, "court order 2026/17", "records officer")
    assert erased.erased_leaf == event.leaf
    report = verify(home)
    assert report.ok, report.findings
    assert report.erased == 1
    with open_store(home) as store:
        note = issue_checkpoint(store, pristine.signer)
        proof = consistency(store, pristine.size, store.catalog.ledger_size()).proof
    witness = Witness.open(shutil.copytree(pristine.witness, tmp_path / "witness"))
    assert witness.add_checkpoint(note, pristine.size, proof).startswith("— ")


@pytest.mark.parametrize(("kind", "seed"), TRIALS, ids=[f"{k}-{s}" for k, s in TRIALS])
def test_tampering_is_detected(pristine: Pristine, tmp_path: Path, kind: str, seed: int) -> None:
    """One trial: verify names the tampered leaf first, or the witness refuses the re-signed
    checkpoint for its history (a smaller one: 400; the same size or larger: 422)."""
    outcome = run_trial(pristine, kind, seed, tmp_path)
    OUTCOMES[kind, seed] = outcome
    what, report = outcome.tampering.what, outcome.report
    if kind in CAUGHT_BY_WITNESS:
        assert outcome.tampering.note is not None and outcome.witness_statuses is not None
        # The checkpoint is genuinely the log's: only its history gives it away.
        checkpoint, _ = open_checkpoint(outcome.tampering.note, [pristine.signer.verifier()])
        shorter = checkpoint.size < pristine.size
        assert outcome.witness_statuses[0] == (400 if shorter else 422), what
        assert outcome.witness_refused, (what, outcome.witness_statuses)
        if not outcome.tampering.hid_checkpoints:  # the kept checkpoints contradict the tree
            assert not report.ok, f"verify missed it, though the old checkpoints remain: {what}"
    else:
        assert not report.ok, f"verify missed it: {what}"
        assert report.first_bad is not None
        assert report.first_bad.leaf == outcome.tampering.bad_leaf, (what, report.findings)
    assert outcome.detected


def test_the_detection_rate_is_100_percent(
    pristine: Pristine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every trial, of every kind, is detected. Trials not already run (this test run alone,
    or in another order) are run here."""
    outcomes = [
        OUTCOMES.get((kind, seed)) or run_trial(pristine, kind, seed, tmp_path / f"{kind}-{seed}")
        for kind, seed in TRIALS
    ]
    lines = [f"{'tampering':<26}{'trials':>7}{'verify':>8}{'witness':>9}{'detected':>10}"]
    for kind in TAMPERINGS:
        mine = [o for o in outcomes if o.kind == kind]
        by_witness = sum(o.witness_refused for o in mine)
        lines.append(
            f"{kind:<26}{len(mine):>7}{sum(not o.report.ok for o in mine):>8}"
            f"{by_witness if kind in CAUGHT_BY_WITNESS else '-':>9}"
            f"{sum(o.detected for o in mine):>10}"
        )
    detected = sum(o.detected for o in outcomes)
    lines.append(f"detection rate: {detected}/{len(outcomes)} = {detected / len(outcomes):.0%}")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert len(outcomes) >= 100
    assert detected == len(outcomes)
