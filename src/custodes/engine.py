"""The engine seam: explanation and detection are Ibis expressions, run by a chosen backend.

The embedded default is DuckDB over the store's Parquet (the store's own connection, whose views
are the tables: ``access_events``, ``assignments``, ...). The same expressions run on PySpark,
for a force or a national body that outgrows one machine: :func:`spark_backend` gives Spark the
same tables, read from the same committed Parquet files, with the same meaning (the newest
version of each reference row; lawfully erased events left out). Nothing above this module knows
which engine runs it.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import ibis
from ibis.backends import BaseBackend

from custodes.bundle.contract import TABLES, Table
from custodes.errors import CustodesError
from custodes.store.store import Store

STAGING_COLUMNS = ("_problem_column", "_problem", "_raw", "_nl")


def duckdb_backend(store: Store) -> BaseBackend:
    """An Ibis backend over the store's DuckDB connection (its views are the tables)."""
    return ibis.duckdb.from_connection(store.db)


def spark_session(master: str = "local[2]", app: str = "custodes") -> Any:
    """A Spark session set up as Custodes needs it (UTC; small shuffles for local mode)."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master(master)
        .appName(app)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )


def spark_backend(
    store: Store, session: Any, derived: dict[str, Path] | None = None
) -> BaseBackend:
    """An Ibis backend on ``session`` with the store's tables (and ``derived`` Parquet files,
    by view name) registered as temporary views."""
    # PySpark 4.0 hands results to pandas 3 with a ``copy=`` argument pandas now deprecates;
    # nothing here can change that, and it is not the user's concern.
    from pandas.errors import Pandas4Warning

    for message in ("The copy keyword is deprecated", "The 'future.infer_string' option"):
        warnings.filterwarnings("ignore", message=message, category=Pandas4Warning)
    for table in TABLES:
        _spark_table(store, session, table).createOrReplaceTempView(table.name)
    for name, path in (derived or {}).items():
        session.read.parquet(str(path)).createOrReplaceTempView(name)
    return ibis.pyspark.connect(session)


def _spark_table(store: Store, session: Any, table: Table) -> Any:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    files = [str(f) for f in store.table_files(table.name)]
    if not files:
        raise CustodesError(f"the Spark engine needs every table; {table.name} is empty")
    frame = (
        session.read.option("basePath", str(store.table_dir(table.name)))
        .option("mergeSchema", "true")
        .parquet(*files)
    )
    frame = frame.drop(*[c for c in STAGING_COLUMNS if c in frame.columns])
    if table.immutable:
        return frame.filter(F.col("_salt").isNotNull()) if "_salt" in frame.columns else frame
    if table.key:
        newest = Window.partitionBy(*table.key).orderBy(F.col("_batch").desc())
        frame = frame.withColumn("_n", F.row_number().over(newest))
        return frame.filter(F.col("_n") == 1).drop("_n")
    return frame
