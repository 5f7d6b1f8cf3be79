"""Copying detection's alerts into the case database, where investigators triage them.

Detection rewrites ``HOME/derived/detect/alerts.parquet`` on every run; the case database keeps
what people decided. So a sync, by ``alert_id``:

* inserts alerts it has not seen, as ``new``;
* refreshes alerts that are still ``new`` when detection now says something different (more
  events, a new score), bumping their version so a triage based on the old evidence conflicts;
* never touches an alert someone has triaged: it stays what the investigator saw and decided on.

Alerts that detection no longer raises (suppressed since, or data corrected) stay in the queue
as they were; the report counts them. The sync works in chunks of :data:`CHUNK` alerts, each its
own short transaction, so investigators can keep working while a large sync runs; the chunks
are idempotent, so an interrupted sync is finished by running it again. One ledger leaf
(``alert_sync``) records each completed sync, with the SHA-256 of the alerts file it read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, cast

from sqlalchemy import Table, bindparam, func, insert, select, update

from custodes.cases.db import CaseDb
from custodes.cases.models import Alert
from custodes.detect.run import ALERTS, load_alerts
from custodes.store.ledger import record_actions

CHUNK: Final = 2_000
DETECTED: Final = (
    "person_id",
    "subject_id",
    "rule",
    "family",
    "score",
    "first_ts",
    "last_ts",
    "event_ids",
    "summary",
    "evidence",
)
"""The columns detection owns: refreshed while an alert is ``new``."""


@dataclass(frozen=True)
class SyncReport:
    alerts: int  # raised by detection now (suppressed ones are not)
    inserted: int
    refreshed: int  # still new, and detection's view of them changed
    unchanged: int  # still new, nothing changed
    kept: int  # triaged already: left as the investigator saw them
    no_longer_raised: int  # new in the queue, but not raised by this detection run
    leaf: int  # the ledger leaf of the sync

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def utc(value: datetime) -> datetime:
    """A time from either database as an aware UTC datetime (SQLite hands back naive ones)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sync_alerts(db: CaseDb, home: Path | None = None, *, by: str = "system") -> SyncReport:
    """Bring the case database's alerts up to date with detection's (see the module's doc)."""
    home = home or db.home
    table = load_alerts(home)
    digest = hashlib.sha256((home / ALERTS).read_bytes()).hexdigest()
    counts = {"inserted": 0, "refreshed": 0, "unchanged": 0, "kept": 0}
    seen: set[str] = set()
    for chunk in _chunks(table.select(["alert_id", *DETECTED]).to_pylist()):
        seen.update(row["alert_id"] for row in chunk)
        for key, value in _sync_chunk(db, chunk).items():
            counts[key] += value
    if counts["inserted"]:
        _analyze(db)
    with db.session() as session:
        new_ids = session.scalars(select(Alert.alert_id).where(Alert.state == "new"))
        gone = sum(1 for alert_id in new_ids if alert_id not in seen)
        total = session.scalar(select(func.count()).select_from(Alert)) or 0
    (event,) = record_actions(
        home,
        [
            (
                "alert_sync",
                {
                    "user": by,
                    "alerts_sha256": digest,
                    "alerts": table.num_rows,
                    **counts,
                    "no_longer_raised": gone,
                    "in_case_db": total,
                },
            )
        ],
    )
    return SyncReport(table.num_rows, **counts, no_longer_raised=gone, leaf=event.leaf_index)


def _analyze(db: CaseDb) -> None:
    """Refresh the query planner's statistics on the alerts: without them SQLite picks the
    score index for a filter by person and reads the whole queue (seconds, not milliseconds,
    at a million alerts)."""
    with db.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE alerts")


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def _sync_chunk(db: CaseDb, rows: list[dict[str, Any]]) -> dict[str, int]:
    counts = {"inserted": 0, "refreshed": 0, "unchanged": 0, "kept": 0}
    now = datetime.now(UTC)
    with db.session() as session:
        if session.get_bind().dialect.name == "sqlite":
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        ids = [row["alert_id"] for row in rows]
        stored = {
            r.alert_id: r
            for r in session.execute(
                select(Alert.alert_id, Alert.state, Alert.version, *_columns()).where(
                    Alert.alert_id.in_(ids)
                )
            )
        }
        inserts, updates = [], []
        for row in rows:
            have = stored.get(row["alert_id"])
            if have is None:
                inserts.append({**row, "state": "new", "detected_at": now, "version": 1})
            elif have.state != "new":
                counts["kept"] += 1
            elif _differs(row, have._mapping):
                updates.append({**{f"new_{k}": row[k] for k in DETECTED}, **_keys(have)})
            else:
                counts["unchanged"] += 1
        if inserts:
            session.execute(insert(Alert), inserts)
        if updates:
            statement = (
                update(cast(Table, Alert.__table__))
                .where(
                    Alert.alert_id == bindparam("key_id"),
                    Alert.version == bindparam("key_version"),
                    Alert.state == "new",
                )
                .values(
                    {k: bindparam(f"new_{k}") for k in DETECTED} | {"version": Alert.version + 1}
                )
            )
            session.connection().execute(statement, updates)
        counts["inserted"] = len(inserts)
        counts["refreshed"] = len(updates)
    return counts


def _columns() -> list[Any]:
    return [getattr(Alert, name) for name in DETECTED]


def _keys(have: Any) -> dict[str, Any]:
    return {"key_id": have.alert_id, "key_version": have.version}


def _differs(row: dict[str, Any], have: Any) -> bool:
    for name in DETECTED:
        mine, theirs = row[name], have[name]
        if isinstance(mine, datetime) and isinstance(theirs, datetime):
            if utc(mine) != utc(theirs):
                return True
        elif mine != theirs:
            return True
    return False
