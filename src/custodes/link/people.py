"""Employees and their declared relatives, linked to subject records with Splink.

Each person HR describes (an employee, relation ``self``, or a relative) is linked to the subject
record the model finds most likely to be them, if likelier than not
(:data:`~custodes.link.model.MATCH_PROBABILITY_THRESHOLD`), and to any further record it is
near-certain about (a duplicate record of one person). A subject linked to several people of one
employee (the employee and a son of the same name) keeps the strongest link.

A link carries its evidence: the match weight and probability, how each field agreed
(``evidence``, e.g. ``{"surname":"exact","forenames":"nickname",...}``), what each field
contributed to the weight (``field_weights``, in bits), and the HR row it came from.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa
from splink import Linker

from custodes.link.engine import Engine, ModelEngine, quiet_splink
from custodes.link.model import (
    DUPLICATE_PROBABILITY_THRESHOLD,
    FIELDS,
    MATCH_PROBABILITY_THRESHOLD,
    settings,
    train,
    training_rules,
)
from custodes.link.prepare import MODEL_COLUMNS, RELATION_ORDER

PERSON_LINK_COLUMNS = (
    "person_id",
    "subject_id",
    "relation",
    "relations",
    "match_weight",
    "match_probability",
    "evidence",
    "field_weights",
    "source",
    "source_batch",
    "source_rec",
    "hr_surname",
    "hr_forenames",
    "hr_date_of_birth",
    "hr_postcode",
)


def score_pairs(
    work: duckdb.DuckDBPyConnection, engine: Engine = "duckdb", spark: Any | None = None
) -> dict[str, Any]:
    """Train the model on ``link_people`` x ``link_subjects`` and score the blocked pairs
    into ``link_predictions`` (people on the left); return the trained model (Splink JSON)."""
    columns = ", ".join(MODEL_COLUMNS)
    for side in ("people", "subjects"):
        work.execute(f"CREATE OR REPLACE VIEW _model_{side} AS SELECT {columns} FROM link_{side}")
    model = ModelEngine(engine, work, spark)
    with quiet_splink():
        people = model.register("_model_people", "people")
        subjects = model.register("_model_subjects", "subjects")
        linker = Linker([people, subjects], settings(), log_level=None)
        train(linker, training_rules(lambda keys: pairs_on(work, keys)))
        predictions = linker.inference.predict(
            threshold_match_probability=MATCH_PROBABILITY_THRESHOLD, warning_mode="never"
        )
        model.fetch(predictions, "_predictions")
        trained: dict[str, Any] = linker.misc.save_model_to_json()
    # Splink may put either dataset on the left; the comparisons are symmetric, the ids are not.
    work.execute("""
        CREATE OR REPLACE TABLE link_predictions AS
        SELECT CASE WHEN source_dataset_l = 'people' THEN unique_id_l ELSE unique_id_r END
                   AS people_id,
               CASE WHEN source_dataset_l = 'people' THEN unique_id_r ELSE unique_id_l END
                   AS subject_id,
               * EXCLUDE (unique_id_l, unique_id_r)
        FROM _predictions
    """)
    work.execute("DROP TABLE _predictions")
    return trained


def pairs_on(work: duckdb.DuckDBPyConnection, keys: tuple[str, ...]) -> int:
    """How many (person, subject) pairs agree exactly on ``keys`` (none of them missing),
    counted per group of equal keys without making the pairs."""
    cols = ", ".join(keys)
    present = " AND ".join(f"{k} IS NOT NULL" for k in keys)
    (count,) = work.sql(f"""
        SELECT coalesce(sum(p.n * s.n), 0) FROM
            (SELECT {cols}, count(*) AS n FROM link_people WHERE {present} GROUP BY ALL) p
        JOIN (SELECT {cols}, count(*) AS n FROM link_subjects WHERE {present} GROUP BY ALL) s
        USING ({cols})
    """).fetchone() or (0,)
    return int(count)


def _evidence_sql(columns: set[str]) -> tuple[str, str]:
    """SQL for the ``evidence`` (level labels) and ``field_weights`` (bits) JSON texts, over
    predictions with these ``columns`` (a field with term-frequency adjustment has two parts)."""
    labels, weights = [], []
    for field in FIELDS:
        cases = " ".join(f"WHEN {g} THEN '{label}'" for g, label in field.labels().items())
        labels.append(f"'{field.name}', CASE gamma_{field.name} {cases} END")
        tf = f"mw_tf_adj_{field.name}"
        tf = f" + coalesce({tf}, 0)" if tf in columns else ""
        weights.append(f"'{field.name}', round(mw_{field.name}{tf}, 2)")
    return (
        f"CAST(json_object({', '.join(labels)}) AS VARCHAR)",
        f"CAST(json_object({', '.join(weights)}) AS VARCHAR)",
    )


def select_links(work: duckdb.DuckDBPyConnection) -> pa.Table:
    """The person links, from ``link_predictions``: best subject per person described, further
    ones only when near-certain, one link per (employee, subject)."""
    columns = {row[0] for row in work.sql("DESCRIBE link_predictions").fetchall()}
    evidence, field_weights = _evidence_sql(columns)
    order = ", ".join(f"'{code}'" for code in RELATION_ORDER)
    sql = f"""
        WITH ranked AS (
            SELECT p.*, row_number() OVER (
                PARTITION BY p.people_id ORDER BY p.match_weight DESC, p.subject_id) AS rank
            FROM link_predictions p
        ), kept AS (
            SELECT * FROM ranked
            WHERE (rank = 1 AND match_probability >= {MATCH_PROBABILITY_THRESHOLD})
               OR match_probability >= {DUPLICATE_PROBABILITY_THRESHOLD}
        ), links AS (
            SELECT h.person_id, k.subject_id, h.relations[1] AS relation, h.relations,
                   round(k.match_weight, 4) AS match_weight,
                   round(k.match_probability, 6) AS match_probability,
                   {evidence} AS evidence, {field_weights} AS field_weights,
                   h.source, h.source_batch, h.source_rec, h.hr_surname, h.hr_forenames,
                   h.hr_date_of_birth, h.hr_postcode
            FROM kept k JOIN link_people h ON h.unique_id = k.people_id
        )
        SELECT * FROM links
        QUALIFY row_number() OVER (
            PARTITION BY person_id, subject_id
            ORDER BY match_weight DESC, list_position([{order}], relation), source_rec) = 1
        ORDER BY person_id, subject_id
    """
    table: pa.Table = work.sql(sql).to_arrow_table()
    return table.select(list(PERSON_LINK_COLUMNS))
