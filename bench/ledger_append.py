"""One system event appended to a store's ledger: opening the store each time
(``record_actions``, what a command does) against a store kept open between appends
(``KeptAppender``, what the web server does).

    python bench/ledger_append.py --home bench/out/web-latency/sqlite-a1000000-c100000-s1/home

The appends go to a copy of HOME's catalog and ledger (``--work``), never to HOME itself.
Prints one JSON object: p50 and p90 in milliseconds of each way, over ``--appends`` appends.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from custodes.store.ledger import append_actions, record_actions
from custodes.store.store import KeptAppender

OUT = Path(__file__).resolve().parent / "out"
ACTION = ("investigator_read", {"view": "bench"})


def timed(append: Callable[[], object], count: int) -> dict[str, float]:
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        append()
        seconds.append(time.perf_counter() - started)
    cuts = statistics.quantiles(seconds, n=10)
    return {"p50_ms": round(cuts[4] * 1e3, 2), "p90_ms": round(cuts[8] * 1e3, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=OUT / "ledger-append")
    parser.add_argument("--appends", type=int, default=200)
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    shutil.copytree(
        args.home, args.work, ignore=shutil.ignore_patterns("store", "derived", "cases.sqlite*")
    )
    (args.work / "store").mkdir()
    kept = KeptAppender(args.work)

    def with_kept() -> object:
        with kept.open() as store:
            return append_actions(store, [ACTION])

    try:
        result = {
            "ledger_leaves": record_actions(args.work, [ACTION])[0].leaf_index + 1,
            "opening_the_store_each_time": timed(
                lambda: record_actions(args.work, [ACTION]), args.appends
            ),
            "kept_open": timed(with_kept, args.appends),
        }
    finally:
        kept.close()
        shutil.rmtree(args.work, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
