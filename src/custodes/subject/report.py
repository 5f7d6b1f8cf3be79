"""Build a subject access report: every access to one subject's records, with its purpose.

A report is computed *as of a signed checkpoint* (the newest, unless another ledger size is
asked for): the store's tables are read as they were when the ledger had that many leaves, and
each access is explained afresh from them, so the same report can be regenerated identically
later and anyone holding the checkpoint can tell what data it was built from. (An access
lawfully erased since is not shown again: erasure is the one thing regeneration does not undo.)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from custodes.engine import duckdb_backend
from custodes.errors import CustodesError
from custodes.explain.run import explanations
from custodes.explain.templates import UNEXPLAINED, for_subject
from custodes.ledger._codec import b64encode
from custodes.store.catalog import IssuedCheckpoint
from custodes.store.ledger import record_actions
from custodes.store.store import Store, open_store

FORMAT = "custodes/subject-access/v1"


@dataclass(frozen=True)
class Access:
    """One access to the subject's records, as the subject reads it."""

    ts: datetime
    system: str
    action: str
    unit: str  # the unit of the employee who accessed it
    purpose_stated: str | None  # what the employee typed, if anything
    explanation: str  # a template's name, or "unexplained"
    why: str  # the explanation in the subject's words
    recipient: str | None  # for a disclosure or an export: to whom
    employee: dict[str, str] | None = None  # only with a recorded reason

    def to_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "ts": self.ts.isoformat().replace("+00:00", "Z"),
            "system": self.system,
            "action": self.action,
            "unit": self.unit,
            "purpose_stated": self.purpose_stated,
            "explanation": self.explanation,
            "why": self.why,
            "recipient": self.recipient,
        }
        if self.employee is not None:
            row["employee"] = self.employee
        return row


@dataclass
class SubjectAccessReport:
    subject_id: str
    as_of: int  # the ledger size the report was computed at
    checkpoint: IssuedCheckpoint
    accesses: list[Access]
    identities_reason: str | None = None
    ledger_leaf: int | None = None  # the leaf recording that the report was generated
    requested_by: str = ""
    notes: list[str] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        """The report's content: everything but who asked and where it was recorded, so that
        regenerating it from the same checkpoint gives the same body (and ``report_id``)."""
        return {
            "format": FORMAT,
            "subject_id": self.subject_id,
            "computed_at": {
                "ledger_size": self.as_of,
                "checkpoint_size": self.checkpoint.size,
                "checkpoint_root": b64encode(self.checkpoint.root),
                "checkpoint": self.checkpoint.note,
            },
            "identities_included": self.identities_reason is not None,
            "identities_reason": self.identities_reason,
            "accesses": [a.to_dict() for a in self.accesses],
            "counts": {
                "accesses": len(self.accesses),
                "explained": sum(a.explanation != UNEXPLAINED for a in self.accesses),
                "disclosures": sum(a.recipient is not None for a in self.accesses),
            },
            "how_to_read": HOW_TO_READ,
        }

    @property
    def report_id(self) -> str:
        canonical = json.dumps(self.body(), sort_keys=True, separators=(",", ":"))
        return "SAR-" + hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.body(),
            "report_id": self.report_id,
            "requested_by": self.requested_by,
            "ledger_leaf": self.ledger_leaf,
        }


HOW_TO_READ = (
    "Each row is one time a member of the force's workforce consulted, searched for, changed, "
    "disclosed or exported your records. 'why' is the purpose the force's own records show "
    "(for example, being assigned to an incident that involves you); 'unexplained' means no "
    "such record was found, which alone does not make the access improper. The employee's "
    "identity is included only where the Data Protection Officer has recorded why it is "
    "essential for you to exercise your rights."
)


def subject_access_report(
    home: Path,
    subject_id: str,
    *,
    requested_by: str,
    identities_reason: str | None = None,
    as_of: int | None = None,
    record: bool = True,
) -> SubjectAccessReport:
    """Every access to ``subject_id``'s records as of a checkpoint, with its purpose; the
    report's generation is recorded in the ledger (``record``) naming who asked for it and
    whether identities were included, and why."""
    if not requested_by.strip():
        raise CustodesError("say who is generating the report (--requested-by)")
    if identities_reason is not None and not identities_reason.strip():
        raise CustodesError("a reason to include employees' identities cannot be empty")
    with open_store(home) as store:
        checkpoint = _checkpoint(store, as_of)
    size = as_of if as_of is not None else checkpoint.size
    with open_store(home, as_of=size) as store:
        if not store.query("SELECT 1 FROM subjects WHERE subject_id = ?", [subject_id]) and (
            not store.query("SELECT 1 FROM access_events WHERE subject_id = ?", [subject_id])
        ):
            raise CustodesError(f"no subject {subject_id!r} is known (as of ledger size {size})")
        accesses = _accesses(store, subject_id, identities_reason is not None)
    report = SubjectAccessReport(
        subject_id, size, checkpoint, accesses, identities_reason, requested_by=requested_by
    )
    if record:
        (event,) = record_actions(
            home,
            [
                (
                    "subject_access_report",
                    {
                        "subject_id": subject_id,
                        "report_id": report.report_id,
                        "as_of": size,
                        "accesses": len(accesses),
                        "requested_by": requested_by,
                        "identities_reason": identities_reason,
                    },
                )
            ],
        )
        report.ledger_leaf = event.leaf_index
    return report


def _checkpoint(store: Store, as_of: int | None) -> IssuedCheckpoint:
    issued = store.catalog.checkpoints()
    if not issued:
        raise CustodesError(
            "no checkpoint has been issued: a report is computed at a signed checkpoint "
            "(run `custodes ledger checkpoint` first)"
        )
    if as_of is None:
        return issued[-1]
    covering = [c for c in issued if c.size >= as_of]
    if not covering:
        raise CustodesError(
            f"no checkpoint covers ledger size {as_of} (the newest is of {issued[-1].size})"
        )
    return covering[0]


def _accesses(store: Store, subject_id: str, with_identities: bool) -> list[Access]:
    rows = store.db.execute(
        """
        SELECT e.event_id, e.ts, e.person_id, e.system, e.action, e.purpose, e.recipient,
               coalesce(u.name, w.unit_id, 'unknown unit'), w.forenames, w.surname, w.role
        FROM access_events e
        LEFT JOIN workforce w USING (person_id)
        LEFT JOIN units u ON u.unit_id = w.unit_id
        WHERE e.subject_id = ?
        ORDER BY e.ts, e.event_id
        """,
        [subject_id],
    ).fetchall()
    explained = _explain(store, [(str(r[2]), r[1]) for r in rows])
    accesses = []
    for event_id, ts, person, system, action, purpose, recipient, unit, fore, sur, role in rows:
        template, kind = explained.get(event_id, (UNEXPLAINED, None))
        employee = None
        if with_identities:
            name = " ".join(p for p in (fore, sur) if p) or "not in the workforce"
            employee = {"person_id": person, "name": name, "role": role or "unknown"}
        accesses.append(
            Access(
                ts,
                system,
                action,
                unit,
                purpose,
                template,
                for_subject(template, kind),
                recipient if action in ("disclose", "export") else None,
                employee,
            )
        )
    return accesses


def _explain(
    store: Store, people_days: list[tuple[str, datetime]]
) -> dict[str, tuple[str, str | None]]:
    """Each event's explanation and the kind of operation behind it, explaining the subject's
    events together with their same-day context (the person's other events that day)."""
    if not people_days:
        return {}
    store.db.execute("CREATE OR REPLACE TEMP TABLE _people_days(person_id VARCHAR, day DATE)")
    store.db.executemany(
        "INSERT INTO _people_days VALUES (?, CAST(?::TIMESTAMPTZ AS DATE))",
        [[p, ts] for p, ts in sorted(set(people_days))],
    )
    context = [
        str(r[0])
        for r in store.db.execute(
            "SELECT event_id FROM access_events e JOIN _people_days d "
            "ON e.person_id = d.person_id AND CAST(e.ts AS DATE) = d.day"
        ).fetchall()
    ]
    con = duckdb_backend(store)
    table = explanations(con, only=context).to_pyarrow()
    operations = sorted({o for o in table.column("operation_id").to_pylist() if o})
    kinds = dict(
        store.query(
            "SELECT operation_id, kind FROM operations WHERE list_contains(?, operation_id)",
            [operations],
        )
    )
    return {
        event_id: (template, kinds.get(operation) if operation else None)
        for event_id, template, operation in zip(
            table.column("event_id").to_pylist(),
            table.column("explanation").to_pylist(),
            table.column("operation_id").to_pylist(),
            strict=True,
        )
    }
