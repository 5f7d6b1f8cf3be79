"""The embedded store: Parquet files, a SQLite catalog of atomic batches, DuckDB views on top.

``ingest`` adds a bundle (and its events' leaves to the ledger); ``open_store`` reads (one
DuckDB view per table); ``store_status`` summarises. The ledger's store side: ``record`` (a
system event), ``issue_checkpoint``, ``receipt_for_event``, ``consistency``, ``audit`` (the full
verification) and ``erase_event`` (lawful erasure). See ``docs/store.md`` and ``docs/ledger.md``.
"""

from custodes.store.audit import AuditReport, Finding, audit
from custodes.store.catalog import Counts
from custodes.store.erase import ErasureReport, erase_event
from custodes.store.ingest import DEFAULT_BATCH_ROWS, FileReport, IngestReport, ingest
from custodes.store.leaves import LeafPool
from custodes.store.ledger import (
    consistency,
    issue_checkpoint,
    receipt_for_event,
    receipt_for_system_event,
    record,
)
from custodes.store.status import store_status
from custodes.store.store import Store, open_store, writer

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "AuditReport",
    "Counts",
    "ErasureReport",
    "FileReport",
    "Finding",
    "IngestReport",
    "LeafPool",
    "Store",
    "audit",
    "consistency",
    "erase_event",
    "ingest",
    "issue_checkpoint",
    "open_store",
    "receipt_for_event",
    "receipt_for_system_event",
    "record",
    "store_status",
    "writer",
]
