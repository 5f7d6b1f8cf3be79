"""Looking up a few events by id: Parquet row-group sizes, and a whole store.

    python bench/event_lookup.py --events-csv bench/out/force-20000x22/access_events.csv
    python bench/event_lookup.py --home bench/out/detect-home

With ``--events-csv``: the first ``--rows`` events of the CSV are written with Arrow's default
row groups (about a million rows) and with smaller ones; for each file, the best of a few runs
of: a lookup of ten ids spread over the file (``event_id = ANY(?)``) and a group-by over every
row (as detection scans).

With ``--home``: lookups in a real store as a case page makes them (``--lookups`` draws of a
case's cited events: ``--clusters`` runs of one to six consecutive events of one employee, as an
alert cites them), timed two ways in the same run: over the whole store's view
(``access_events_versions``, every file) and through ``custodes.store.locate`` (only the files
whose range of ids holds them). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
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
    parser.add_argument("--events-csv", type=Path)
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--sizes", type=int, nargs="*", default=[65_536, 32_768, 16_384])
    parser.add_argument("--home", type=Path, help="a store to look events up in")
    parser.add_argument("--lookups", type=int, default=50)
    parser.add_argument("--clusters", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.home:
        print(json.dumps(in_store(args.home, args.lookups, args.clusters, args.seed)))
        return
    if not args.events_csv:
        parser.error("give --events-csv or --home")
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


def in_store(home: Path, lookups: int, clusters: int, seed: int) -> dict[str, Any]:
    """Case-page lookups in the store under ``home``, over the whole view and located."""
    from custodes.store.locate import stored_events
    from custodes.store.store import open_store

    columns = "event_id, ts, person_id, action, system, subject_id, purpose, _salt IS NULL"
    rng = random.Random(seed)
    with open_store(home) as store:
        started = time.perf_counter()
        seeds = store.query(
            "SELECT person_id, ts FROM access_events_versions "
            f"USING SAMPLE {lookups * clusters} ROWS (reservoir, {seed})"
        )
        draws = []
        for at in range(0, len(seeds), clusters):
            ids: list[str] = []
            for person, ts in seeds[at : at + clusters]:  # a run of one employee's events
                n = rng.choice((1, 1, 2, 3, 4, 6))
                ids += [
                    row[0]
                    for row in store.query(
                        "SELECT event_id FROM access_events_versions WHERE person_id = ? "
                        "AND ts >= ? ORDER BY ts, event_id LIMIT ?",
                        [person, ts, n],
                    )
                ]
            draws.append(ids)
        prepared_s = time.perf_counter() - started
        whole_view = f"SELECT {columns} FROM access_events_versions WHERE event_id = ANY(?)"
        timings: dict[str, list[float]] = {"whole_view": [], "located": []}
        for ids in draws:  # alternate, so that both see the same cache and machine
            started = time.perf_counter()
            expected = sorted(store.query(whole_view, [ids]))
            timings["whole_view"].append(time.perf_counter() - started)
            started = time.perf_counter()
            found = sorted(stored_events(store, ids, columns))
            timings["located"].append(time.perf_counter() - started)
            if found != expected:
                raise SystemExit(f"the two lookups disagree for {ids}")
        files = len(store.table_files("access_events"))
        stored = store.query("SELECT count(*) FROM access_events_versions")[0][0]
    return {
        "events": stored,
        "files": files,
        "lookups": lookups,
        "ids_per_lookup_mean": round(sum(map(len, draws)) / len(draws), 1),
        "preparing_draws_s": round(prepared_s, 1),
        **{
            name: {
                "p50_ms": round(statistics.median(values) * 1e3, 1),
                "mean_ms": round(statistics.fmean(values) * 1e3, 1),
                "max_ms": round(max(values) * 1e3, 1),
            }
            for name, values in timings.items()
        },
    }


if __name__ == "__main__":
    main()
