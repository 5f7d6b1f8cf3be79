"""Quality and speed of record linkage on synthetic forces, measured against their truth.

For each (workforce, seed): generate a force (reference tables only matter; one day of events),
ingest it, link it, and compare ``person_links`` with ``truth/links.csv``. A link is correct when
(person_id, subject_id) is in the truth with the same relation. Undeclared ex-partners
(``declared = false``) have no HR row, so this linkage cannot find them: they are left out of
recall (and a link to one counts as a false positive, since nothing declared points at it).

    .venv/bin/python bench/link_quality.py --workforce 300 2000 --seeds 11 12
    .venv/bin/python bench/link_quality.py --workforce 20000 --seeds 5 --days 1

prints one JSON object per force: precision and recall overall, for self links, for declared
relations, per relation and per variant (a truth link with several variants counts under each),
and the seconds taken by each stage.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from custodes.link import link_people, save_links
from custodes.store import ingest, open_store
from custodes.synth import generate

VARIANTS = (
    "none",
    "nickname",
    "no_middle_name",
    "transposed_surname",
    "transposed_forename",
    "dob_day_month_swapped",
    "dob_missing",
    "surname_changed",
    "moved",
)


def score(links: Any, truth_csv: Path) -> dict[str, Any]:
    """Precision and recall of ``links`` (Arrow) against ``truth/links.csv``."""
    db = duckdb.connect()
    db.register("found", links)
    db.execute(
        f"CREATE TABLE truth AS SELECT subject_id, person_id, relation, declared = 'true' AS "
        f"declared, coalesce(nullif(variants, ''), 'none') AS variants "
        f"FROM read_csv('{truth_csv}', all_varchar = true)"
    )
    db.execute("""
        CREATE TABLE judged AS
        SELECT f.person_id, f.subject_id, f.relation, t.relation IS NOT NULL AS correct
        FROM found f LEFT JOIN truth t
          ON t.person_id = f.person_id AND t.subject_id = f.subject_id
         AND t.relation = f.relation AND t.declared
    """)
    db.execute("""
        CREATE TABLE recalled AS
        SELECT t.*, f.person_id IS NOT NULL AS found
        FROM truth t LEFT JOIN found f
          ON f.person_id = t.person_id AND f.subject_id = t.subject_id
         AND f.relation = t.relation
        WHERE t.declared
    """)

    def pr(where: str) -> dict[str, Any]:
        links, correct = db.sql(
            f"SELECT count(*), count_if(correct) FROM judged WHERE {where}"
        ).fetchone() or (0, 0)
        truths, found = db.sql(
            f"SELECT count(*), count_if(found) FROM recalled WHERE {where}"
        ).fetchone() or (0, 0)
        return {
            "links": links,
            "true": truths,
            "precision": round(correct / links, 4) if links else None,
            "recall": round(found / truths, 4) if truths else None,
        }

    relations = [r[0] for r in db.sql("SELECT DISTINCT relation FROM truth ORDER BY 1").fetchall()]
    by_variant = {}
    for variant in VARIANTS:
        truths, found = db.sql(
            "SELECT count(*), count_if(found) FROM recalled "
            f"WHERE list_contains(string_split(variants, ';'), '{variant}')"
        ).fetchone() or (0, 0)
        by_variant[variant] = {
            "true": truths,
            "recall": round(found / truths, 4) if truths else None,
        }
    undeclared = db.sql("SELECT count(*) FROM truth WHERE NOT declared").fetchone()
    return {
        "all": pr("true"),
        "self": pr("relation = 'self'"),
        "declared_relations": pr("relation <> 'self'"),
        "by_relation": {r: pr(f"relation = '{r}'") for r in relations},
        "recall_by_variant": by_variant,
        "undeclared_ex_partners_left_out": undeclared[0] if undeclared else 0,
    }


def measure(workforce: int, seed: int, days: int, root: Path) -> dict[str, Any]:
    bundle, home = root / f"force-{workforce}-{seed}", root / f"home-{workforce}-{seed}"
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    generate(bundle, workforce=workforce, days=days, seed=seed)
    seconds["generate"] = time.perf_counter() - started
    started = time.perf_counter()
    ingest(bundle, home)
    seconds["ingest"] = time.perf_counter() - started
    with open_store(home) as store:
        subjects = store.query("SELECT count(*) FROM subjects")[0][0]
        started = time.perf_counter()
        result = link_people(store)
        seconds["link"] = time.perf_counter() - started
    started = time.perf_counter()
    save_links(home, result)
    seconds["save"] = time.perf_counter() - started
    return {
        "workforce": workforce,
        "seed": seed,
        "subjects": subjects,
        "neighbours": result.summary()["neighbours"],
        "quality": score(result.person_links, bundle / "truth" / "links.csv"),
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workforce", type=int, nargs="+", default=[300, 2000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[11, 12])
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="folder for the forces and stores (kept)")
    args = parser.parse_args(argv)
    for workforce in args.workforce:
        for seed in args.seeds:
            if args.keep:
                report = measure(workforce, seed, args.days, args.keep)
            else:
                with tempfile.TemporaryDirectory(prefix="custodes-link-bench-") as root:
                    report = measure(workforce, seed, args.days, Path(root))
            print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
