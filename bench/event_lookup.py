"""Parquet row-group size against a lookup of a few events by id and a full scan, in DuckDB.

    python bench/event_lookup.py --events-csv bench/out/force-20000x22/access_events.csv

The first ``--rows`` events of the CSV are written with Arrow's default row groups (about a
million rows) and with smaller ones; for each file, the best of a few runs of: a lookup of ten
ids spread over the file (``event_id = ANY(?)``, as a case page reads its cited events) and a
group-by over every row (as detection scans). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

OUT = Path(__file__).resolve().parent / "out" / "event-lookup"


def best(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None, runs: int) -> float:
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        con.execute(sql, params).fetchall()
        seconds.append(time.perf_counter() - started)
    return round(min(seconds) * 1e3, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events-csv", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--sizes", type=int, nargs="*", default=[65_536, 32_768, 16_384])
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    events = con.sql(
        f"SELECT * FROM read_csv('{args.events_csv.as_posix()}') LIMIT {args.rows}"
    ).to_arrow_table()
    ids = events.column("event_id").to_pylist()[5 :: max(1, events.num_rows // 10)][:10]
    results = []
    for size in [None, *args.sizes]:
        path = OUT / f"events-{size or 'default'}.parquet"
        pq.write_table(events, path, row_group_size=size)
        source = f"read_parquet('{path.as_posix()}')"
        results.append(
            {
                "row_group_rows": size or "Arrow's default",
                "row_groups": pq.ParquetFile(path).metadata.num_row_groups,
                "lookup_of_10_ms": best(
                    con, f"SELECT * FROM {source} WHERE event_id = ANY(?)", [ids], 5
                ),
                "scan_ms": best(
                    con, f"SELECT person_id, count(*), max(ts) FROM {source} GROUP BY 1", None, 3
                ),
                "megabytes": round(path.stat().st_size / 1e6),
            }
        )
        path.unlink()
    print(json.dumps({"events": events.num_rows, "files": results}))


if __name__ == "__main__":
    main()
