"""Detection rules, held as data, each an Ibis expression over the store and derived tables.

A rule turns events into *signals*: ``(event_id, person_id, subject_id, ts, rule, detail)``.
Signals become alerts (:mod:`custodes.detect.alerts`): per person and subject for rules about a
relationship or a subject, per person and day for behaviour. Every rule says in words what it
looks for; its ``score`` ranks its alerts (how strongly the signal alone points at misuse).

Relationship rules fire on *unexplained* accesses only: an officer assigned to an incident
involving a same-surname stranger, or a neighbour's burglary, is doing their job. When the
relationship is with the person's own self, family or partner and an explanation *does* hold,
that is a conflict of interest (their own family on their own incident), a different rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from custodes.engine import utc_day, utc_hour
from custodes.explain.templates import DISCLOSING_ACTIONS, KNOWN_RECIPIENTS, UNEXPLAINED

SIGNAL_COLUMNS = ("event_id", "person_id", "subject_id", "ts", "rule", "detail")


@dataclass(frozen=True)
class Rule:
    name: str
    family: str  # relationship, sensitive, behaviour, status, disclosure
    per_subject: bool  # alerts grouped per (person, subject); else per (person, day)
    score: float  # 0..1: how strongly one alert of this rule points at misuse
    looks_for: str  # in words, for the docs and the evidence
    summary: str  # one sentence; {person}, {subject}, {n}, {detail}, {first}, {last}


REPEAT_DAYS = 3
FOCUSED_SUBJECTS = 2
RULES: tuple[Rule, ...] = (
    Rule(
        "self_lookup",
        "relationship",
        True,
        0.95,
        "an unexplained access to the person's own police record (linked by Splink)",
        "{person} looked up their own police record {subject} {n} times ({first:%d %b %H:%M} to {last:%d %b %H:%M}) "
        "with no work reason; {detail}",
    ),
    Rule(
        "family_lookup",
        "relationship",
        True,
        0.9,
        "an unexplained access to the record of someone the person declared to HR "
        "(partner, household, family, next of kin, association)",
        "{person} looked up {subject}, their declared {detail}, {n} times ({first:%d %b %H:%M} to {last:%d %b %H:%M}) "
        "with no work reason",
    ),
    Rule(
        "ex_partner_lookup",
        "relationship",
        True,
        0.95,
        "an unexplained access to the record of a declared ex-partner",
        "{person} looked up {subject}, their declared ex-partner ({detail}), {n} times "
        "({first:%d %b %H:%M} to {last:%d %b %H:%M}) with no work reason",
    ),
    Rule(
        "neighbour_lookup",
        "relationship",
        True,
        0.7,
        "an unexplained access to someone living at the person's address or in their postcode unit",
        "{person} looked up {subject}, who lives {detail}, {n} times ({first:%d %b %H:%M} to {last:%d %b %H:%M}) with "
        "no work reason",
    ),
    Rule(
        "colleague_lookup",
        "relationship",
        True,
        0.75,
        "an unexplained access to the police record of another employee",
        "{person} looked up {subject}, the police record of {detail}, {n} times "
        "({first:%d %b %H:%M} to {last:%d %b %H:%M}) with no work reason",
    ),
    Rule(
        "conflict_of_interest",
        "relationship",
        True,
        0.5,
        "an explained access to the person's own record or a declared relative's: their own "
        "family on their own case",
        "{person} worked on the record of {subject}, {detail}, {n} times ({first:%d %b %H:%M} to {last:%d %b %H:%M}): "
        "a conflict of interest to review",
    ),
    Rule(
        "repeated_interest",
        "behaviour",
        True,
        0.8,
        f"the same subject looked up with no explanation on {REPEAT_DAYS} or more days (an "
        "ex-partner never declared, a grudge)",
        "{person} looked up {subject} with no work reason on {detail} different days "
        "({n} times, {first:%d %b %H:%M} to {last:%d %b %H:%M})",
    ),
    Rule(
        "sensitive_subject",
        "sensitive",
        True,
        0.7,
        "an unexplained access to a VIP's or a protected person's record",
        "{person} looked up {subject} ({detail}) {n} times ({first:%d %b %H:%M} to {last:%d %b %H:%M}) with no work reason",
    ),
    Rule(
        "unknown_recipient",
        "disclosure",
        True,
        0.9,
        "a disclosure or export to a recipient who is not a known partner",
        "{person} sent the record of {subject} to {detail} ({n} times, {first:%d %b %H:%M} to {last:%d %b %H:%M}), "
        "not a known partner",
    ),
    Rule(
        "bulk_browsing",
        "behaviour",
        False,
        0.85,
        "in one hour, 20 or more distinct subjects looked up with no explanation",
        "{person} opened {detail} unexplained records within an hour on {first:%Y-%m-%d} "
        "({n} events, {first:%H:%M} to {last:%H:%M})",
    ),
    Rule(
        "name_fishing",
        "behaviour",
        False,
        0.8,
        "in one day, 5 or more vague name searches (a surname, or a surname and initial) no "
        "explanation covers",
        "{person} ran {n} vague unexplained name searches on {first:%Y-%m-%d} ({first:%H:%M} to "
        "{last:%H:%M}), e.g. {detail}",
    ),
    Rule(
        "leaver_access",
        "status",
        False,
        0.95,
        "an access by an account after its person's leaving date",
        "{person} (left {detail}) made {n} accesses on {first:%Y-%m-%d}",
    ),
    Rule(
        "unknown_account",
        "status",
        False,
        0.9,
        "an access by a person_id not in the workforce extract (a purged leaver, a shared login)",
        "an account not in the workforce, {person}, made {n} accesses on {first:%Y-%m-%d}",
    ),
    Rule(
        "off_pattern",
        "behaviour",
        False,
        0.6,
        "unexplained accesses at night by someone whose explained work all falls in daytime",
        "{person} made {n} unexplained accesses at {first:%H:%M}–{last:%H:%M} on "
        "{first:%Y-%m-%d}, outside their usual hours ({detail})",
    ),
)
BULK_SUBJECTS_PER_HOUR = 20
FISHING_SEARCHES_PER_DAY = 5
OFF_PATTERN_MIN_DAYS = 2  # days of explained work before a person's hours are a baseline
NIGHT_FROM, NIGHT_UNTIL = 21, 6


def by_name(name: str) -> Rule:
    for rule in RULES:
        if rule.name == name:
            return rule
    raise KeyError(name)


def _signals(expr: ir.Table, rule: str, detail: ir.StringValue) -> ir.Table:
    return expr.select(
        "event_id",
        "person_id",
        subject_id=expr.subject_id.cast("string"),
        ts=expr.ts,
        rule=ibis.literal(rule),
        detail=detail.cast("string"),
    )


def _readable(evidence: ir.StringValue) -> ir.StringValue:
    """Linkage evidence as words: ``{"surname":"exact",...}`` -> ``surname exact, ...``."""
    for old, new in (('"', ""), ("{", ""), ("}", ""), (":", " "), (",", ", "), ("_", " ")):
        evidence = evidence.replace(old, new)
    return evidence


def events(con: BaseBackend) -> ir.Table:
    """Access events with whether they are explained, and the UTC day and hour of each.

    Explanation gives every stored event a row (:func:`custodes.explain.run.explain_store`
    checks it), and all but a few per cent are explained: so the events are joined to the
    unexplained ones only, a small table, not to all of them (a second join of two 10 M-row
    tables at 10 M events)."""
    access = con.table("access_events").select(
        "event_id", "ts", "person_id", "subject_id", "action", "recipient", "query"
    )
    explanations = con.table("explanations")
    unexplained = explanations.filter(explanations.explanation == UNEXPLAINED).select(
        "event_id", "weak_explanation", _unexplained=ibis.literal(True)
    )
    joined = access.left_join(unexplained, "event_id")
    explained = joined._unexplained.isnull()
    return joined.select(
        *access.columns,
        day=utc_day(con, joined.ts),
        hour=utc_hour(con, joined.ts),
        explained=explained,
        # Relationship rules need no reason at all: not even a one-off plausible one.
        unreasoned=~explained & joined.weak_explanation.isnull(),
    )


def relationship(con: BaseBackend, ev: ir.Table) -> list[ir.Table]:
    links = con.table("person_links").select(
        "person_id", "subject_id", "relation", "match_weight", "evidence"
    )
    joined = ev.join(links, ["person_id", "subject_id"])
    weight = joined.match_weight.round(1).cast("string")
    out = [
        _signals(
            joined.filter((joined.relation == "self") & joined.unreasoned),
            "self_lookup",
            "linked with match weight " + weight + ": " + _readable(joined.evidence),
        ),
        _signals(
            joined.filter((joined.relation == "ex_partner") & joined.unreasoned),
            "ex_partner_lookup",
            "match weight " + weight,
        ),
        _signals(
            joined.filter(~joined.relation.isin(["self", "ex_partner"]) & joined.unreasoned),
            "family_lookup",
            joined.relation + " (match weight " + weight + ")",
        ),
        _signals(
            joined.filter(joined.explained),
            "conflict_of_interest",
            ibis.cases(
                (joined.relation == "self", "their own record"),
                else_="their declared " + joined.relation,
            ),
        ),
    ]
    neighbours = con.table("neighbours").select("person_id", "subject_id", "kind")
    near = ev.filter(ev.unreasoned).join(neighbours, ["person_id", "subject_id"])
    out.append(
        _signals(
            near.anti_join(links, ["person_id", "subject_id"]),
            "neighbour_lookup",
            ibis.cases(
                (near.kind == "same_address", "at their own address"),
                else_="in their postcode unit",
            ),
        )
    )
    colleagues = con.table("colleagues").select(
        "subject_id", employee="person_id", employee_unit="unit_id"
    )
    work = ev.filter(ev.unreasoned).join(colleagues, "subject_id")
    work = work.filter(work.employee.isnull() | (work.employee != work.person_id))
    out.append(
        _signals(
            work.anti_join(links, ["person_id", "subject_id"]),
            "colleague_lookup",
            ibis.cases(
                (work.employee.notnull(), "employee " + work.employee.cast("string")),
                else_="a police employee",
            ),
        )
    )
    return out


def sensitive(con: BaseBackend, ev: ir.Table) -> list[ir.Table]:
    subjects = con.table("subjects").select("subject_id", "flags")
    joined = ev.filter(ev.unreasoned).join(subjects, "subject_id")
    flagged = joined.filter(joined.flags.contains("vip") | joined.flags.contains("protected"))
    return [
        _signals(
            flagged,
            "sensitive_subject",
            ibis.cases((flagged.flags.contains("vip"), "a VIP"), else_="a protected person"),
        )
    ]


def disclosure(con: BaseBackend, ev: ir.Table) -> list[ir.Table]:
    out = ev.filter(
        ev.action.isin(DISCLOSING_ACTIONS)
        & ev.recipient.notnull()
        & ~ev.recipient.isin(KNOWN_RECIPIENTS)
    )
    return [_signals(out, "unknown_recipient", out.recipient)]


def behaviour(con: BaseBackend, ev: ir.Table) -> list[ir.Table]:
    unexplained = ev.filter(~ev.explained & ev.subject_id.notnull())
    hour = unexplained
    busy = (
        hour.group_by(["person_id", "day", "hour"])
        .agg(subjects=hour.subject_id.nunique())
        .filter(lambda t: t.subjects >= BULK_SUBJECTS_PER_HOUR)
    )
    bulk = hour.join(busy, ["person_id", "day", "hour"])
    searches = ev.filter(~ev.explained & (ev.action == "search") & ev.query.notnull())
    # Vague searches: a surname alone, or with an initial (no whole forename, no date of
    # birth). Work searches name one person; fishing casts about.
    forename = searches.query.re_extract(r"(?:^|;)forenames=([^; ]*)", 1)
    dob = searches.query.re_extract(r"(?:^|;)dob=([0-9-]*)", 1)
    searches = searches.filter((forename.length() <= 1) & (dob == ""))
    fishing_days = (
        searches.group_by(["person_id", "day"])
        .agg(n=searches.event_id.count())
        .filter(lambda t: t.n >= FISHING_SEARCHES_PER_DAY)
    )
    fishing = searches.join(fishing_days, ["person_id", "day"])
    repeated = (
        unexplained.group_by(["person_id", "subject_id"])
        .agg(days=unexplained.day.nunique())
        .filter(lambda t: t.days >= REPEAT_DAYS)
    )
    # An interest in one or two people; someone with many such subjects has work the data
    # does not explain (a role with no assignments), which is a question for the data, not
    # an accusation.
    focused = (
        repeated.group_by("person_id")
        .agg(subjects=repeated.subject_id.nunique())
        .filter(lambda t: t.subjects <= FOCUSED_SUBJECTS)
    )
    repeated = repeated.semi_join(focused, "person_id")
    again = unexplained.join(repeated, ["person_id", "subject_id"])
    return [
        _signals(again, "repeated_interest", again.days.cast("string")),
        _signals(bulk, "bulk_browsing", bulk.subjects.cast("string")),
        _signals(fishing, "name_fishing", fishing.query),
        *_off_pattern(ev),
    ]


def _off_pattern(ev: ir.Table) -> list[ir.Table]:
    """Unexplained night-time events of a person whose own explained work, over enough days,
    all falls in daytime hours (an office-hours worker at 02:00)."""
    explained = ev.filter(ev.explained)
    hour = explained.hour
    history = explained.group_by("person_id").agg(
        days=explained.day.nunique(),
        night=((hour >= NIGHT_FROM) | (hour < NIGHT_UNTIL)).sum(),
    )
    daytime = history.filter((history.days >= OFF_PATTERN_MIN_DAYS) & (history.night == 0))
    odd = ev.filter(~ev.explained)
    odd = odd.filter((odd.hour >= NIGHT_FROM) | (odd.hour < NIGHT_UNTIL))
    odd = odd.semi_join(daytime, "person_id")
    return [
        _signals(
            odd,
            "off_pattern",
            ibis.literal(
                f"none of their explained work in the window falls between "
                f"{NIGHT_FROM}:00 and {NIGHT_UNTIL:02d}:00"
            ),
        )
    ]


def status(con: BaseBackend, ev: ir.Table) -> list[ir.Table]:
    workforce = con.table("workforce").select("person_id", "left")
    known = ev.join(workforce, "person_id")
    # After the last shift they could have worked: a night shift begun on the leaving day
    # ends the next morning.
    after = (known.day > known.left + ibis.interval(days=1)) | (
        (known.day == known.left + ibis.interval(days=1)) & (known.hour >= 8)
    )
    leaver = known.filter(known.left.notnull() & after)
    unknown = ev.anti_join(workforce, "person_id")
    return [
        _signals(leaver, "leaver_access", leaver.left.cast("string")),
        _signals(unknown, "unknown_account", ibis.literal("not in workforce")),
    ]


FAMILIES: tuple[Callable[[BaseBackend, ir.Table], list[ir.Table]], ...] = (
    relationship,
    sensitive,
    disclosure,
    behaviour,
    status,
)


def signals(con: BaseBackend) -> ir.Table:
    """Every signal of every rule.

    The events are joined to their explanations once and kept for the rules (most read them):
    left in each rule's query, the join ran once per family (four 10 M-row joins at 10 M
    events)."""
    ev = events(con).cache()
    parts = [part for family in FAMILIES for part in family(con, ev)]
    return ibis.union(*parts)
