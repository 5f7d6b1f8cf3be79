"""Signals become alerts, and alerts are exported in the contract's format.

An alert groups the signals of one rule: per person and subject for rules about a relationship,
a subject or a disclosure; per person and day for behaviour and account status. Each alert
carries the events behind it, a score, and one sentence a person can read (``summary``), plus
the structured evidence (``detail``: the linkage evidence, the baseline, the recipient).

``alerts.csv`` (DESIGN.md, the output contract): ``alert_id``, ``person_id``, ``subject_id``
(empty for person-level alerts), ``rule``, ``score``, ``first_ts``, ``last_ts``, ``event_ids``
(space-separated), ``summary``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

import pyarrow as pa

from custodes.detect.rules import RULES, by_name

EXPORT_COLUMNS = (
    "alert_id",
    "person_id",
    "subject_id",
    "rule",
    "score",
    "first_ts",
    "last_ts",
    "event_ids",
    "summary",
)


def group_signals(db: Any, signals: pa.Table) -> pa.Table:
    """Alerts from signals (DuckDB does the grouping; the sentences are made here)."""
    db.register("_signals", signals)
    try:
        rows = db.execute(
            """
            WITH s AS (
                SELECT *, CASE WHEN rule IN (SELECT unnest($per_subject)) THEN subject_id
                          END AS alert_subject,
                          CASE WHEN rule IN (SELECT unnest($per_subject)) THEN NULL
                               ELSE CAST(ts AS DATE) END AS alert_day
                FROM _signals
            )
            SELECT rule, person_id, alert_subject AS subject_id, alert_day,
                   count(DISTINCT event_id) AS n, min(ts) AS first_ts, max(ts) AS last_ts,
                   string_agg(DISTINCT event_id, ' ' ORDER BY event_id) AS event_ids,
                   min(detail) AS detail
            FROM s GROUP BY ALL ORDER BY rule, person_id, subject_id, alert_day
            """,
            {"per_subject": [r.name for r in RULES if r.per_subject]},
        ).fetchall()
    finally:
        db.unregister("_signals")
    alerts = [_alert(*row) for row in rows]
    alerts.sort(key=lambda a: (-a["score"], a["first_ts"], a["alert_id"]))
    schema = pa.schema(
        [
            ("alert_id", pa.string()),
            ("person_id", pa.string()),
            ("subject_id", pa.string()),
            ("rule", pa.string()),
            ("family", pa.string()),
            ("score", pa.float64()),
            ("first_ts", pa.timestamp("us", tz="UTC")),
            ("last_ts", pa.timestamp("us", tz="UTC")),
            ("events", pa.int64()),
            ("event_ids", pa.string()),
            ("summary", pa.string()),
            ("evidence", pa.string()),
        ]
    )
    return pa.Table.from_pylist(alerts, schema=schema)


def _alert(
    rule_name: str,
    person: str,
    subject: str | None,
    day: Any,
    n: int,
    first: datetime,
    last: datetime,
    event_ids: str,
    detail: str | None,
) -> dict[str, Any]:
    rule = by_name(rule_name)
    first_event = event_ids.split(" ")[0]
    key = f"{rule_name}|{person}|{subject or ''}|{day or ''}|{first_event}"
    alert_id = "A" + hashlib.sha256(key.encode()).hexdigest()[:12]
    score = round(min(1.0, rule.score * (0.8 + 0.2 * min(n, 5) / 5)), 3)
    summary = rule.summary.format(
        person=person, subject=subject, n=n, first=first, last=last, detail=detail or ""
    )
    evidence = {
        "rule": rule_name,
        "looks_for": rule.looks_for,
        "signal": detail,
        "events": n,
    }
    return {
        "alert_id": alert_id,
        "person_id": person,
        "subject_id": subject,
        "rule": rule_name,
        "family": rule.family,
        "score": score,
        "first_ts": first,
        "last_ts": last,
        "events": n,
        "event_ids": event_ids,
        "summary": summary,
        "evidence": json.dumps(evidence, sort_keys=True),
    }
