"""A case's evidence pack, for a misconduct hearing: what the case found, and proof of it.

Two forms of one content. The **JSON bundle** holds the case (allegations, people, outcomes,
timeline) and, for every access event the case cites and every step it recorded, the item's
content with its *receipt*: the commitment opening and an inclusion proof against a signed
checkpoint. Anyone holding the log's public key checks the whole bundle offline with
``custodes ledger verify-proof PACK.json --vkey KEY``, which also checks that each item's
content is exactly what its receipt proves. The **PDF** is the same content for people to read,
carrying the bundle's SHA-256 so the two can be tied together.

Items recorded after the newest checkpoint cannot be proven yet: they are listed as pending
(issue a checkpoint, then build the pack again).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from custodes.cases.casefile import CaseFile, TimelineEntry, get_case, timeline
from custodes.cases.db import CaseDb
from custodes.cases.errors import Invalid
from custodes.cases.models import User
from custodes.errors import StoreError
from custodes.ledger import Receipt
from custodes.store.ledger import receipt_for_system_event, receipts_for_events
from custodes.store.store import open_store

FORMAT = "custodes/evidence/v1"

_templates = Environment(
    loader=PackageLoader("custodes.cases", "templates"),
    autoescape=select_autoescape(["html"]),
)


@dataclass
class EvidencePack:
    document: dict[str, Any]

    @property
    def reference(self) -> str:
        return str(self.document["case"]["reference"])

    def to_json(self) -> str:
        return json.dumps(self.document, indent=2, sort_keys=True, default=_plain) + "\n"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    def to_html(self) -> str:
        return _templates.get_template("evidence_pack.html").render(
            d=self.document, sha256=self.sha256
        )

    def to_pdf(self) -> bytes:
        from weasyprint import HTML

        pdf: bytes = HTML(string=self.to_html()).write_pdf()
        return pdf

    @property
    def people(self) -> list[str]:
        return [p["person_ref"] for p in self.document["case"]["people"]]

    @property
    def subjects(self) -> list[str]:
        found = {
            str(item["content"].get("subject_id"))
            for item in self.document["receipts"]
            if item["content"].get("type") == "access_event" and item["content"].get("subject_id")
        }
        return sorted(found)

    @property
    def event_ids(self) -> list[str]:
        return [
            str(item["content"]["event_id"])
            for item in self.document["receipts"]
            if item["content"].get("type") == "access_event"
        ]


def build_evidence_pack(db: CaseDb, user: User, case: int | str) -> EvidencePack:
    """The evidence pack of a case the user is on (need-to-know is checked as for the case
    page). The caller records the read (one ledger event, as for any view of the case)."""
    found = get_case(db, user, case)
    entries = timeline(db, user, case, with_events=False)
    steps = sorted({e.leaf for e in entries if e.leaf is not None})
    items: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    with open_store(db.home) as store:
        issued = store.catalog.checkpoints()
        if not issued:
            raise Invalid(
                "no checkpoint has been issued, so nothing can be proven yet: run "
                "`custodes ledger checkpoint`, then build the pack again"
            )
        covered = issued[-1].size
        cited = list(found.event_ids)
        try:
            receipts = receipts_for_events(store, cited)
        except StoreError as error:
            raise Invalid(f"case {found.reference}: {error}") from None
        for event_id in cited:
            receipt = receipts[event_id]
            items.append(_item(f"access event {event_id}", receipt))
        for leaf in steps:
            if leaf >= covered:
                pending.append({"label": f"case step at ledger entry {leaf}", "leaf": leaf})
                continue
            items.append(
                _item(f"case step at ledger entry {leaf}", receipt_for_system_event(store, leaf))
            )
        checkpoint = issued[-1].note
    if not items:
        raise Invalid(f"case {found.reference} has nothing a checkpoint covers yet")
    return EvidencePack(
        {
            "format": FORMAT,
            "case": _case(found),
            "timeline": [_entry(e) for e in entries],
            "receipts": items,
            "pending": pending,
            "checkpoint": checkpoint,
            "built_by": user.name,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "how_to_verify": (
                "custodes ledger verify-proof THIS_FILE --vkey LOG_VERIFIER_KEY: every receipt "
                "must lead to the signed checkpoint, and every item's content must be what its "
                "receipt opens."
            ),
        }
    )


def _item(label: str, receipt: Receipt) -> dict[str, Any]:
    return {
        "label": label,
        "content": json.loads(receipt.encoding),
        "receipt": receipt.to_json(),
    }


def _case(case: CaseFile) -> dict[str, Any]:
    return {
        "reference": case.reference,
        "force": case.force,
        "title": case.title,
        "status": case.status,
        "owner": case.owner,
        "reviewer": case.reviewer,
        "opened_at": case.opened_at,
        "closed_at": case.closed_at,
        "incident_date": case.incident_date,
        "closing_note": case.closing_note,
        "signed_off_by": case.signed_off_by,
        "signed_off_at": case.signed_off_at,
        "allegations": [asdict(a) for a in case.allegations],
        "people": [asdict(p) for p in case.people],
        "alert_ids": list(case.alert_ids),
        "event_ids": list(case.event_ids),
    }


def _entry(entry: TimelineEntry) -> dict[str, Any]:
    return {
        "at": entry.at,
        "kind": entry.kind,
        "actor": entry.actor,
        "text": entry.text,
        "leaf": entry.leaf,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
