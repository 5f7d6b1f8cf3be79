"""Finding a few stored access events by id without reading the whole store.

A case page shows the events its case cites, an alert's evidence the events it names: a dozen
ids among millions. A query over the ``access_events_versions`` view opens the footer of every
stored file and compares every id of every row group in range: at 10 M events (73 files) six
events took 50 to 110 ms. Yet each file holds a narrow range of ids, because events arrive in
time order with ids that grow with it, and a file's footer says which (its Parquet statistics).
So :func:`stored_events` keeps each file's range of ids, read once per file and process (a
stored file is never rewritten under the same name: an erasure writes a new one), and asks
DuckDB to read only the files whose range holds one of the ids, where it skips the row groups
in the same way. Where ids do not grow with time the ranges overlap and more files are read:
slower, never wrong. A file without statistics is always read.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any, Final

import pyarrow.parquet as pq

from custodes.store.store import Store, parquet_listing

ID_COLUMN: Final = "event_id"

_ANY: Final = ("", "")
"""The range of a file whose statistics do not say: it is always read."""

_ranges: dict[Path, tuple[str, str] | None] = {}
_ranges_lock = threading.Lock()


def id_range(path: Path) -> tuple[str, str] | None:
    """The lowest and highest ``event_id`` in a stored events file (``None``: it holds no rows;
    :data:`_ANY` when its statistics do not say)."""
    with _ranges_lock:
        if path in _ranges:
            return _ranges[path]
    found = _read_range(path)
    with _ranges_lock:
        _ranges[path] = found
    return found


def _read_range(path: Path) -> tuple[str, str] | None:
    meta = pq.read_metadata(path)
    names = meta.schema.names
    if ID_COLUMN not in names:
        return _ANY
    column = names.index(ID_COLUMN)
    lows, highs = [], []
    for group in range(meta.num_row_groups):
        chunk = meta.row_group(group)
        if chunk.num_rows == 0:
            continue
        stats = chunk.column(column).statistics
        if stats is None or not stats.has_min_max:
            return _ANY
        low, high = stats.min, stats.max
        if not isinstance(low, str) or not isinstance(high, str):
            return _ANY
        lows.append(low)
        highs.append(high)
    return (min(lows), max(highs)) if lows else None


def files_holding(files: Sequence[Path], event_ids: Collection[str]) -> list[Path]:
    """Those of ``files`` whose range of ids holds at least one of ``event_ids``."""
    chosen = []
    for path in files:
        found = id_range(path)
        if found is _ANY or (
            found is not None and any(found[0] <= i <= found[1] for i in event_ids)
        ):
            chosen.append(path)
    return chosen


def stored_events(store: Store, event_ids: Collection[str], columns: str) -> list[tuple[Any, ...]]:
    """``columns`` (SQL over the stored rows, e.g. ``event_id, ts, _salt IS NULL``) of the
    stored access events among ``event_ids``, lawfully erased ones included (their ``_salt``
    is NULL), in no particular order."""
    ids = sorted(set(event_ids))
    files = files_holding(store.table_files("access_events"), ids) if ids else []
    if not files:
        return []
    marks = ", ".join("?" for _ in ids)
    return store.query(
        f"SELECT {columns} FROM read_parquet({parquet_listing(files)}, "
        f"hive_partitioning = false, union_by_name = true) WHERE {ID_COLUMN} IN ({marks})",
        ids,
    )


def event_contents(
    store: Store, event_ids: Collection[str], fields: Sequence[str]
) -> list[tuple[Any, ...]]:
    """``fields`` (stored columns) of the events among ``event_ids`` whose content is still
    stored (lawfully erased ones left out), in time order. The erased are dropped here, not in
    the query: DuckDB would push ``_salt IS NOT NULL`` into the scan and decode the salt of
    every row in range."""
    rows = stored_events(store, event_ids, f"{', '.join(fields)}, ts, event_id, _salt IS NULL")
    kept = sorted((r for r in rows if not r[-1]), key=lambda r: (r[-3], r[-2]))
    return [r[:-3] for r in kept]
