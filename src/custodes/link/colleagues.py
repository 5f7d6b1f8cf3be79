"""Colleagues: subject records that belong to police employees.

A record is a colleague's when it is linked as ``self`` to an employee (then the employee and
their unit are known), or when the force flagged it ``police_employee`` (older records, staff of
other forces, or an employee the linkage could not place). Both are kept, and say which.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

COLLEAGUE_COLUMNS = ("subject_id", "person_id", "unit_id", "linked", "flagged", "match_weight")


def find_colleagues(work: duckdb.DuckDBPyConnection, person_links: pa.Table) -> pa.Table:
    """One row per (subject, employee) linked as ``self``, and one per flagged subject that is
    not linked (``person_id`` and ``unit_id`` empty)."""
    work.register("_person_links", person_links)
    try:
        table: pa.Table = work.sql("""
            WITH linked AS (
                SELECT subject_id, person_id, match_weight
                FROM _person_links WHERE relation = 'self'
            ), flagged AS (
                SELECT subject_id FROM subjects
                WHERE list_contains(flags, 'police_employee')
            )
            SELECT coalesce(l.subject_id, f.subject_id) AS subject_id, l.person_id, w.unit_id,
                   l.subject_id IS NOT NULL AS linked, f.subject_id IS NOT NULL AS flagged,
                   l.match_weight
            FROM linked l
            FULL JOIN flagged f ON f.subject_id = l.subject_id
            LEFT JOIN workforce w ON w.person_id = l.person_id
            ORDER BY subject_id, person_id
        """).to_arrow_table()
    finally:
        work.unregister("_person_links")
    return table.select(list(COLLEAGUE_COLUMNS))
