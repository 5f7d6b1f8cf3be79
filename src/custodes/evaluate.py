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

import json
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


def evaluate_alerts(home: Path, truth: Path) -> dict[str, Any]:
    """Alerts against the planted misuse: instance recall per scenario, alert precision, and
    alert volume per 1,000 workforce per day.

    An instance is found when some alert holds one of its misuse events; an alert is a true
    positive when it holds at least one misuse event.
    """
    from custodes.detect.run import ALERTS

    alerts = home / ALERTS
    if not alerts.exists():
        raise CustodesError(f"{home}: no alerts yet (run `custodes detect --home {home}`)")
    manifest = json.loads((truth / "manifest.json").read_text())["parameters"]
    db = duckdb.connect()
    db.execute(
        f"CREATE VIEW a AS SELECT * FROM read_parquet({literal(alerts.as_posix())}) "
        "WHERE suppressed_by IS NULL"
    )
    db.execute(
        "CREATE VIEW ae AS SELECT alert_id, rule, unnest(string_split(event_ids, ' ')) AS event_id "
        "FROM a"
    )
    db.execute(
        "CREATE VIEW m AS SELECT event_id, scenario, instance_id FROM read_csv("
        f"{literal((truth / 'misuse_events.csv').as_posix())}, all_varchar = true)"
    )
    db.execute(
        "CREATE VIEW i AS SELECT instance_id, scenario FROM read_csv("
        f"{literal((truth / 'scenarios.csv').as_posix())}, all_varchar = true)"
    )
    per_scenario = db.execute(
        """
        SELECT i.scenario, count(*) AS instances,
               count(*) FILTER (WHERE i.instance_id IN (
                   SELECT m.instance_id FROM m JOIN ae USING (event_id))) AS found
        FROM i GROUP BY 1 ORDER BY 1
        """
    ).fetchall()
    (total,) = db.execute("SELECT count(*) FROM a").fetchone() or (0,)
    (true_positive,) = db.execute(
        "SELECT count(DISTINCT alert_id) FROM ae JOIN m USING (event_id)"
    ).fetchone() or (0,)
    by_rule = db.execute(
        """
        SELECT a.rule, count(*) AS alerts,
               count(*) FILTER (WHERE a.alert_id IN (
                   SELECT alert_id FROM ae JOIN m USING (event_id))) AS true_positive
        FROM a GROUP BY 1 ORDER BY 1
        """
    ).fetchall()
    instances = sum(r[1] for r in per_scenario)
    found = sum(r[2] for r in per_scenario)
    workforce, days = int(manifest["workforce"]), int(manifest["days"])
    return {
        "instances": instances,
        "found": found,
        "recall": round(found / instances, 4) if instances else None,
        "recall_by_scenario": {
            s: {"instances": n, "found": f, "recall": round(f / n, 4)} for s, n, f in per_scenario
        },
        "alerts": total,
        "true_positive_alerts": true_positive,
        "precision": round(true_positive / total, 4) if total else None,
        "by_rule": {r: {"alerts": n, "true_positive": tp} for r, n, tp in by_rule},
        "alerts_per_1000_workforce_per_day": round(total / (workforce / 1000) / days, 3),
        "goals": {
            "recall_at_least": 0.95,
            "recall_per_scenario_at_least": 0.9,
            "precision_at_least": 0.8,
            "alerts_per_1000_per_day_at_most": 1.0,
        },
    }
