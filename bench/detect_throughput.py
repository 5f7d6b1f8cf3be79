"""Detection throughput and peak memory, against the floor of a bare DuckDB join.

    python bench/detect_throughput.py --events-csv bench/out/force-20000x22/access_events.csv \\
        --bundle bench/out/force-20000x22

The bundle is ingested into a fresh store (timed, with its peak RSS, when the store is new; see
ingest_throughput.py for the ingest benchmark proper), then, each
in its own process so that peak RSS is its own: ``custodes detect`` (link, explain, detect) and
the floor, a bare DuckDB join of the same stored events to assignments (on person, then the
assignment's time window) with a group-by per person and day, in the same run. Prints one JSON object.
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
FLOOR = """
import sys
from pathlib import Path
from custodes.store import open_store
with open_store(Path(sys.argv[1])) as store:
    store.db.execute('''
        SELECT e.person_id, CAST(e.ts AS DATE) AS day, count(*) AS assigned_events
        FROM access_events e JOIN assignments a ON a.person_id = e.person_id
        WHERE e.ts >= a.start AND (a."end" IS NULL OR e.ts <= a."end")
        GROUP BY ALL
    ''').fetchall()
"""


def timed(command: list[str]) -> tuple[float, float, str]:
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    out = process.stdout.read() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(command)}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--home", type=Path, default=OUT / "detect-home")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument(
        "--engine",
        choices=("duckdb", "spark"),
        default="duckdb",
        help="spark: PySpark in local mode on this machine's cores (memory: set "
        "PYSPARK_SUBMIT_ARGS='--driver-memory 12g pyspark-shell')",
    )
    parser.add_argument("--spark-master", default=f"local[{os.cpu_count()}]")
    args = parser.parse_args()
    ingested: dict[str, float] = {}
    if not (args.home / "catalog.sqlite").exists():
        shutil.rmtree(args.home, ignore_errors=True)
        ingest_s, ingest_rss, _ = timed(
            [
                *(sys.executable, "-m", "custodes", "ingest", str(args.bundle)),
                *("--home", str(args.home), "--quiet"),
            ]
        )
        ingested = {"ingest_seconds": round(ingest_s, 1), "ingest_peak_rss_mib": round(ingest_rss)}
    shutil.rmtree(args.home / "derived", ignore_errors=True)
    floor_s, floor_rss, _ = timed([sys.executable, "-c", FLOOR, str(args.home)])
    detect_s, detect_rss, report = timed(
        [
            *(sys.executable, "-m", "custodes", "detect", "--home", str(args.home), "--json"),
            *("--full", "--engine", args.engine, "--spark-master", args.spark_master),
        ]
    )
    data = json.loads(report)
    print(
        json.dumps(
            {
                "engine": args.engine,
                "events": data["events"],
                "floor_seconds": round(floor_s, 1),
                "floor_peak_rss_mib": round(floor_rss),
                "detect_seconds": round(detect_s, 1),
                "detect_phases": data["seconds"],
                "detect_peak_rss_mib": round(detect_rss),
                "ratio_to_floor": round(detect_s / floor_s, 2),
                "explained": data["explained"],
                "alerts": data["alerts"],
                **ingested,
            }
        )
    )
    if not args.keep:
        shutil.rmtree(args.home, ignore_errors=True)


if __name__ == "__main__":
    main()
