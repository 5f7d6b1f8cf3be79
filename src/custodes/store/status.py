"""What the store holds: per table, how many rows, over which dates, and the last reconciliation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from custodes.bundle.contract import TABLES, Kind, Table
from custodes.bundle.validate import ident
from custodes.store.store import Store


@dataclass(frozen=True)
class TableStatus:
    name: str
    rows: int  # current rows (newest version of each key)
    versions: int  # every stored row, older versions included
    date_column: str | None
    first: str | None
    last: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.name,
            "rows": self.rows,
            "versions": self.versions,
            "date_column": self.date_column,
            "first": self.first,
            "last": self.last,
        }


def _date_column(table: Table) -> str | None:
    """The column that places a row in time, if any (the first timestamp or required date)."""
    for column in table.columns:
        if column.kind is Kind.TIMESTAMP or (column.kind is Kind.DATE and column.required):
            return column.name
    return None


def table_status(store: Store, table: Table) -> TableStatus:
    column = _date_column(table)
    span = f", min({ident(column)})::VARCHAR, max({ident(column)})::VARCHAR" if column else ""
    row = store.query(f"SELECT count(*){span} FROM {table.name}")[0]
    versions = store.query(f"SELECT count(*) FROM {table.name}_versions")[0][0]
    first, last = (row[1], row[2]) if column else (None, None)
    return TableStatus(table.name, int(row[0]), int(versions), column, first, last)


def store_status(store: Store) -> dict[str, Any]:
    """Everything ``custodes status`` shows, as JSON-safe data."""
    tables = [table_status(store, t).to_dict() for t in TABLES]
    unknown = store.query("SELECT count(*) FROM access_events WHERE NOT person_known")[0][0]
    quarantined = store.query("SELECT count(*) FROM quarantine")[0][0]
    return {
        "home": str(store.home),
        "tables": tables,
        "events_by_unknown_person": int(unknown),
        "quarantined_rows": int(quarantined),
        "batches": store.catalog.committed_batch_count(),
        "last_ingest": store.catalog.last_run("ingest"),
        "ledger": ledger_status(store),
    }


def ledger_status(store: Store) -> dict[str, Any]:
    """The log's size, how much of it the newest checkpoint covers (what is signed), and what
    each witness last cosigned (kept by ``custodes ledger cosigned``)."""
    issued = store.catalog.checkpoints()
    identity = store.catalog.log_identity()
    last = issued[-1] if issued else None
    return {
        "size": store.catalog.ledger_size(),
        "log": identity[0] if identity else None,
        "checkpoints": len(issued),
        "last_checkpoint_size": last.size if last else None,
        "last_checkpoint_at": last.issued_at if last else None,
        "erasures": len(store.catalog.erasures()),
        "witnesses": [
            {
                "witness": c.witness,
                "key_id": c.key_id,
                "checkpoint": c.seq,
                "checkpoint_size": c.checkpoint_size,
                "cosigned_at": c.cosigned_at,
            }
            for c in store.catalog.cosignatures(latest_per_witness=True)
        ],
    }
