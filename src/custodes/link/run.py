"""One linkage run: read the store, link people, find neighbours and colleagues, keep them."""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from custodes.link.colleagues import find_colleagues
from custodes.link.engine import Engine
from custodes.link.files import MODEL_FILE, TABLES, link_dir, read_tables, write_atomically
from custodes.link.people import score_pairs, select_links
from custodes.link.places import find_adjacent_sectors, find_neighbours
from custodes.link.prepare import copy_inputs, prepare
from custodes.store.store import Store, open_store

WORK_MEMORY_LIMIT = "4GB"


@dataclass(frozen=True)
class LinkResult:
    """The derived tables (Arrow) and the trained model they came from (Splink's JSON)."""

    person_links: pa.Table
    neighbours: pa.Table
    adjacent_sectors: pa.Table
    colleagues: pa.Table
    model: dict[str, Any] = field(default_factory=dict, repr=False)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        """Counts a person can read: links per relation, neighbours per kind, colleagues."""
        return {
            "person_links": _counts(self.person_links, "relation"),
            "neighbours": _counts(self.neighbours, "kind"),
            "adjacent_sectors": self.adjacent_sectors.num_rows,
            "colleagues": {
                "subjects": self.colleagues.num_rows,
                "linked": int(pc.sum(self.colleagues["linked"]).as_py() or 0),
                "flagged": int(pc.sum(self.colleagues["flagged"]).as_py() or 0),
            },
            "seconds": round(self.seconds, 3),
        }


def _counts(table: pa.Table, column: str) -> dict[str, int]:
    counts = table.group_by(column).aggregate([([], "count_all")]).to_pylist()
    return {str(row[column]): int(row["count_all"]) for row in sorted(counts, key=str)}


def link_people(store: Store, *, engine: Engine = "duckdb", spark: Any | None = None) -> LinkResult:
    """Link the store's current workforce and relations to its subjects (Splink), and derive
    neighbours and colleagues. Nothing is written; see :func:`save_links`.

    The work happens in a private DuckDB connection (its scratch files in a temporary
    directory), so Splink's tables never appear among the store's views. ``engine="spark"``
    runs the model on ``spark`` (a SparkSession; the active one if None).
    """
    started = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="custodes-link-"))
    work = duckdb.connect(
        config={
            "memory_limit": WORK_MEMORY_LIMIT,
            "temp_directory": str(scratch),
        }
    )
    work.execute("SET enable_progress_bar = false")  # a library does not draw on the terminal
    try:
        copy_inputs(store.db, work)
        prepare(work)
        model = score_pairs(work, engine, spark)
        links = select_links(work)
        neighbours = find_neighbours(work)
        sectors = find_adjacent_sectors(work)
        colleagues = find_colleagues(work, links)
    finally:
        work.close()
        shutil.rmtree(scratch, ignore_errors=True)
    elapsed = time.perf_counter() - started
    return LinkResult(links, neighbours, sectors, colleagues, model, elapsed)


def save_links(home: Path, result: LinkResult) -> list[Path]:
    """Write the result under ``HOME/derived/link/``, each file atomically; returns the paths."""
    folder = link_dir(home)
    paths = []
    for name in TABLES:
        path = folder / f"{name}.parquet"
        write_atomically(path, getattr(result, name))
        paths.append(path)
    write_atomically(folder / MODEL_FILE, result.model)
    return [*paths, folder / MODEL_FILE]


def load_links(home: Path) -> LinkResult:
    """The links last saved for HOME (raises :class:`~custodes.errors.StoreError` if none)."""
    tables, model = read_tables(home)
    return LinkResult(**tables, model=model)


def link_home(home: Path, *, engine: Engine = "duckdb", spark: Any | None = None) -> LinkResult:
    """Link the store under HOME and save the result: what a CLI command would call."""
    with open_store(home) as store:
        result = link_people(store, engine=engine, spark=spark)
    save_links(home, result)
    return result
