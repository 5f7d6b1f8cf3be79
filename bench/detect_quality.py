"""Detection quality on fresh synthetic forces: `custodes evaluate` over several seeds and sizes.

    python bench/detect_quality.py --sizes 2000x30 --seeds 7001 7002 7003 --misuse-scale 0.5

For each force: ``synth`` -> ``ingest`` -> ``detect`` (link, explain, detect) -> ``evaluate``
(only this last step reads the ground truth). Prints one JSON object per force and the pooled
figures. None of these seeds was used while writing the templates or the rules.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any


def one(size: str, seed: int, scale: float, work: Path) -> dict[str, Any]:
    from custodes.detect import detect_home
    from custodes.evaluate import evaluate_alerts, evaluate_explanations
    from custodes.store import ingest
    from custodes.synth import generate

    workforce, days = (int(x) for x in size.split("x"))
    root = work / f"{size}-{seed}"
    bundle, home = root / "bundle", root / "home"
    generate(bundle, workforce=workforce, days=days, seed=seed, misuse_scale=scale)
    ingest(bundle, home)
    started = time.perf_counter()
    report = detect_home(home)
    seconds = time.perf_counter() - started
    explained = evaluate_explanations(home, bundle / "truth")
    alerts = evaluate_alerts(home, bundle / "truth")
    shutil.rmtree(root, ignore_errors=True)
    return {
        "size": size,
        "seed": seed,
        "misuse_scale": scale,
        "events": report.events,
        "detect_seconds": round(seconds, 1),
        "legitimate_explained": explained["legitimate"]["share_explained"],
        "misuse_events": explained["misuse"]["events"],
        "misuse_explained": explained["misuse"]["explained"],
        "instances": alerts["instances"],
        "found": alerts["found"],
        "missed": {
            k: v["instances"] - v["found"]
            for k, v in alerts["recall_by_scenario"].items()
            if v["found"] < v["instances"]
        },
        "alerts": alerts["alerts"],
        "true_positive_alerts": alerts["true_positive_alerts"],
        "false_positive_rules": {
            k: v["alerts"] - v["true_positive"]
            for k, v in alerts["by_rule"].items()
            if v["alerts"] > v["true_positive"]
        },
        "alerts_per_1000_workforce_per_day": alerts["alerts_per_1000_workforce_per_day"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["1000x14"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[7001, 7002, 7003])
    parser.add_argument("--misuse-scale", type=float, default=1.0)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="detect-quality-") as tmp:
        for size in args.sizes:
            for seed in args.seeds:
                results.append(one(size, seed, args.misuse_scale, Path(tmp)))
                print(json.dumps(results[-1]), flush=True)
    instances = sum(r["instances"] for r in results)
    found = sum(r["found"] for r in results)
    alerts = sum(r["alerts"] for r in results)
    true_positive = sum(r["true_positive_alerts"] for r in results)
    print(
        json.dumps(
            {
                "pooled_recall": round(found / instances, 4),
                "pooled_precision": round(true_positive / alerts, 4) if alerts else None,
                "pooled_misuse_explained": round(
                    sum(r["misuse_explained"] for r in results)
                    / sum(r["misuse_events"] for r in results),
                    4,
                ),
                "mean_alerts_per_1000_per_day": round(
                    sum(r["alerts_per_1000_workforce_per_day"] for r in results) / len(results), 3
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
