"""Time the synthetic force generator at a given size and report events/s and peak memory.

    .venv/bin/python bench/synth_throughput.py --workforce 20000 --days 30

Writes to a temporary directory (removed afterwards unless ``--out`` is given) and prints one
line per measure, then the same figures as JSON for scripts.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from custodes.synth import generate


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (ru_maxrss is KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def folder_size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workforce", type=int, default=2000)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv")
    parser.add_argument("--out", type=Path, help="keep the bundle here instead of a temp folder")
    args = parser.parse_args(argv)

    out = args.out or Path(tempfile.mkdtemp(prefix="custodes-synth-"))
    try:
        began = time.perf_counter()
        summary = generate(
            out, workforce=args.workforce, days=args.days, seed=args.seed, fmt=args.format
        )
        seconds = time.perf_counter() - began
        figures = {
            "workforce": args.workforce,
            "days": args.days,
            "format": args.format,
            "events": summary.events,
            "seconds": round(seconds, 2),
            "events_per_second": round(summary.events / seconds),
            "peak_rss_mb": round(peak_rss_mb(), 1),
            "bundle_mb": round(folder_size_mb(out), 1),
        }
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)
    for name, value in figures.items():
        print(
            f"{name:>18}: {value:,}" if isinstance(value, int | float) else f"{name:>18}: {value}"
        )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
