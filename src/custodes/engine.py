"""The engine seam: explanation and detection are Ibis expressions, run by a chosen backend.

The embedded default is DuckDB over the store's Parquet (the store's own connection, whose views
are the tables: ``access_events``, ``assignments``, ...). The same expressions run on PySpark,
for a force or a national body that outgrows one machine: :func:`spark_backend` gives Spark the
same tables, read from the same committed Parquet files, with the same meaning (the newest
version of each reference row; lawfully erased events left out). Nothing above this module knows
which engine runs it.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from custodes.bundle.contract import TABLES, Table
from custodes.errors import CustodesError
from custodes.store.store import Store

STAGING_COLUMNS = ("_problem_column", "_problem", "_raw", "_nl")


ANALYSIS_MEMORY_FRACTION = 0.5
"""The share of the machine's memory DuckDB may use to explain and detect over the whole store.

The store's connection is kept to 1 GB for ingest (whose peak RSS has a goal), and most of the
analysis spills to disk within that; but at 100 M events some of its operators could not
(explanation's first tier stopped with DuckDB out of memory at 1 GB, having spilled over 30 GB).
Half the machine leaves the rest to the operating system's cache of the Parquet files. (Linkage
has its own connection and limit: :data:`custodes.link.run.WORK_MEMORY_LIMIT`.)"""


def duckdb_backend(store: Store, *, whole_store: bool = False) -> BaseBackend:
    """An Ibis backend over the store's DuckDB connection (its views are the tables). For an
    analysis of the ``whole_store`` (``custodes detect``), DuckDB may use
    :data:`ANALYSIS_MEMORY_FRACTION` of the machine's memory; questions about one event or one
    subject (also asked by the web server's many threads) keep the store's limit."""
    if whole_store:
        mebibytes = int(physical_memory() * ANALYSIS_MEMORY_FRACTION) >> 20
        store.db.execute(f"SET memory_limit = '{max(mebibytes, 1024)}MiB'")
    return ibis.duckdb.from_connection(store.db)


def _calendar_function(name: str, returns: dt.DataType) -> Any:
    """The store connection's macro ``name`` as an Ibis function of one UTC timestamp."""

    def stub(ts: Any) -> Any: ...

    signature = ((dt.Timestamp(timezone="UTC"),), returns)
    return ibis.udf.scalar.builtin(stub, name=name, signature=signature)


_duckdb_utc_day = _calendar_function("custodes_utc_day", dt.date)
_duckdb_utc_hour = _calendar_function("custodes_utc_hour", dt.int64)


def utc_day(con: BaseBackend, ts: ir.TimestampValue) -> ir.DateValue:
    """The UTC date of ``ts`` (every engine runs in UTC). On DuckDB, the store connection's
    arithmetic macro (see :data:`custodes.store.store.UTC_CALENDAR_MACROS`), not a cast
    through ICU's calendar."""
    if con.name == "duckdb":
        day: ir.DateValue = _duckdb_utc_day(ts)
        return day
    return ts.date()


def utc_hour(con: BaseBackend, ts: ir.TimestampValue) -> ir.IntegerValue:
    """The UTC hour of ``ts``, 0 to 23 (as :func:`utc_day`)."""
    if con.name == "duckdb":
        hour: ir.IntegerValue = _duckdb_utc_hour(ts)
        return hour
    return ts.hour().cast("int64")


def physical_memory() -> int:
    """The machine's memory, in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def spark_session(master: str = "local[2]", app: str = "custodes") -> Any:
    """A Spark session set up as Custodes needs it (UTC). In local mode, small shuffles, no
    web UI, and the warehouse and scratch tables in a temporary directory, not the current one.
    On a cluster, everything else (memory, shuffle partitions, the UI) is left to Spark's own
    configuration (``spark-defaults.conf``, ``PYSPARK_SUBMIT_ARGS``): settings made here would
    override the cluster's."""
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    builder = SparkSession.builder.master(master).appName(app)
    builder = builder.config("spark.sql.session.timeZone", "UTC")
    # Linkage's string similarities (Jaro-Winkler, Damerau-Levenshtein) are Scala functions in
    # a jar Splink ships; Spark sends it to the executors.
    builder = builder.config("spark.jars", similarity_jar_location())
    if master.startswith("local"):
        builder = (
            builder.config("spark.sql.shuffle.partitions", "8")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="custodes-spark-"))
        )
    return builder.getOrCreate()


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
    return _checkpointing_backend()().connect(session)


SCRATCH_CONF = "custodes.scratch.dir"


def _checkpointing_backend() -> type[BaseBackend]:
    """Ibis's PySpark backend, with ``cache()`` writing the table out and reading it back.

    Ibis caches a table on Spark as a cached temporary view, which keeps the whole logical plan
    behind it: explaining tier by tier (each tier reads what the previous ones explained) then
    hands Spark's optimiser plans that double with every tier, until the driver runs out of
    memory on a few thousand rows. (A local checkpoint forgets the plan but trips Spark's
    optimiser when one checkpoint is read twice in a query.) Parquet under the scratch
    directory (Spark conf ``custodes.scratch.dir``; by default beside the warehouse, which on a
    cluster is shared storage) keeps the data and forgets the plan, as DuckDB's cached tables
    do; it is deleted when Ibis drops the cached table.
    """
    from ibis.backends.pyspark import Backend

    assert ibis.pyspark is not None  # loading the backend registers its options

    class ScratchBackend(Backend):  # type: ignore[misc]
        def _scratch(self, name: str) -> str:
            conf = self._session.conf
            root = conf.get(SCRATCH_CONF, None) or (
                conf.get("spark.sql.warehouse.dir").rstrip("/") + "/_custodes_scratch"
            )
            return f"{root}/{name}"

        def _create_cached_table(self, name: str, expr: Any) -> Any:
            path = self._scratch(name)
            self._session.sql(self.compile(expr)).write.mode("overwrite").parquet(path)
            frame = self._session.read.parquet(path)
            frame.createTempView(name)
            self._cached_dataframes[name] = frame
            return self.table(name)

        def _drop_cached_table(self, name: str) -> None:
            self._session.catalog.dropTempView(name)
            self._cached_dataframes.pop(name, None)
            jvm = self._session.sparkContext._jvm
            path = jvm.org.apache.hadoop.fs.Path(self._scratch(name))
            path.getFileSystem(self._session.sparkContext._jsc.hadoopConfiguration()).delete(
                path, True
            )

    return ScratchBackend


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
