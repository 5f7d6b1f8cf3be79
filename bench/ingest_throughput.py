"""Ingest throughput and peak memory, against the floor of a bare DuckDB CSV-to-Parquet copy.

    python bench/ingest_throughput.py --events-csv PATH [--reps 1]
    python bench/ingest_throughput.py --workforce 2000 --days 30 --seed 1

With ``--workforce``/``--days`` a synthetic force is generated first (under ``bench/out``). Each
measurement runs in its own process, so its peak RSS is that of the work alone. The floor is
``COPY (SELECT * FROM read_csv(events.csv)) TO 'x.parquet'`` on the same file in the same run;
the goal is ingest within 2x of it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"


def timed(command: list[str]) -> tuple[float, float]:
    """Run ``command``; return (seconds, peak RSS in MiB of the process)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}")
    return seconds, usage.ru_maxrss / 1024


def floor(events_csv: Path, work: Path) -> tuple[float, float]:
    target = work / "floor.parquet"
    copy = f"COPY (SELECT * FROM read_csv('{events_csv.as_posix()}')) TO '{target.as_posix()}'"
    script = f"import duckdb; duckdb.execute({copy!r})"
    result = timed([sys.executable, "-c", script])
    target.unlink(missing_ok=True)
    return result


def ingest(bundle: Path, home: Path) -> tuple[float, float]:
    shutil.rmtree(home, ignore_errors=True)
    return timed(
        [sys.executable, "-m", "custodes", "ingest", str(bundle), "--home", str(home), "--quiet"]
    )


def count_rows(events_csv: Path) -> int:
    import duckdb

    row = duckdb.execute(f"SELECT count(*) FROM read_csv('{events_csv.as_posix()}')").fetchone()
    return int(row[0]) if row else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events-csv", type=Path)
    parser.add_argument("--workforce", type=int)
    parser.add_argument("--days", type=int)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the generated bundle")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    work = OUT / "ingest-work"
    work.mkdir(parents=True, exist_ok=True)
    if args.events_csv is None:
        bundle = OUT / f"force-{args.workforce}x{args.days}"
        if not (bundle / "access_events.csv").exists():
            command = [sys.executable, "-m", "custodes", "synth", "--out", str(bundle)]
            command += ["--workforce", str(args.workforce), "--days", str(args.days)]
            command += ["--seed", str(args.seed), "--quiet"]
            subprocess.run(command, check=True)
        events_csv = bundle / "access_events.csv"
    else:
        events_csv = args.events_csv
    # Ingest of the events file alone, so that it is compared with the floor on the same input.
    events_only = work / "events-bundle"
    events_only.mkdir(exist_ok=True)
    link = events_only / "access_events.csv"
    link.unlink(missing_ok=True)
    link.symlink_to(events_csv.resolve())
    rows = count_rows(events_csv)
    size = events_csv.stat().st_size
    results = []
    for rep in range(args.reps):
        floor_s, floor_rss = floor(events_csv, work)
        ingest_s, ingest_rss = ingest(events_only, work / "home")
        results.append(
            {
                "rep": rep,
                "events": rows,
                "csv_bytes": size,
                "floor_seconds": round(floor_s, 2),
                "floor_rows_per_s": round(rows / floor_s),
                "floor_peak_rss_mib": round(floor_rss),
                "ingest_seconds": round(ingest_s, 2),
                "ingest_events_per_s": round(rows / ingest_s),
                "ingest_peak_rss_mib": round(ingest_rss),
                "ratio_to_floor": round(ingest_s / floor_s, 2),
            }
        )
        print(json.dumps(results[-1]), flush=True)
    shutil.rmtree(work, ignore_errors=True)
    if args.events_csv is None and not args.keep:
        shutil.rmtree(OUT / f"force-{args.workforce}x{args.days}", ignore_errors=True)


if __name__ == "__main__":
    main()
