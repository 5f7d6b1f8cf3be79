"""The dashboard's figures: how big and how old the queue is, and this year's outcomes.

Counts only, no personal data: every role may see them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import and_, func, or_, select

from custodes.cases.db import CaseDb
from custodes.cases.models import Alert, Case, PersonOutcome
from custodes.cases.taxonomy import OUTCOMES
from custodes.cases.users import aware

AGE_BUCKETS = (
    ("under a day", timedelta(0), timedelta(days=1)),
    ("1 to 7 days", timedelta(days=1), timedelta(days=7)),
    ("7 to 30 days", timedelta(days=7), timedelta(days=30)),
    ("over 30 days", timedelta(days=30), None),
)
LABELS = {o.code: o.label for o in OUTCOMES}


class AgeBucket(BaseModel):
    label: str
    alerts: int


class OutcomeCount(BaseModel):
    code: str
    label: str
    count: int


class Dashboard(BaseModel):
    queue: int  # alerts waiting for triage (state new)
    oldest_days: float | None  # how long the oldest of them has waited
    ageing: list[AgeBucket]
    queue_by_family: dict[str, int]
    open_cases: int
    cases_by_status: dict[str, int]
    year: int
    outcomes: list[OutcomeCount]  # person-outcomes recorded this year, most frequent first


def dashboard(db: CaseDb, at: datetime | None = None) -> Dashboard:
    moment = at or datetime.now(UTC)
    with db.session() as session:
        waiting = [
            aware(d) for d in session.scalars(select(Alert.detected_at).where(Alert.state == "new"))
        ]
        by_family = dict(
            session.execute(
                select(Alert.family, func.count())
                .where(Alert.state == "new")
                .group_by(Alert.family)
            ).all()
        )
        by_status = dict(
            session.execute(select(Case.status, func.count()).group_by(Case.status)).all()
        )
        first, next_year = date(moment.year, 1, 1), date(moment.year + 1, 1, 1)
        this_year = or_(
            and_(PersonOutcome.outcome_date >= first, PersonOutcome.outcome_date < next_year),
            and_(
                PersonOutcome.outcome_date.is_(None),
                PersonOutcome.recorded_at >= datetime(moment.year, 1, 1, tzinfo=UTC),
                PersonOutcome.recorded_at < datetime(moment.year + 1, 1, 1, tzinfo=UTC),
            ),
        )
        counts = dict(
            session.execute(
                select(PersonOutcome.code, func.count())
                .where(this_year)
                .group_by(PersonOutcome.code)
            ).all()
        )
    ages = [moment - d for d in waiting]
    ageing = []
    for label, low, high in AGE_BUCKETS:
        ageing.append(
            AgeBucket(
                label=label, alerts=sum(low <= a and (high is None or a < high) for a in ages)
            )
        )
    oldest = max(ages, default=None)
    return Dashboard(
        queue=len(waiting),
        oldest_days=round(oldest.total_seconds() / 86400, 1) if oldest is not None else None,
        ageing=ageing,
        queue_by_family={str(k): int(v) for k, v in sorted(by_family.items())},
        open_cases=sum(int(v) for k, v in by_status.items() if k != "closed"),
        cases_by_status={str(k): int(v) for k, v in by_status.items()},
        year=moment.year,
        outcomes=[
            OutcomeCount(code=str(code), label=LABELS.get(code, code), count=int(n))
            for code, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        ],
    )
