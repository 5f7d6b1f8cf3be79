"""The embedded store: Parquet files, a SQLite catalog of atomic batches, DuckDB views on top.

``ingest`` adds a bundle; ``open_store`` reads (one DuckDB view per table); ``store_status``
summarises. See ``docs/store.md``.
"""

from custodes.store.catalog import Counts
from custodes.store.ingest import DEFAULT_BATCH_ROWS, FileReport, IngestReport, ingest
from custodes.store.status import store_status
from custodes.store.store import Store, open_store, writer

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "Counts",
    "FileReport",
    "IngestReport",
    "Store",
    "ingest",
    "open_store",
    "store_status",
    "writer",
]
