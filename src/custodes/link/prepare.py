"""The two sides of the linkage, in one shape: people as HR knows them, and subject records.

*People* are the workforce (each employee's own details, relation ``self``) and the relatives
they declared (``relations``). Rows of one employee that describe the same person identically
(a partner who is also the next of kin) are one person with several relation codes. *Subjects*
are the police records. Both get the same comparison columns, normalised the same way, because
a model can only compare like with like:

- ``surname``: upper case, accents and everything but letters removed (O'Brien = OBRIEN);
- ``forenames`` and ``forename1`` (the first one), so a dropped middle name still agrees;
- ``forename_aliases``: the given names that ``forename1`` is a short form of (nicknames.txt);
- ``dob`` (``YYYY-MM-DD``), ``dob_swapped`` (day and month exchanged, when that is a date
  different from ``dob``) and ``birth_year``;
- ``postcode`` (``WX4 7QA``, or empty when it is not a valid UK postcode), ``postcode_sector``
  (``WX4 7``) and ``postcode_district`` (``WX4``).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from custodes.link.nicknames import alias_pairs

# When one HR entry carries several codes (partner and next of kin), the link is reported under
# the first in this order: the closest relationship says most about a look-up.
RELATION_ORDER = (
    "self",
    "partner",
    "ex_partner",
    "household",
    "family",
    "next_of_kin",
    "declared_association",
)

MACROS = r"""
CREATE OR REPLACE MACRO link_name(x) AS
    nullif(trim(regexp_replace(regexp_replace(upper(strip_accents(x)), '[^A-Z ]+', '', 'g'),
                               ' +', ' ', 'g')), '');
CREATE OR REPLACE MACRO link_surname(x) AS
    nullif(regexp_replace(upper(strip_accents(x)), '[^A-Z]+', '', 'g'), '');
CREATE OR REPLACE MACRO link_postcode(x) AS
    CASE WHEN regexp_full_match(regexp_replace(upper(x), '[^A-Z0-9]+', '', 'g'),
                                '[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}')
         THEN regexp_replace(regexp_replace(upper(x), '[^A-Z0-9]+', '', 'g'),
                             '^(.+)([0-9][A-Z]{2})$', '\1 \2') END;
CREATE OR REPLACE MACRO link_address(x) AS
    nullif(trim(regexp_replace(upper(strip_accents(x)), '[^A-Z0-9]+', ' ', 'g')), '');
CREATE OR REPLACE MACRO link_sector(p) AS left(p, length(p) - 2);
CREATE OR REPLACE MACRO link_district(p) AS split_part(p, ' ', 1);
"""


def _columns(surname: str, forenames: str, dob: str, postcode: str) -> str:
    """The comparison columns, as SQL over raw columns of the given names."""
    return f"""
        link_surname({surname}) AS surname,
        link_name({forenames}) AS forenames,
        split_part(link_name({forenames}), ' ', 1) AS forename1,
        strftime({dob}, '%Y-%m-%d') AS dob,
        CASE WHEN day({dob}) <= 12 AND day({dob}) <> month({dob})
             THEN strftime(make_date(year({dob}), day({dob}), month({dob})), '%Y-%m-%d')
             END AS dob_swapped,
        CAST(year({dob}) AS VARCHAR) AS birth_year,
        link_postcode({postcode}) AS postcode,
        link_sector(link_postcode({postcode})) AS postcode_sector,
        link_district(link_postcode({postcode})) AS postcode_district"""


# The columns Splink sees (the rest stays behind, to be joined back to the predictions).
MODEL_COLUMNS = (
    "unique_id",
    "surname",
    "forenames",
    "forename1",
    "forename_aliases",
    "dob",
    "dob_swapped",
    "birth_year",
    "postcode",
    "postcode_sector",
    "postcode_district",
)


def copy_inputs(store_db: duckdb.DuckDBPyConnection, work: duckdb.DuckDBPyConnection) -> None:
    """Copy the current ``workforce``, ``relations`` and ``subjects`` into ``work`` (a private
    connection: Splink's intermediate tables must not land beside the store's views)."""
    columns = {
        "workforce": "person_id, surname, forenames, date_of_birth, home_postcode, "
        "home_address, unit_id, _batch, _rec",
        "relations": "person_id, relation, surname, forenames, date_of_birth, postcode, "
        "_batch, _rec",
        "subjects": "subject_id, surname, forenames, date_of_birth, postcode, address, flags",
    }
    for name, cols in columns.items():
        table = store_db.sql(f"SELECT {cols} FROM {name}").to_arrow_table()
        work.register(f"_arrow_{name}", table)
        work.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _arrow_{name}")
        work.unregister(f"_arrow_{name}")


def prepare(work: duckdb.DuckDBPyConnection) -> None:
    """Create ``link_people`` and ``link_subjects`` (plus the macros) in ``work``."""
    work.execute(MACROS)
    pairs = pa.table(
        {"name": [n for n, _ in alias_pairs()], "alias": [a for _, a in alias_pairs()]}
    )
    work.register("_arrow_aliases", pairs)
    work.execute(
        "CREATE OR REPLACE TABLE link_aliases AS "
        "SELECT DISTINCT link_name(name) AS name, link_name(alias) AS alias FROM _arrow_aliases"
    )
    work.unregister("_arrow_aliases")
    order = ", ".join(f"'{code}'" for code in RELATION_ORDER)
    work.execute(f"""
        CREATE OR REPLACE TEMP TABLE _hr AS
        WITH hr AS (
            SELECT person_id, 'self' AS relation, surname AS hr_surname,
                   forenames AS hr_forenames, date_of_birth AS hr_date_of_birth,
                   home_postcode AS hr_postcode, 'workforce' AS source, _batch, _rec
            FROM workforce
            UNION ALL
            SELECT person_id, relation, surname, forenames, date_of_birth, postcode,
                   'relations', _batch, _rec
            FROM relations
        )
        SELECT *, {_columns("hr_surname", "hr_forenames", "hr_date_of_birth", "hr_postcode")}
        FROM hr
    """)
    # One row per person described: identical HR rows of one employee are one person.
    work.execute(f"""
        CREATE OR REPLACE TEMP TABLE _people AS
        SELECT person_id, source,
            list(DISTINCT relation ORDER BY list_position([{order}], relation)) AS relations,
            min({{"_batch": _batch, "_rec": _rec}}) AS _first,
            arg_min(hr_surname, (_batch, _rec)) AS hr_surname,
            arg_min(hr_forenames, (_batch, _rec)) AS hr_forenames,
            arg_min(hr_date_of_birth, (_batch, _rec)) AS hr_date_of_birth,
            arg_min(hr_postcode, (_batch, _rec)) AS hr_postcode,
            surname, forenames, forename1, dob, dob_swapped, birth_year,
            postcode, postcode_sector, postcode_district
        FROM _hr
        GROUP BY person_id, source, surname, forenames, forename1, dob, dob_swapped,
                 birth_year, postcode, postcode_sector, postcode_district
    """)
    work.execute(f"""
        CREATE OR REPLACE TABLE link_people AS
        SELECT
            CASE source WHEN 'workforce' THEN person_id
                 ELSE person_id || '~' || row_number() OVER (
                     PARTITION BY person_id, source ORDER BY _first) END AS unique_id,
            p.* EXCLUDE (_first),
            _first._batch AS source_batch, _first._rec AS source_rec,
            {_ALIASES.format(side="p")}
        FROM _people p
        ORDER BY unique_id
    """)
    work.execute(f"""
        CREATE OR REPLACE TABLE link_subjects AS
        SELECT subject_id AS unique_id, s.*, {_ALIASES.format(side="s")}
        FROM (
            SELECT subject_id,
                   {_columns("surname", "forenames", "date_of_birth", "postcode")}
            FROM subjects
        ) s
        ORDER BY unique_id
    """)
    work.execute("DROP TABLE _hr; DROP TABLE _people")


# A name's aliases: itself and the given names it is a short form of (sorted, so the same input
# gives the same list).
_ALIASES = """(
    SELECT list_sort(list_distinct(list_append(list(a.alias), {side}.forename1)))
    FROM link_aliases a WHERE a.name = {side}.forename1
) AS forename_aliases"""
