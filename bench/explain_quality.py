"""Explanation quality on fresh synthetic forces: coverage of legitimate events, misuse explained.

    python bench/explain_quality.py --sizes 1000x14 2000x14 --seeds 101 202 303

For each size and seed: ``custodes synth`` -> ``ingest`` -> ``explain`` -> ``evaluate`` (the
ground truth is read only by the last step). Prints one JSON object per force, then the pooled
figures. The seeds here were not used to write the templates (those were 5, 8, 11, 21, 2718).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any


def one(size: str, seed: int, work: Path) -> dict[str, Any]:
    from custodes.evaluate import evaluate_explanations
    from custodes.explain import explain_store
    from custodes.store import ingest, open_store
    from custodes.synth import generate

    workforce, days = (int(x) for x in size.split("x"))
    bundle, home = work / f"{size}-{seed}" / "bundle", work / f"{size}-{seed}" / "home"
    generate(bundle, workforce=workforce, days=days, seed=seed)
    ingest(bundle, home)
    started = time.perf_counter()
    with open_store(home) as store:
        explain_store(store)
    seconds = time.perf_counter() - started
    scores = evaluate_explanations(home, bundle / "truth")
    shutil.rmtree(work / f"{size}-{seed}", ignore_errors=True)
    return {
        "size": size,
        "seed": seed,
        "explain_seconds": round(seconds, 1),
        "legitimate": scores["legitimate"]["events"],
        "legitimate_explained": scores["legitimate"]["share_explained"],
        "misuse": scores["misuse"]["events"],
        "misuse_explained": scores["misuse"]["explained"],
        "misuse_explained_share": scores["misuse"]["share_explained"],
        "noise": {
            kind: round(v["explained"] / v["events"], 3)
            for kind, v in scores["legitimate"]["by_kind"].items()
            if kind != "ordinary"
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["1000x14"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[101, 202, 303])
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="explain-quality-") as tmp:
        for size in args.sizes:
            for seed in args.seeds:
                results.append(one(size, seed, Path(tmp)))
                print(json.dumps(results[-1]), flush=True)
    legit = sum(r["legitimate"] for r in results)
    legit_explained = sum(r["legitimate"] * r["legitimate_explained"] for r in results)
    misuse = sum(r["misuse"] for r in results)
    misuse_explained = sum(r["misuse_explained"] for r in results)
    print(
        json.dumps(
            {
                "pooled_legitimate_explained": round(legit_explained / legit, 5),
                "pooled_misuse_explained": round(misuse_explained / misuse, 5),
                "misuse_events": misuse,
            }
        )
    )


if __name__ == "__main__":
    main()
