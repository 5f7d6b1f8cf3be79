"""Where the links live: ``HOME/derived/link/``, beside the store and recomputable from it.

Each result is one Parquet file, written to a temporary name, synced and renamed into place, so
a reader sees the old file or the new one, never half of one. The trained model (Splink's JSON:
every level's m and u) is kept beside them: it is what the weights in the evidence mean.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from custodes.durable import fsync_path
from custodes.errors import StoreError

LINK_DIR = Path("derived") / "link"
TABLES = ("person_links", "neighbours", "adjacent_sectors", "colleagues")
MODEL_FILE = "model.json"


def link_dir(home: Path) -> Path:
    return home / LINK_DIR


def write_atomically(path: Path, data: pa.Table | dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if isinstance(data, pa.Table):
        pq.write_table(data, scratch)
    else:
        scratch.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    fsync_path(scratch)
    os.replace(scratch, path)
    fsync_path(path.parent)


def read_tables(home: Path) -> tuple[dict[str, pa.Table], dict[str, Any]]:
    """The stored tables and model; a one-line error if linkage never ran for this HOME."""
    folder = link_dir(home)
    missing = [name for name in TABLES if not (folder / f"{name}.parquet").exists()]
    if missing or not (folder / MODEL_FILE).exists():
        raise StoreError(f"{home}: no links computed yet (run the linkage for this store first)")
    tables = {name: pq.read_table(folder / f"{name}.parquet") for name in TABLES}
    model = json.loads((folder / MODEL_FILE).read_text(encoding="utf-8"))
    return tables, model
