"""Record linkage: who in the police records is an employee, or someone close to one.

``link_people(store)`` links each employee (``workforce``) and each relative they declared
(``relations``) to the subject records that are them, with Splink (a Fellegi-Sunter model trained
without labels), despite nicknames, typos, dropped middle names, swapped or missing dates of
birth, married surnames and old addresses. Every link keeps its evidence: the match weight and
how each field agreed. It also derives ``neighbours`` (same address, same postcode unit,
adjacent postcode sector, the last as sectors per employee) and ``colleagues`` (subjects that are police employees).
``save_links`` keeps the result under ``HOME/derived/link/``; ``load_links`` reads it back. See
``docs/link.md``.
"""

from custodes.link.colleagues import COLLEAGUE_COLUMNS
from custodes.link.engine import ENGINES, Engine
from custodes.link.files import LINK_DIR
from custodes.link.model import (
    DUPLICATE_PROBABILITY_THRESHOLD,
    FIELDS,
    MATCH_PROBABILITY_THRESHOLD,
)
from custodes.link.people import PERSON_LINK_COLUMNS
from custodes.link.places import ADJACENT_SECTOR_COLUMNS, NEIGHBOUR_COLUMNS, NEIGHBOUR_KINDS
from custodes.link.prepare import RELATION_ORDER
from custodes.link.run import LinkResult, link_home, link_people, load_links, save_links

__all__ = [
    "ADJACENT_SECTOR_COLUMNS",
    "COLLEAGUE_COLUMNS",
    "DUPLICATE_PROBABILITY_THRESHOLD",
    "ENGINES",
    "FIELDS",
    "LINK_DIR",
    "MATCH_PROBABILITY_THRESHOLD",
    "NEIGHBOUR_COLUMNS",
    "NEIGHBOUR_KINDS",
    "PERSON_LINK_COLUMNS",
    "RELATION_ORDER",
    "Engine",
    "LinkResult",
    "link_home",
    "link_people",
    "load_links",
    "save_links",
]
