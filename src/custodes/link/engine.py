"""Which engine runs the Splink model: DuckDB (the default, in process) or Spark (for scale).

Preparing the inputs and reading the predictions back stay in a private DuckDB connection; only
the model (training and scoring pairs, the expensive part) moves to the chosen engine, through
Splink's own backends. Spark is imported only when asked for.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import duckdb
import pyarrow as pa
from splink import DuckDBAPI
from splink.internals.database_api import DatabaseAPI
from splink.internals.splink_dataframe import SplinkDataFrame

Engine = Literal["duckdb", "spark"]
ENGINES: tuple[Engine, ...] = ("duckdb", "spark")


class ModelEngine:
    """Splink's database API for one run, and the two ways data crosses to and from it."""

    def __init__(
        self, engine: Engine, work: duckdb.DuckDBPyConnection, spark: Any | None = None
    ) -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}; expected one of: {', '.join(ENGINES)}")
        self.engine = engine
        self.work = work
        self.spark = spark
        self.api: DatabaseAPI[Any]
        if engine == "duckdb":
            # Splink works in the same connection, so its tables are visible to our SQL.
            self.api = DuckDBAPI(work)
        else:
            from pyspark.sql import SparkSession
            from splink import SparkAPI
            from splink.backends.spark import similarity_jar_location

            # Splink's string similarities (Jaro-Winkler, Damerau-Levenshtein) are Scala UDFs
            # in a jar it ships; a session made elsewhere must load it too (spark.jars).
            builder = SparkSession.builder.config("spark.jars", similarity_jar_location())
            self.spark = spark or builder.getOrCreate()
            if self.spark.sparkContext.getCheckpointDir() is None:
                # Splink checkpoints to cut long query plans; a session needs somewhere to.
                checkpoints = tempfile.mkdtemp(prefix="custodes-spark-")
                self.spark.sparkContext.setCheckpointDir(checkpoints)
            self.api = SparkAPI(spark_session=self.spark)  # type: ignore[no-untyped-call]

    def register(self, table: str, name: str) -> SplinkDataFrame:
        """Hand a table of the work connection to Splink under ``name``."""
        if self.engine == "duckdb":
            return self.api.register(table, dataset_display_name=name)
        arrow = self.work.sql(f"SELECT * FROM {table}").to_arrow_table()
        assert self.spark is not None
        frame = self.spark.createDataFrame(arrow)  # Spark 4 takes Arrow tables
        return self.api.register(frame, dataset_display_name=name)

    def fetch(self, frame: SplinkDataFrame, table: str) -> None:
        """Copy Splink's output ``frame`` into the work connection as ``table``."""
        if self.engine == "duckdb":
            self.work.execute(
                f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {frame.physical_name}"
            )
            return
        arrow: pa.Table = frame.as_spark_dataframe().toArrow()
        self.work.register("_arrow_fetch", arrow)
        self.work.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM _arrow_fetch")
        self.work.unregister("_arrow_fetch")


@contextmanager
def quiet_splink(level: int = logging.ERROR) -> Iterator[None]:
    """Raise the ``splink`` logger's level for the duration: Splink reports training progress
    and untrained levels (a level no pair reached, such as two surnames merely similar) as
    warnings, which are noise in a batch job; errors still show."""
    logger = logging.getLogger("splink")
    before = logger.level
    logger.setLevel(max(level, before))
    try:
        yield
    finally:
        logger.setLevel(before)
