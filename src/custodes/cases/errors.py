"""What can go wrong in case work, as four errors the web maps to HTTP statuses.

    CustodesError                (custodes.errors: the CLI prints the message on one line)
    └── CaseWorkError
        ├── NotFound     404  an unknown case, alert, user, person, task or event
        ├── Forbidden    403  the user is not on the case (need-to-know) or their role may not
        ├── Conflict     409  someone else changed the case or alert since the user loaded it
        └── Invalid      422  a step the workflow does not allow: a bad transition, an outcome
                              outside the taxonomy, a missing reason, a form field too long

Every message names the thing at fault and says what to do. When one of these is raised
nothing has changed: the workflow checks everything before it writes, and a write that loses an
optimistic-locking race is rolled back before anything reaches the ledger.
"""

from __future__ import annotations

from custodes.errors import CustodesError


class CaseWorkError(CustodesError):
    """A case-work request that was refused; nothing was changed."""

    status_code = 400


class NotFound(CaseWorkError):
    """Something named in the request does not exist."""

    status_code = 404


class Forbidden(CaseWorkError):
    """The user may not see or do this (need-to-know, or their role)."""

    status_code = 403


class Conflict(CaseWorkError):
    """Someone else changed the case or alert since the user loaded it: reload and try again."""

    status_code = 409


class Invalid(CaseWorkError):
    """The workflow does not allow this step, or the input is malformed."""

    status_code = 422
