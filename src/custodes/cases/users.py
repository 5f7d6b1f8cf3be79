"""Who may sign in, and the sessions of those who did.

Passwords are kept only as argon2id hashes (argon2-cffi's RFC 9106 low-memory profile). Signing
in fails with one message whatever the reason (an unknown name, a wrong password, a locked or
disabled account), so the sign-in form does not tell an attacker which names exist; a name that
does not exist still costs one hash verification, so timing does not tell either. Five failures
in a row lock an account for fifteen minutes.

A session is a random token held by the browser (or an API client) in a cookie; the database
keeps only its SHA-256, so a copy of the database signs nobody in. Each session has its own CSRF
token, which every state-changing request must send back (a form field or a header). Sessions
expire after eight hours and are deleted on sign-out or when the account is disabled.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from custodes.cases.db import CaseDb
from custodes.cases.models import LoginSession, User
from custodes.cases.taxonomy import USER_ROLES
from custodes.errors import CustodesError

MIN_PASSWORD_LENGTH: Final = 12
MAX_PASSWORD_LENGTH: Final = 1024  # argon2 hashes anything, but a megabyte "password" is abuse
MAX_FAILURES: Final = 5
LOCKOUT: Final = timedelta(minutes=15)
SESSION_LIFETIME: Final = timedelta(hours=8)
NAME_LENGTH: Final = 64

SIGN_IN_FAILED: Final = (
    "sign-in failed: the name or password is wrong, or the account is locked or disabled "
    f"(after {MAX_FAILURES} failures, wait {LOCKOUT.seconds // 60} minutes or ask an admin)"
)

_hasher = PasswordHasher()
# Verified against when the name is unknown, so an unknown name takes as long as a known one.
_DUMMY_HASH: Final = _hasher.hash(secrets.token_urlsafe(16))


class UserError(CustodesError):
    """A user cannot be added or changed as asked (unknown role, taken name, short password)."""


class SignInFailed(CustodesError):
    """Signing in failed; the message never says why, on purpose."""


@dataclass(frozen=True)
class SignedIn:
    """A new session: the token goes to the client once and is never stored."""

    token: str
    csrf_token: str
    user: User
    expires_at: datetime


@dataclass(frozen=True)
class ActiveSession:
    """The session a request's token belongs to."""

    user: User
    csrf_token: str
    expires_at: datetime


def now() -> datetime:
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every timestamp here is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# users --------------------------------------------------------------------------------------


def check_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > NAME_LENGTH or not cleaned.isprintable():
        raise UserError(
            f"user name {name!r} must be 1 to {NAME_LENGTH} printable characters: choose another"
        )
    return cleaned


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(
            f"the password is {len(password)} characters: use at least {MIN_PASSWORD_LENGTH}"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(f"the password is longer than {MAX_PASSWORD_LENGTH} characters")


def add_user(db: CaseDb, name: str, role: str, password: str) -> User:
    """Add a user who may sign in with ``password`` (kept only as an argon2id hash)."""
    name = check_name(name)
    if role not in USER_ROLES:
        raise UserError(f"unknown role {role!r}: one of {', '.join(USER_ROLES)}")
    check_password(password)
    hashed = _hasher.hash(password)
    with db.session() as session:
        if session.scalar(select(User.id).where(User.name == name)) is not None:
            raise UserError(f"a user named {name!r} already exists: choose another name")
        user = User(name=name, role=role, password_hash=hashed, active=True, failed_logins=0)
        session.add(user)
        session.flush()
        return user


def get_user(db: CaseDb, name: str) -> User:
    with db.session() as session:
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise UserError(f"no user named {name!r}: see `custodes users list`")
        return user


def list_users(db: CaseDb) -> list[User]:
    with db.session() as session:
        return list(session.scalars(select(User).order_by(User.name)))


def set_active(db: CaseDb, name: str, active: bool) -> User:
    """Enable or disable an account; disabling it ends its sessions at once."""
    with db.session() as session:
        user = session.scalar(select(User).where(User.name == name))
        if user is None:
            raise UserError(f"no user named {name!r}: see `custodes users list`")
        user.active = active
        if active:
            user.failed_logins, user.locked_until = 0, None
        else:
            session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
        return user


# signing in ---------------------------------------------------------------------------------


def authenticate(db: CaseDb, name: str, password: str, *, at: datetime | None = None) -> User:
    """The user with this name and password, or :class:`SignInFailed` (one message for every
    reason). Counts failures; the fifth in a row locks the account for :data:`LOCKOUT`."""
    moment = at or now()
    with db.session() as session:
        user = session.scalar(select(User).where(User.name == name.strip()))
        if user is None or len(password) > MAX_PASSWORD_LENGTH:
            _verify(_DUMMY_HASH, password[:MAX_PASSWORD_LENGTH])
            raise SignInFailed(SIGN_IN_FAILED)
        locked = user.locked_until is not None and aware(user.locked_until) > moment
        if locked or not user.active:
            _verify(_DUMMY_HASH, password)
            raise SignInFailed(SIGN_IN_FAILED)
        if not _verify(user.password_hash, password):
            _count_failure(session, user, moment)
        else:
            user.failed_logins, user.locked_until = 0, None
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = _hasher.hash(password)
            return user
    raise SignInFailed(SIGN_IN_FAILED)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _count_failure(session: Session, user: User, moment: datetime) -> None:
    # One UPDATE, so two wrong guesses at the same moment both count.
    session.execute(
        update(User)
        .where(User.id == user.id)
        .values(failed_logins=User.failed_logins + 1)
        .execution_options(synchronize_session=False)
    )
    failures = session.scalar(select(User.failed_logins).where(User.id == user.id)) or 0
    if failures >= MAX_FAILURES:
        session.execute(
            update(User)
            .where(User.id == user.id)
            .values(failed_logins=0, locked_until=moment + LOCKOUT)
            .execution_options(synchronize_session=False)
        )


# sessions -----------------------------------------------------------------------------------


def start_session(
    db: CaseDb, user: User, *, lifetime: timedelta = SESSION_LIFETIME, at: datetime | None = None
) -> SignedIn:
    """A new session for a signed-in user (expired sessions are cleared on the way)."""
    moment = at or now()
    token, csrf_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires_at = moment + lifetime
    with db.session() as session:
        session.execute(delete(LoginSession).where(LoginSession.expires_at <= moment))
        session.add(
            LoginSession(
                token_hash=token_hash(token),
                user_id=user.id,
                csrf_token=csrf_token,
                created_at=moment,
                expires_at=expires_at,
            )
        )
    return SignedIn(token, csrf_token, user, expires_at)


def find_session(db: CaseDb, token: str, *, at: datetime | None = None) -> ActiveSession | None:
    """The live session of this token (its user active), or None."""
    if not token or len(token) > 128:
        return None
    moment = at or now()
    with db.session() as session:
        row = session.execute(
            select(LoginSession, User)
            .join(User, User.id == LoginSession.user_id)
            .where(LoginSession.token_hash == token_hash(token))
        ).first()
        if row is None:
            return None
        login, user = row
        if aware(login.expires_at) <= moment or not user.active:
            return None
        return ActiveSession(user, login.csrf_token, aware(login.expires_at))


def end_session(db: CaseDb, token: str) -> None:
    """Sign out: the token stops working everywhere."""
    with db.session() as session:
        session.execute(delete(LoginSession).where(LoginSession.token_hash == token_hash(token)))


def csrf_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison of a request's CSRF token with its session's."""
    return bool(given) and secrets.compare_digest(expected.encode(), (given or "").encode())


def session_count(db: CaseDb) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(LoginSession)) or 0
