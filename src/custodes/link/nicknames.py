"""Forenames one person may be recorded under (John, Jon, Johnny), read from ``nicknames.txt``.

HR knows Kathryn, the custody record says Catherine: no string distance sees that these are one
name, so the equivalences are data. Each line of the file is a given name followed by its short
forms and spellings. Two forenames are nicknames of each other when they share an *alias*: a
name's aliases are itself and every given name it is listed under, so Jon (under John and
Jonathan) and Johnny (under John) meet at John.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def alias_pairs() -> tuple[tuple[str, str], ...]:
    """``(name, alias)`` pairs, as written in the file (the caller normalises them as it
    normalises the names it compares), one per listed variant and given name."""
    text = files("custodes.link").joinpath("nicknames.txt").read_text(encoding="utf-8")
    pairs: set[tuple[str, str]] = set()
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        given = words[0]
        pairs.add((given, given))
        pairs.update((variant, given) for variant in words[1:])
    return tuple(sorted(pairs))
