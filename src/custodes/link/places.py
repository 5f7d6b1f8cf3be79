"""Neighbours: subjects who live where an employee lives, or close by.

From the employee's ``home_postcode`` and ``home_address`` (workforce) and the subject's
``postcode`` and ``address``, normalised as for linkage (``wx47qa`` is ``WX4 7QA``; addresses
compared in upper case with punctuation and spacing ignored). A UK postcode ``WX4 7QA`` has an
outward code or *district* (``WX4``), a *sector* (``WX4 7``) and a *unit* (``WX4 7QA``: a street
or part of one, some fifteen addresses). Kinds, closest first (a pair gets only its closest):

- ``same_address``: same unit and same address;
- ``same_postcode_unit``: same unit, another address (the same street);
- ``adjacent_postcode_sector``: same district, sector digit one more or one less (``WX4 6`` and
  ``WX4 8`` are adjacent to ``WX4 7``). Sector digits run roughly in geographic order within a
  district, so this is a cheap, postcode-only stand-in for "the next neighbourhood"; the
  employee's own sector is not a kind (it holds thousands of people, none in particular).

The first two are listed per subject (:func:`find_neighbours`): a few dozen per employee. An
adjacent sector holds hundreds to thousands of subjects, so listing them per employee would give
tens of millions of rows for a large force (about 20 million at 20,000 employees); instead
:func:`find_adjacent_sectors` lists the two sectors per employee, and a reader joins a subject's
sector to them (``link_sector(link_postcode(postcode))``) when it needs to know.

Every join is an equality join on a postcode part, so the work grows with the number of people
sharing a unit, never with employees x subjects.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

NEIGHBOUR_KINDS = ("same_address", "same_postcode_unit", "adjacent_postcode_sector")
NEIGHBOUR_COLUMNS = ("person_id", "subject_id", "kind")
ADJACENT_SECTOR_COLUMNS = ("person_id", "home_sector", "postcode_sector", "kind")

_HOMES = """
    SELECT person_id, unit, address, link_district(unit) AS district,
           link_sector(unit) AS sector
    FROM (SELECT person_id, link_postcode(home_postcode) AS unit,
                 link_address(home_address) AS address FROM workforce)
    WHERE unit IS NOT NULL
"""


def find_neighbours(work: duckdb.DuckDBPyConnection) -> pa.Table:
    """``(person_id, subject_id, kind)`` for the same address and the same postcode unit, over
    ``workforce`` and ``subjects`` in ``work`` (with the macros of
    :func:`custodes.link.prepare.prepare`)."""
    table: pa.Table = work.sql(f"""
        WITH homes AS ({_HOMES})
        SELECT h.person_id, s.subject_id,
               CASE WHEN h.address = s.address THEN 'same_address'
                    ELSE 'same_postcode_unit' END AS kind
        FROM homes h
        JOIN (SELECT subject_id, link_postcode(postcode) AS unit,
                     link_address(address) AS address FROM subjects) s ON s.unit = h.unit
        ORDER BY h.person_id, s.subject_id
    """).to_arrow_table()
    return table


def find_adjacent_sectors(work: duckdb.DuckDBPyConnection) -> pa.Table:
    """``(person_id, home_sector, postcode_sector, kind)``: the (at most two) sectors adjacent
    to each employee's home sector; a subject whose sector is one of them is a neighbour of
    kind ``adjacent_postcode_sector``."""
    table: pa.Table = work.sql(f"""
        WITH homes AS ({_HOMES})
        SELECT person_id, sector AS home_sector,
               district || ' ' || CAST(digit AS VARCHAR) AS postcode_sector,
               'adjacent_postcode_sector' AS kind
        FROM (SELECT *, unnest([CAST(right(sector, 1) AS INTEGER) - 1,
                                CAST(right(sector, 1) AS INTEGER) + 1]) AS digit FROM homes)
        WHERE digit BETWEEN 0 AND 9
        ORDER BY person_id, postcode_sector
    """).to_arrow_table()
    return table
