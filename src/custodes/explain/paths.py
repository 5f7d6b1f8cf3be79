"""Each kind of explanation path as an Ibis expression, written once for every engine.

The inputs are the store's tables. Every builder takes the *candidates*: each access event
(of an employed person, with an acceptable recipient) paired with each operation that involves
its subject, and returns the candidates its template explains as
``(event_id, template, rank, operation_id, role, via_search)``.

A name search that found nobody (no ``subject_id``) is paired with the subjects whose surname
(and first forename, when the query gives one) it names, so that a search for a case's suspect
is explained like a look-up of that suspect (``via_search``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from custodes.explain.templates import (
    DISCLOSING_ACTIONS,
    KNOWN_RECIPIENTS,
    TEMPLATES,
    Path,
    Template,
)

# Circumstantial evidence counts when the work on the operation that day is more than one
# click: two or more looks at its subjects (unit-level work, a call taken), or, for paths that
# go around a recorded assignment, looks at least RETURN_AFTER apart (one burst of clicks about
# a random record is one look, however many events it makes).
MIN_LOOKS = 2
RETURN_AFTER = timedelta(minutes=15)
LONGEST_REACH = max(t.after for t in TEMPLATES) + timedelta(days=1)
MATCH_COLUMNS = ("event_id", "template", "rank", "operation_id", "role", "via_search", "weak")


def _seconds(span: timedelta) -> ir.IntervalScalar:
    return ibis.interval(seconds=int(span.total_seconds()))


def _days(span: timedelta) -> ir.IntervalScalar:
    return ibis.interval(days=max(0, span.days))


def restrict(events: ir.Table, only: Sequence[str] | ir.Table | None) -> ir.Table:
    """``events`` with the ids in ``only`` (a list, or a table with an ``event_id`` column)."""
    if only is None:
        return events
    if isinstance(only, ir.Table):
        return events.semi_join(only.select("event_id"), "event_id")
    return events.filter(events.event_id.isin(list(only)))


def events_of_employed(con: BaseBackend, only: Sequence[str] | ir.Table | None = None) -> ir.Table:
    """Access events whose person was employed at the time, with their unit and its kind
    (``only``: just the events with these ids).

    A disclosure or export to anyone but a known partner is left out: no template explains it.
    """
    events = restrict(con.table("access_events"), only)
    workforce = con.table("workforce")
    units = con.table("units")
    people = workforce.select(
        "person_id", person_unit="unit_id", joined="joined", left="left"
    ).left_join(units.select(person_unit="unit_id", unit_kind="kind"), "person_unit")
    people = people.select("person_id", "person_unit", "unit_kind", "joined", "left")
    joined = events.select(
        "event_id",
        "person_id",
        "subject_id",
        "ts",
        "action",
        "recipient",
        "operation_ref",
        "query",
    ).join(people, "person_id")
    day = joined.ts.date()
    # Employed from the day they joined to the morning after they left (a last night shift).
    last_morning = (day == joined.left + ibis.interval(days=1)) & (joined.ts.hour() < 8)
    employed = (joined.joined <= day) & (joined.left.isnull() | (day <= joined.left) | last_morning)
    recipient_ok = ~joined.action.isin(DISCLOSING_ACTIONS) | joined.recipient.isin(KNOWN_RECIPIENTS)
    return joined.filter(employed & recipient_ok).mutate(day=day)


def _operations(con: BaseBackend) -> ir.Table:
    operations = con.table("operations").select(
        "operation_id",
        operation_kind="kind",
        opened="opened",
        closed="closed",
        operation_unit="unit_id",
    )
    units = con.table("units").select(operation_unit="unit_id", operation_unit_kind="kind")
    return operations.left_join(units, "operation_unit").select(
        "operation_id",
        "operation_kind",
        "opened",
        "closed",
        "operation_unit",
        "operation_unit_kind",
    )


def _links(con: BaseBackend) -> ir.Table:
    return con.table("operation_subjects").select("operation_id", "subject_id", "role")


def looks(con: BaseBackend, employed: ir.Table) -> ir.Table:
    """Each event with the subject it looked at: its ``subject_id``, or for a name search that
    found nobody, each subject the query names (``via_search``).

    A search names one person when it gives a whole forename or a date of birth with the
    surname. A surname alone, or with an initial, is how fishing looks: its result is whoever
    the system returned, so such a search is marked not ``specific`` and only direct evidence (a
    named operation, an assignment, the unit's own work) explains it.
    """
    employed = employed.mutate(
        q_surname=employed.query.re_extract(r"(?:^|;)surname=([^;]*)", 1).upper(),
        q_forename=employed.query.re_extract(r"(?:^|;)forenames=([^; ]*)", 1).upper(),
        q_dob=employed.query.re_extract(r"(?:^|;)dob=([0-9-]*)", 1),
    )
    employed = employed.mutate(
        specific=(employed.action != "search")
        | (employed.q_forename.length() > 1)
        | (employed.q_dob != "")
    )
    direct = employed.filter(employed.subject_id.notnull()).mutate(via_search=False)
    searches = employed.filter(
        employed.subject_id.isnull()
        & employed.query.notnull()
        & (employed.action == "search")
        & employed.specific
        & (employed.q_surname != "")
    )
    subjects = con.table("subjects")
    named = subjects.select(
        named_subject="subject_id",
        s_surname=subjects.surname.upper(),
        s_forename=subjects.forenames.split(" ")[0].upper(),
        s_dob=subjects.date_of_birth.cast("string"),
    )
    # Joined on every field the query gives (surname and forename, surname and date of birth,
    # or all three): on the surname alone, a common one pairs each search with thousands of
    # subjects before the other fields are compared (hundreds of millions of rows at 10 M).
    by_name = searches.filter((searches.q_forename != "") & (searches.q_dob == ""))
    by_dob = searches.filter((searches.q_forename == "") & (searches.q_dob != ""))
    by_both = searches.filter((searches.q_forename != "") & (searches.q_dob != ""))
    found = ibis.union(
        by_name.join(
            named, [by_name.q_surname == named.s_surname, by_name.q_forename == named.s_forename]
        ),
        by_dob.join(named, [by_dob.q_surname == named.s_surname, by_dob.q_dob == named.s_dob]),
        by_both.join(
            named,
            [
                by_both.q_surname == named.s_surname,
                by_both.q_forename == named.s_forename,
                by_both.q_dob == named.s_dob,
            ],
        ),
        distinct=False,
    )
    found = found.mutate(subject_id=found.named_subject, via_search=True)
    columns = [
        "event_id",
        "person_id",
        "subject_id",
        "ts",
        "day",
        "operation_ref",
        "person_unit",
        "unit_kind",
        "specific",
        "via_search",
    ]
    return direct.select(columns).union(found.select(columns))


def candidates(
    con: BaseBackend, looked: ir.Table, operation_kinds: Sequence[str] | None = None
) -> ir.Table:
    """Each look paired with every operation involving its subject around that time (of these
    ``operation_kinds``, if given).

    No template reaches outside an operation's life (plus the longest follow-up), so operations
    closed long before or opened after the access are left out: someone who appears in
    hundreds of operations over the years is in only a few at any one time.
    """
    operations = _operations(con)
    if operation_kinds is not None:
        operations = operations.filter(operations.operation_kind.isin(list(operation_kinds)))
    pairs = looked.join(_links(con), "subject_id").join(operations, "operation_id")
    return pairs.filter(
        (pairs.day >= pairs.opened - ibis.interval(days=1))
        & (pairs.closed.isnull() | (pairs.day <= pairs.closed + _days(LONGEST_REACH)))
    )


def template_candidates(con: BaseBackend, looked: ir.Table, template: Template) -> ir.Table:
    """:func:`candidates` narrowed to the pairs ``template`` can use: its kinds of unit, its
    kinds of operation and, for a template about recent operations, those opened within its
    reach. Each paired template filters its pairs by these conditions anyway; applied while
    pairing, they keep a popular subject's hundreds of old operations from becoming pairs (at
    10 M events, the pairs of all paired templates together were 37 M rows).
    """
    if template.unit_kinds:
        looked = looked.filter(looked.unit_kind.isin(list(template.unit_kinds)))
    pairs = candidates(con, looked, template.operation_kinds or None)
    if template.recent is not None:
        pairs = pairs.filter(_recent(pairs, template))
    return pairs


def _match(expr: ir.Table, template: Template) -> ir.Table:
    """The explained events of ``template`` as match rows.

    Circumstantial evidence must look like work on that operation: two or more looks at its
    subjects that day, or (``comes_back``) looks at least :data:`RETURN_AFTER` apart; paging
    through records, or fishing with names, touches each one once. A circumstantial path
    without that is kept as a ``weak`` match: it does not explain the event, but it says a plausible reason exists (an
    officer's one look at a case they worked last week), which detection weighs.
    """
    weak: ir.BooleanValue = ibis.literal(template.weak_only)
    if template.circumstantial and not template.weak_only:
        grouped = expr.group_by(["person_id", "day", "operation_id"]).agg(
            _looks=expr.event_id.nunique(), _first=expr.ts.min(), _last=expr.ts.max()
        )
        if template.comes_back:
            span = grouped._last.epoch_seconds() - grouped._first.epoch_seconds()
            grouped = grouped.filter(span >= RETURN_AFTER.total_seconds())
        else:
            grouped = grouped.filter(grouped._looks >= MIN_LOOKS)
        repeated = grouped.drop("_looks", "_first", "_last").mutate(_repeated=ibis.literal(True))
        expr = expr.left_join(repeated, ["person_id", "day", "operation_id"])
        # A vague name search's result is whoever the system returned: at most weak.
        weak = expr._repeated.isnull() | ~expr.specific
    return expr.select(
        "event_id",
        "operation_id",
        "role",
        "via_search",
        template=ibis.literal(template.name),
        rank=ibis.literal(template.rank, type="int32"),
        weak=weak,
    ).select(*MATCH_COLUMNS)


def _unit_kind_ok(c: ir.Table, template: Template) -> ir.BooleanValue:
    if not template.unit_kinds:
        return ibis.literal(True)
    return c.unit_kind.isin(template.unit_kinds)


def _operation_kind_ok(c: ir.Table, template: Template) -> ir.BooleanValue:
    if not template.operation_kinds:
        return ibis.literal(True)
    return c.operation_kind.isin(template.operation_kinds)


def _assignments(con: BaseBackend) -> ir.Table:
    return con.table("assignments").select("operation_id", "person_id", "start", "end")


def _within(c: ir.Table, start: ir.Value, end: ir.Value, template: Template) -> ir.BooleanValue:
    return (c.ts >= start - _seconds(template.before)) & (
        end.isnull() | (c.ts <= end + _seconds(template.after))
    )


def assignment(con: BaseBackend, looked: ir.Table, template: Template) -> ir.Table:
    """From the person's assignments at that time to their operations' subjects (a person
    holds a few assignments at once, so this stays small however popular the subject)."""
    mine = looked.join(_assignments(con), "person_id")
    mine = mine.filter(_within(mine, mine.start, mine.end, template))
    return _match(mine.join(_links(con), ["operation_id", "subject_id"]), template)


def unit(con: BaseBackend, looked: ir.Table, template: Template) -> ir.Table:
    """Operations of the subject owned by the person's unit, open at the time."""
    owned = _links(con).join(_operations(con), "operation_id")
    if template.operation_kinds:
        owned = owned.filter(owned.operation_kind.isin(list(template.operation_kinds)))
    mine = looked.filter(_unit_kind_ok(looked, template))
    # Each operation on each day it is open (from ``opened`` to ``closed`` plus the template's
    # reach; one still open, to the last day looked at), so the join meets only the operations
    # open that day: joined on the subject alone, a control room's looks met 114 M of the
    # subjects' calls at 10 M events, to keep 18 M.
    last = mine.day.max()
    until = ibis.coalesce(owned.closed + _days(template.after), last) + ibis.interval(days=1)
    day = ibis.interval(days=1)
    owned = owned.mutate(
        open_day=ibis.range(owned.opened.cast("timestamp"), until.cast("timestamp"), day)
    ).unnest("open_day")
    owned = owned.mutate(open_day=owned.open_day.cast("date"))
    same = (
        mine.unit_kind == owned.operation_unit_kind
        if template.same_unit_kind
        else mine.person_unit == owned.operation_unit
    )
    c = mine.join(owned, [mine.subject_id == owned.subject_id, mine.day == owned.open_day, same])
    return _match(c.drop("open_day"), template)


def colleague(con: BaseBackend, c: ir.Table, template: Template) -> ir.Table:
    workforce = con.table("workforce").select(colleague_id="person_id", colleague_unit="unit_id")
    theirs = _assignments(con).rename(colleague_id="person_id").join(workforce, "colleague_id")
    joined = c.join(theirs, "operation_id")
    same_unit = (joined.colleague_id != joined.person_id) & (
        joined.colleague_unit == joined.person_unit
    )
    return _match(
        joined.filter(
            same_unit
            & _operation_kind_ok(joined, template)
            & _within(joined, joined.start, joined.end, template)
        ),
        template,
    )


def _recent(c: ir.Table, template: Template) -> ir.BooleanValue:
    assert template.recent is not None
    return (c.day >= c.opened) & (c.day <= c.opened + _days(template.recent))


def fresh_incident(con: BaseBackend, c: ir.Table, template: Template) -> ir.Table:
    """An incident being attended at that very time (between its first recorded attendance and
    the end of its last, with the template's slack), looked at by someone in a front-line unit:
    the officer who attended and was never recorded."""
    assignments = _assignments(con)
    attended = assignments.group_by("operation_id").agg(
        first_start=assignments.start.min(), last_end=assignments.end.max()
    )
    fresh = c.filter(
        _operation_kind_ok(c, template) & _unit_kind_ok(c, template) & _recent(c, template)
    ).join(attended, "operation_id")
    return _match(
        fresh.filter(_within(fresh, fresh.first_start, fresh.last_end, template)), template
    )


def target(con: BaseBackend, c: ir.Table, template: Template) -> ir.Table:
    """A recent warrant's or intelligence operation's subject, looked at by someone in the
    kind of unit that is briefed on them (even after the warrant was executed)."""
    return _match(
        c.filter(
            _operation_kind_ok(c, template) & _unit_kind_ok(c, template) & _recent(c, template)
        ),
        template,
    )


def named_operation(con: BaseBackend, looked: ir.Table, template: Template) -> ir.Table:
    """The event names an operation that involves the subject and that the person works
    (assigned around that time, or their unit's own): a named reference alone proves nothing."""
    links = _links(con).join(_operations(con), "operation_id")
    named = looked.join(
        links,
        [
            looked.operation_ref == links.operation_id,
            looked.subject_id == links.subject_id,
        ],
    )
    named = named.select(*looked.columns, *[c for c in links.columns if c not in looked.columns])
    assigned = named.join(_assignments(con), ["operation_id", "person_id"])
    by_assignment = assigned.filter(_within(assigned, assigned.start, assigned.end, template))
    by_unit = named.filter(named.operation_unit == named.person_unit)
    return _match(by_assignment.select(named.columns).union(by_unit), template)


Builder = Callable[[BaseBackend, ir.Table, Template], ir.Table]
# Direct paths start from the looks themselves; the others from candidate pairs (each look with
# the operations around its subject), built only for the looks no direct path explains.
DIRECT: dict[Path, Builder] = {
    Path.NAMED_OPERATION: named_operation,
    Path.ASSIGNMENT: assignment,
    Path.UNIT: unit,
}
FROM_PAIRS: dict[Path, Builder] = {
    Path.COLLEAGUE: colleague,
    Path.FRESH_INCIDENT: fresh_incident,
    Path.TARGET: target,
}
