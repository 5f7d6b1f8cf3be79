"""Each kind of explanation path as an Ibis expression, written once for every engine.

The inputs are the store's tables. Every builder takes the *looks* (:func:`looks`: each access
event of an employed person, with an acceptable recipient, and the subject it looked at) and
returns the looks its template explains as :data:`MATCH_COLUMNS`. Each joins a look to the
operations of *its* subject through the narrowest key the template allows (the person and the
subject for an assignment; the subject and the day for a unit's work or a recent operation; the
unit and the subject for a colleague's case): joined on the subject alone, a popular subject's
hundreds of operations made tens of millions of rows at 10 M events, nearly all discarded.

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

from custodes.engine import utc_day, utc_hour
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
MIN_LOOKS = 2  # tested as a first and a last event that differ
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


def events_of_employed(con: BaseBackend, events: ir.Table) -> ir.Table:
    """The access ``events`` whose person was employed at the time, with their unit and its
    kind.

    A disclosure or export to anyone but a known partner is left out: no template explains it.
    """
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
    day = utc_day(con, joined.ts)
    # Employed from the day they joined to the morning after they left (a last night shift).
    last_morning = (day == joined.left + ibis.interval(days=1)) & (utc_hour(con, joined.ts) < 8)
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


def _forename(events: ir.Table) -> ir.StringValue:
    return events.query.re_extract(r"(?:^|;)forenames=([^; ]*)", 1).upper()


def _dob(events: ir.Table) -> ir.StringValue:
    return events.query.re_extract(r"(?:^|;)dob=([0-9-]*)", 1)


def _names_one(events: ir.Table) -> ir.BooleanValue:
    """Whether a search's query names one person: a whole forename or a date of birth."""
    return (_forename(events).length() > 1) | (_dob(events) != "")


def looks(con: BaseBackend, only: Sequence[str] | ir.Table | None = None) -> ir.Table:
    """Each event of an employed person (``only``: of these ids) with the subject it looked
    at: its ``subject_id``, or for a name search that found nobody, each subject the query
    names (``via_search``).

    A search names one person when it gives a whole forename or a date of birth with the
    surname. A surname alone, or with an initial, is how fishing looks: its result is whoever
    the system returned, so such a search is marked not ``specific`` and only direct evidence (a
    named operation, an assignment, the unit's own work) explains it.
    """
    events = restrict(con.table("access_events"), only)
    # The two kinds of event are split before the join to the workforce, not after: one
    # joined table read by both would be materialised whole by the engine (DuckDB keeps a
    # common table expression used twice), 10 M wide rows for the 160 k searches' sake.
    direct = events_of_employed(con, events.filter(events.subject_id.notnull()))
    direct = direct.mutate(
        # Only a search's query is read (CASE reads it for those rows alone).
        specific=ibis.ifelse(direct.action != "search", True, _names_one(direct)),
        via_search=False,
    )
    searches = events_of_employed(
        con,
        events.filter(
            events.subject_id.isnull() & (events.action == "search") & events.query.notnull()
        ),
    )
    # The engine may move the tests on the query's fields below that filter, into one test over
    # every event: a query read only where the search found nobody keeps the patterns from
    # running over every search (1 M of them at 10 M events, for 160 k that need them).
    searches = searches.mutate(
        query=ibis.ifelse(searches.subject_id.isnull(), searches.query, ibis.null("string"))
    )
    searches = searches.mutate(
        q_surname=searches.query.re_extract(r"(?:^|;)surname=([^;]*)", 1).upper(),
        q_forename=_forename(searches),
        q_dob=_dob(searches),
        specific=_names_one(searches),
    )
    searches = searches.filter(searches.specific & (searches.q_surname != ""))
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


def _around(pairs: ir.Table) -> ir.BooleanValue:
    """No template reaches outside an operation's life (plus the longest follow-up): someone
    who appears in hundreds of operations over the years is in only a few at any one time."""
    return (pairs.day >= pairs.opened - ibis.interval(days=1)) & (
        pairs.closed.isnull() | (pairs.day <= pairs.closed + _days(LONGEST_REACH))
    )


def _subjects_operations(con: BaseBackend, template: Template) -> ir.Table:
    """Each operation's subjects, with the operation (of the template's kinds, if it names any)."""
    owned = _links(con).join(_operations(con), "operation_id")
    if template.operation_kinds:
        owned = owned.filter(owned.operation_kind.isin(list(template.operation_kinds)))
    return owned


def _recent_operations(con: BaseBackend, template: Template) -> ir.Table:
    """:func:`_subjects_operations` on each day (``open_day``) within the template's
    ``recent`` reach of its opening, so that looks are joined on their subject and day."""
    assert template.recent is not None
    owned = _subjects_operations(con, template)
    until = owned.opened + _days(template.recent) + ibis.interval(days=1)
    day = ibis.interval(days=1)
    owned = owned.mutate(
        open_day=ibis.range(owned.opened.cast("timestamp"), until.cast("timestamp"), day)
    ).unnest("open_day")
    return owned.mutate(open_day=owned.open_day.cast("date"))


def _on_recent(con: BaseBackend, looked: ir.Table, template: Template) -> ir.Table:
    """The looks (by people in the template's kinds of unit) at a subject of an operation
    opened within the template's reach."""
    recent = _recent_operations(con, template)
    mine = looked.filter(_unit_kind_ok(looked, template))
    c = mine.join(recent, [mine.subject_id == recent.subject_id, mine.day == recent.open_day])
    return c.filter(_around(c))


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
            _lo=expr.event_id.min(),
            _hi=expr.event_id.max(),
            _first=expr.ts.min(),
            _last=expr.ts.max(),
        )
        if template.comes_back:
            span = grouped._last.epoch_seconds() - grouped._first.epoch_seconds()
            grouped = grouped.filter(span >= RETURN_AFTER.total_seconds())
        else:
            # Two looks or more (MIN_LOOKS): a different first and last event.
            grouped = grouped.filter(grouped._lo != grouped._hi)
        repeated = grouped.drop("_lo", "_hi", "_first", "_last").mutate(
            _repeated=ibis.literal(True)
        )
        expr = expr.left_join(repeated, ["person_id", "day", "operation_id"])
        # A vague name search's result is whoever the system returned: at most weak.
        weak = expr._repeated.isnull() | ~expr.specific
    return _as_matches(expr, template, weak)


def _as_matches(expr: ir.Table, template: Template, weak: ir.BooleanValue) -> ir.Table:
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


def _assignments(con: BaseBackend) -> ir.Table:
    return con.table("assignments").select("operation_id", "person_id", "start", "end")


def _within(c: ir.Table, start: ir.Value, end: ir.Value, template: Template) -> ir.BooleanValue:
    return (c.ts >= start - _seconds(template.before)) & (
        end.isnull() | (c.ts <= end + _seconds(template.after))
    )


def assignment(con: BaseBackend, looked: ir.Table, template: Template) -> ir.Table:
    """From the person's assignments at that time to their operations' subjects.

    Each assignment is first paired with its operation's subjects (a few per operation), so
    a look meets only the assignments of its own person *and* subject: joined on the person
    alone, each look met every assignment of the person's career before the times were
    compared (about 100 M rows for 5 M looks at 10 M events).
    """
    theirs = _assignments(con).join(_links(con), "operation_id")
    mine = looked.join(theirs, ["person_id", "subject_id"])
    return _match(mine.filter(_within(mine, mine.start, mine.end, template)), template)


def unit(con: BaseBackend, looked: ir.Table, template: Template) -> ir.Table:
    """Operations of the subject owned by the person's unit, open at the time.

    A control room's watch looks at a caller many times a day, and a caller can be in dozens
    of the control room's open calls: joined look by look, 1 M looks made 18.7 M matches at
    10 M events. The looks are first reduced to one row per person, day and subject (what the
    join depends on, with the first and last look for :func:`_match_seen`), so each meets the
    subject's operations once.
    """
    owned = _subjects_operations(con, template)
    if template.unit_kinds:
        # The person's unit is of these kinds, so the operation's unit must be too (the same
        # unit, or one of the same kind): only those operations are listed day by day.
        owned = owned.filter(owned.operation_unit_kind.isin(list(template.unit_kinds)))
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
    seen = _seen(mine)
    same = (
        seen.unit_kind == owned.operation_unit_kind
        if template.same_unit_kind
        else seen.person_unit == owned.operation_unit
    )
    c = seen.join(owned, [seen.subject_id == owned.subject_id, seen.day == owned.open_day, same])
    return _match_seen(mine, c.select(*SEEN, "operation_id", "role"), template)


SEEN = ("person_id", "day", "subject_id", "_lo", "_hi", "_first", "_last")


def _seen(looked: ir.Table) -> ir.Table:
    """One row per person, day and subject looked at, with the person's unit, the first and
    last event id (two looks or more when they differ) and the first and last time."""
    return looked.group_by(["person_id", "day", "subject_id", "person_unit", "unit_kind"]).agg(
        _lo=looked.event_id.min(),
        _hi=looked.event_id.max(),
        _first=looked.ts.min(),
        _last=looked.ts.max(),
    )


def _match_seen(looked: ir.Table, c: ir.Table, template: Template) -> ir.Table:
    """:func:`_match` for paths joined per person, day and subject (``c``: :data:`SEEN` with
    ``operation_id`` and ``role``): the same matches, reduced at once to what the best of each
    event can be, the first repeated operation and the first other one of each look.

    An operation counts as worked on that day as in :func:`_match`: two looks or more at its
    subjects (a different first and last event), or, ``comes_back``, looks at least
    :data:`RETURN_AFTER` apart.
    """
    if template.circumstantial and not template.weak_only:
        # Over each person's day on each operation (a window, not a group joined back: DuckDB
        # joined that back on the person and day first, 55 M rows at 10 M events).
        worked = ibis.window(group_by=[c.person_id, c.day, c.operation_id])
        if template.comes_back:
            span = (
                c._last.max().over(worked).epoch_seconds()
                - c._first.min().over(worked).epoch_seconds()
            )
            repeated = span >= RETURN_AFTER.total_seconds()
        else:
            repeated = c._lo.min().over(worked) != c._hi.max().over(worked)
        c = c.mutate(_repeated=repeated)
    else:
        c = c.mutate(_repeated=ibis.literal(not template.weak_only))
    first = ibis.struct(
        {"operation_id": c.operation_id, "no_role": c.role.isnull(), "role": c.role}
    )
    best = c.group_by(["person_id", "day", "subject_id", "_repeated"]).agg(_first_op=first.min())
    best = best.select(
        "person_id",
        "day",
        "subject_id",
        "_repeated",
        operation_id=best._first_op.operation_id,
        role=best._first_op.role,
    )
    expr = looked.join(best, ["person_id", "day", "subject_id"])
    # A vague name search's result is whoever the system returned: at most weak.
    return _as_matches(expr, template, ~expr._repeated | ~expr.specific)


def colleague(con: BaseBackend, looked: ir.Table, template: Template) -> ir.Table:
    """A colleague in the person's unit was assigned to an operation of the subject at the
    time. Each colleague's assignment is paired with its operation's subjects first, so a look
    meets only the assignments of its own unit *and* subject (paired with every operation of a
    popular subject first, 284 k looks made 24 M pairs at 10 M events)."""
    workforce = con.table("workforce").select(colleague_id="person_id", colleague_unit="unit_id")
    theirs = _assignments(con).rename(colleague_id="person_id").join(workforce, "colleague_id")
    theirs = theirs.join(_subjects_operations(con, template), "operation_id")
    mine = looked.filter(_unit_kind_ok(looked, template))
    joined = mine.join(
        theirs, [mine.person_unit == theirs.colleague_unit, mine.subject_id == theirs.subject_id]
    )
    return _match(
        joined.filter(
            (joined.colleague_id != joined.person_id)
            & _around(joined)
            & _within(joined, joined.start, joined.end, template)
        ),
        template,
    )


def fresh_incident(con: BaseBackend, looked: ir.Table, template: Template) -> ir.Table:
    """An incident being attended at that very time (between its first recorded attendance and
    the end of its last, with the template's slack), looked at by someone in a front-line unit:
    the officer who attended and was never recorded."""
    assignments = _assignments(con)
    attended = assignments.group_by("operation_id").agg(
        first_start=assignments.start.min(), last_end=assignments.end.max()
    )
    fresh = _on_recent(con, looked, template).join(attended, "operation_id")
    return _match(
        fresh.filter(_within(fresh, fresh.first_start, fresh.last_end, template)), template
    )


def target(con: BaseBackend, looked: ir.Table, template: Template) -> ir.Table:
    """A recent warrant's or intelligence operation's subject, looked at by someone in the
    kind of unit that is briefed on them (even after the warrant was executed)."""
    return _match(_on_recent(con, looked, template), template)


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
    # Each look once: its unit's own operation, or else one the person was assigned to then
    # (an equi-join, filtered after: as a semi-join on the time window too, DuckDB compared
    # every pair, ten minutes at 10 M events).
    own = (named.operation_unit == named.person_unit).fill_null(False)
    others = named.filter(~own)
    assigned = others.join(_assignments(con), ["operation_id", "person_id"])
    assigned = assigned.filter(_within(assigned, assigned.start, assigned.end, template))
    assigned = assigned.select(named.columns)
    return _match(named.filter(own).union(assigned), template)


Builder = Callable[[BaseBackend, ir.Table, Template], ir.Table]
# Direct paths are tried first, rank by rank; the broader ones (someone else's assignment, an
# incident or briefing nobody recorded this person on) only for the looks no direct path explains.
DIRECT: dict[Path, Builder] = {
    Path.NAMED_OPERATION: named_operation,
    Path.ASSIGNMENT: assignment,
    Path.UNIT: unit,
}
BROADER: dict[Path, Builder] = {
    Path.COLLEAGUE: colleague,
    Path.FRESH_INCIDENT: fresh_incident,
    Path.TARGET: target,
}
