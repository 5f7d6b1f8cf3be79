"""The force bundle: the input contract, finding its files, and validating its rows."""

from custodes.bundle.contract import BUNDLE_VERSION, INGEST_ORDER, TABLES, TABLES_BY_NAME, Table
from custodes.bundle.files import TableFile, find_tables

__all__ = [
    "BUNDLE_VERSION",
    "INGEST_ORDER",
    "TABLES",
    "TABLES_BY_NAME",
    "Table",
    "TableFile",
    "find_tables",
]
