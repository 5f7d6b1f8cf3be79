"""The case database: users, alerts under triage, cases, the people in them and their outcomes.

SQLAlchemy 2 models, one table each; the schema changes only through Alembic migrations
(``custodes/cases/migrations``), so a force's PostgreSQL database and a laptop's SQLite file
stay the same shape. Codes (alert states, statuses, breach types, outcomes, roles) are checked
against :mod:`custodes.cases.taxonomy` by the workflow, not by database enums, so adding an
outcome is a change to data, not a migration.

Rows that people change concurrently (alerts, cases) carry a ``version`` column that SQLAlchemy
uses for optimistic locking: two investigators saving the same case at once cannot silently
overwrite each other; the second gets a clear "changed by someone else" error.

Every timestamp is UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


UTC_TIME = DateTime(timezone=True)


# who uses it -----------------------------------------------------------------------------------


class User(Base):
    """A person who signs in: an investigator, a reviewer, the DPO, an overseer, an admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTC_TIME, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)


class LoginSession(Base):
    """A signed-in browser or API client. Only a hash of the token is stored."""

    __tablename__ = "login_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTC_TIME)

    user: Mapped[User] = relationship()


# alerts under triage ---------------------------------------------------------------------------


class Alert(Base):
    """An alert from detection, copied here (by ``alert_id``) to be triaged.

    Detection's fields (rule, score, events, summary, evidence) are refreshed while the alert is
    ``new``; once triaged, the alert is what the investigator saw and decided on.
    """

    __tablename__ = "alerts"

    alert_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(64), index=True)
    subject_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    rule: Mapped[str] = mapped_column(String(64), index=True)
    family: Mapped[str] = mapped_column(String(32))
    score: Mapped[float] = mapped_column(Float)
    first_ts: Mapped[datetime] = mapped_column(UTC_TIME)
    last_ts: Mapped[datetime] = mapped_column(UTC_TIME)
    event_ids: Mapped[str] = mapped_column(Text)  # space-separated, as in alerts.csv
    summary: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text)  # JSON
    state: Mapped[str] = mapped_column(String(16), default="new", index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), nullable=True, index=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)  # why explained/dismissed
    triaged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    triaged_at: Mapped[datetime | None] = mapped_column(UTC_TIME, nullable=True)
    detected_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


# cases -----------------------------------------------------------------------------------------


class Case(Base):
    """A case: alerts and incidents about one or more employees, worked to an outcome.

    ``origin`` is ``workflow`` for cases opened here and ``import`` for historical records
    (``custodes cases import``), which arrive closed. ``reference`` is unique per force.
    ``incident_date`` is the date that places the case in a reporting period (the earliest
    incident); ``opened_at`` is when it was opened here.
    """

    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("force", "reference"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(64))
    force: Mapped[str] = mapped_column(String(64), default="")
    origin: Mapped[str] = mapped_column(String(16), default="workflow")
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    incident_date: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    opened_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTC_TIME, nullable=True)
    closing_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    signed_off_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    signed_off_at: Mapped[datetime | None] = mapped_column(UTC_TIME, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])
    members: Mapped[list[CaseMember]] = relationship(
        back_populates="case", cascade="all, delete-orphan"
    )
    allegations: Mapped[list[Allegation]] = relationship(
        back_populates="case", cascade="all, delete-orphan"
    )
    people: Mapped[list[CasePerson]] = relationship(
        back_populates="case", cascade="all, delete-orphan"
    )
    alerts: Mapped[list[Alert]] = relationship(foreign_keys=[Alert.case_id])

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class CaseMember(Base):
    """The need-to-know list: who may open a case besides its owner and reviewer."""

    __tablename__ = "case_members"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    added_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)

    case: Mapped[Case] = relationship(back_populates="members")
    user: Mapped[User] = relationship(foreign_keys=[user_id])


class Allegation(Base):
    """What the case alleges: a breach type, in which systems, from when."""

    __tablename__ = "allegations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    breach_type: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    systems: Mapped[str] = mapped_column(String(200), default="")  # e.g. "PNC;RMS"
    incident_date: Mapped[date | None] = mapped_column(Date, nullable=True)

    case: Mapped[Case] = relationship(back_populates="allegations")


class CasePerson(Base):
    """An employee involved in a case (by workforce ``person_id``), officer or staff."""

    __tablename__ = "case_people"
    __table_args__ = (UniqueConstraint("case_id", "person_ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    person_ref: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(16))  # officer | staff

    case: Mapped[Case] = relationship(back_populates="people")
    outcomes: Mapped[list[PersonOutcome]] = relationship(
        back_populates="person", cascade="all, delete-orphan"
    )


class PersonOutcome(Base):
    """One outcome for one person in one case; a person may have several (parallel tracks)."""

    __tablename__ = "outcomes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_person_id: Mapped[int] = mapped_column(ForeignKey("case_people.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), index=True)
    outcome_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)

    person: Mapped[CasePerson] = relationship(back_populates="outcomes")


class CaseEvent(Base):
    """An access event cited in a case (its evidence pack carries the event's inclusion proof)."""

    __tablename__ = "case_events"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    added_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)


class Task(Base):
    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    due: Mapped[date | None] = mapped_column(Date, nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UTC_TIME, nullable=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)


class Note(Base):
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)


class Transition(Base):
    """Every change of state of an alert or a case: who, when, from, to, why, and the ledger
    leaf that records it."""

    __tablename__ = "transitions"
    __table_args__ = (Index("ix_transitions_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(16))  # alert | case
    entity_id: Mapped[str] = mapped_column(String(64))
    from_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_state: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)
    reason: Mapped[str] = mapped_column(Text, default="")
    ledger_leaf: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # added by revision 0002: what the step did (``status``, ``assign``, ``note``, ``outcome``,
    # ``explain``…) and what it was about (a member's name, a person and an outcome code); from
    # and to are equal when a step changed something other than the status.
    action: Mapped[str | None] = mapped_column(String(32), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)


# added by revision 0002 (its (state, score) and (state, detected_at) dropped by 0005, which
# 0004's indexes supersede): the queue by time of access, and "the cases I am on" ------------

Index("ix_alerts_state_last_ts", Alert.state, Alert.last_ts)
Index("ix_cases_owner_id", Case.owner_id)
Index("ix_cases_reviewer_id", Case.reviewer_id)
Index("ix_case_members_user_id", CaseMember.user_id)


# added by revision 0003: historical case imports (``custodes cases import``) ---------------------


class CaseImport(Base):
    """One run of ``custodes cases import``: the file, its digest, what became of its rows, and
    the ledger leaf that records the run. A report counts an imported row only when that leaf is
    below the ledger size the report is taken at, so a report can be regenerated identically."""

    __tablename__ = "case_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    default_force: Mapped[str] = mapped_column(String(64), default="")
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_imported: Mapped[int] = mapped_column(Integer, default=0)
    rows_already_present: Mapped[int] = mapped_column(Integer, default=0)
    rows_quarantined: Mapped[int] = mapped_column(Integer, default=0)
    cases_created: Mapped[int] = mapped_column(Integer, default=0)
    ledger_leaf: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    imported_at: Mapped[datetime] = mapped_column(UTC_TIME, default=utcnow)


class CaseImportRow(Base):
    """One imported person-outcome, normalised, with the file line it came from and the case
    rows it became. Its key (force, case, person, outcome) makes re-importing idempotent."""

    __tablename__ = "case_import_rows"
    __table_args__ = (UniqueConstraint("force", "case_ref", "person_ref", "outcome"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("case_imports.id"), index=True)
    line: Mapped[int] = mapped_column(Integer)
    force: Mapped[str] = mapped_column(String(64))
    case_ref: Mapped[str] = mapped_column(String(64))
    person_ref: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    incident_date: Mapped[date] = mapped_column(Date)
    breach_type: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(40))
    outcome_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    systems: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    outcome_id: Mapped[int] = mapped_column(ForeignKey("outcomes.id"), unique=True)
    allegation_id: Mapped[int] = mapped_column(ForeignKey("allegations.id"), index=True)


class CaseImportQuarantine(Base):
    """A row of a case file that was not imported: the file, its line, the column at fault,
    every problem found, and the row's original text (so it can be corrected and sent again).
    Kept once per file and line, however often the file is imported."""

    __tablename__ = "case_import_quarantine"
    __table_args__ = (UniqueConstraint("file_sha256", "line"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("case_imports.id"), index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    file_sha256: Mapped[str] = mapped_column(String(64))
    line: Mapped[int] = mapped_column(Integer)
    column_name: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[str] = mapped_column(Text)  # JSON: the row's original text by header column


# added by revision 0004: the queue's orders without sorting ties (alert_id breaks them), whole
# or filtered by rule or family; the open cases of an owner or a reviewer -----------------------

Index("ix_alerts_state_score_alert_id", Alert.state, Alert.score, Alert.alert_id)
Index("ix_alerts_state_detected_at_alert_id", Alert.state, Alert.detected_at, Alert.alert_id)
Index("ix_alerts_state_rule_score_alert_id", Alert.state, Alert.rule, Alert.score, Alert.alert_id)
Index(
    "ix_alerts_state_family_score_alert_id",
    Alert.state,
    Alert.family,
    Alert.score,
    Alert.alert_id,
)
Index("ix_cases_owner_id_status", Case.owner_id, Case.status)
Index("ix_cases_reviewer_id_status", Case.reviewer_id, Case.status)
