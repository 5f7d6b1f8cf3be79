"""The engine seam: explanation and detection are Ibis expressions, run by a chosen backend.

The embedded default is DuckDB over the store's Parquet (the store's own connection, whose views
are the tables: ``access_events``, ``assignments``, ...). The same expressions compile to PySpark
for a force, or a national body, that outgrows one machine. Nothing above this module knows which
engine runs it.
"""

from __future__ import annotations

import ibis
from ibis.backends import BaseBackend

from custodes.store.store import Store


def duckdb_backend(store: Store) -> BaseBackend:
    """An Ibis backend over the store's DuckDB connection (its views are the tables)."""
    return ibis.duckdb.from_connection(store.db)
