"""Score the system against a synthetic force's ground truth (``custodes evaluate``).

A synthetic force (:mod:`custodes.synth`) writes ``truth/`` beside its bundle: which events
were misuse (and of which scenario), which legitimate ones are hard to explain. Ingest and
detection never read it; this module does, after the fact, to measure:

* **explanation coverage** of legitimate events (goal: at least 99% explained), with the hard
  ones (noise) by kind;
* the **false-explanation rate** of misuse events (goal: at most 1% explained away), by
  scenario.

Alert recall and precision join these once detection lands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from custodes.bundle.validate import literal
from custodes.errors import CustodesError
from custodes.explain.run import RESULT


def evaluate_explanations(home: Path, truth: Path) -> dict[str, Any]:
    """Explanation coverage and false explanations, against ``truth`` (a synth ``truth/``)."""
    result = home / RESULT
    if not result.exists():
        raise CustodesError(f"{home}: no explanations yet (run `custodes explain --home {home}`)")
    for name in ("misuse_events.csv", "noise_events.csv"):
        if not (truth / name).exists():
            raise CustodesError(f"{truth}: no {name} (is this a synthetic force's truth/?)")
    db = duckdb.connect()
    db.execute(f"CREATE VIEW e AS SELECT * FROM read_parquet({literal(result.as_posix())})")
    db.execute(
        "CREATE VIEW m AS SELECT event_id, scenario FROM read_csv("
        f"{literal((truth / 'misuse_events.csv').as_posix())}, all_varchar = true)"
    )
    db.execute(
        "CREATE VIEW n AS SELECT event_id, kind FROM read_csv("
        f"{literal((truth / 'noise_events.csv').as_posix())}, all_varchar = true)"
    )
    rows = db.execute(
        """
        SELECT CASE WHEN m.event_id IS NOT NULL THEN 'misuse' ELSE 'legitimate' END AS class,
               coalesce(m.scenario, n.kind) AS kind,
               count(*) AS events,
               count(*) FILTER (WHERE e.explanation <> 'unexplained') AS explained
        FROM e LEFT JOIN m USING (event_id) LEFT JOIN n USING (event_id)
        GROUP BY ALL ORDER BY ALL
        """
    ).fetchall()
    out: dict[str, Any] = {}
    for cls in ("legitimate", "misuse"):
        mine = [r for r in rows if r[0] == cls]
        events = sum(r[2] for r in mine)
        explained = sum(r[3] for r in mine)
        out[cls] = {
            "events": events,
            "explained": explained,
            "share_explained": round(explained / events, 6) if events else None,
            "by_kind": {(r[1] or "ordinary"): {"events": r[2], "explained": r[3]} for r in mine},
        }
    out["goals"] = {
        "legitimate_explained_at_least": 0.99,
        "misuse_explained_at_most": 0.01,
    }
    return out
