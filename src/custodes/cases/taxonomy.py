"""The words of case work, as data: alert states, case statuses, breach types, roles and the
outcome taxonomy of DESIGN.md ("Cases and outcomes").

Outcome codes are used in files, APIs and reports; they are grouped in *tracks* that run in
parallel (one person can be given a final written warning, resign during proceedings and be
convicted), which is why published counts overlap. Nothing else in Custodes spells a code: the
FOI categories below are defined here, once, from the codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# alerts --------------------------------------------------------------------------------------

ALERT_STATES: Final = ("new", "explained", "dismissed", "merged", "escalated")
"""``explained``: legitimate (with a reason); ``dismissed``: a false positive (with a reason);
``escalated``: opened a new case; ``merged``: joined an existing case."""

OPEN_ALERT_STATES: Final = ("new",)

# cases ---------------------------------------------------------------------------------------

CASE_STATUSES: Final = ("open", "assessment", "investigation", "outcome", "review", "closed")

CASE_TRANSITIONS: Final[dict[str, tuple[str, ...]]] = {
    "open": ("assessment",),
    "assessment": ("investigation", "outcome"),
    "investigation": ("outcome",),
    "outcome": ("review", "investigation"),
    "review": ("closed", "outcome"),  # the reviewer signs off, or sends it back
    "closed": (),
}
"""Which status may follow which. A case may skip investigation (an assessment that finds no
case to answer goes straight to outcome); review sends a case back to outcome when the reviewer
does not sign off."""

BREACH_TYPES: Final = ("unauthorised_access", "inappropriate_disclosure", "other")
BREACH_LABELS: Final = {
    "unauthorised_access": "unauthorised access (non-policing purpose)",
    "inappropriate_disclosure": "inappropriate disclosure",
    "other": "other misuse",
}

EMPLOYEE_ROLES: Final = ("officer", "staff")

# outcomes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    code: str
    track: str  # assessment | officer | staff | exit | criminal | missing
    label: str
    applies_to: tuple[str, ...] = EMPLOYEE_ROLES  # who can receive it


OUTCOMES: Final = (
    Outcome("no_case_to_answer", "assessment", "No case to answer"),
    Outcome("no_further_action", "assessment", "No further action"),
    Outcome("reflective_practice", "assessment", "Reflective practice"),
    Outcome("management_advice", "assessment", "Management advice"),
    Outcome("written_warning", "officer", "Written warning", ("officer", "staff")),
    Outcome("final_written_warning", "officer", "Final written warning", ("officer", "staff")),
    Outcome("reduction_in_rank", "officer", "Reduction in rank", ("officer",)),
    Outcome("dismissal_without_notice", "officer", "Dismissal without notice", ("officer",)),
    Outcome(
        "would_have_been_dismissed",
        "officer",
        "Would have been dismissed (former officer)",
        ("officer",),
    ),
    Outcome("verbal_warning", "staff", "Verbal warning", ("staff",)),
    Outcome("dismissal", "staff", "Dismissal (contract terminated)", ("staff",)),
    Outcome("resigned_during_proceedings", "exit", "Resigned during proceedings"),
    Outcome("retired_during_proceedings", "exit", "Retired during proceedings"),
    Outcome("caution", "criminal", "Caution"),
    Outcome("conviction_dpa_s170", "criminal", "Convicted: Data Protection Act 2018 s170"),
    Outcome("conviction_cma", "criminal", "Convicted: Computer Misuse Act 1990"),
    Outcome("conviction_mipo", "criminal", "Convicted: misconduct in public office"),
    Outcome("conviction_other", "criminal", "Convicted: other offence"),
    Outcome("criminal_nfa", "criminal", "Criminal investigation: no further action"),
    Outcome("not_provided", "missing", "Not provided (historical record lacks the outcome)"),
)
"""``written_warning`` and ``final_written_warning`` exist under both the officer regulations and
local staff procedures; they are listed once, on the officer track, and apply to both roles."""

OUTCOME_CODES: Final = tuple(o.code for o in OUTCOMES)
NOT_PROVIDED: Final = "not_provided"


def outcome(code: str) -> Outcome:
    """The outcome with this code; ``KeyError`` names the valid codes."""
    for item in OUTCOMES:
        if item.code == code:
            return item
    raise KeyError(f"unknown outcome {code!r}: one of {', '.join(OUTCOME_CODES)}")


# the campaigners' five questions (DESIGN.md, "Transparency statistics") ------------------------

CONVICTED: Final = frozenset(c for c in OUTCOME_CODES if c.startswith("conviction_"))
EMPLOYMENT_TERMINATED: Final = frozenset(
    {"dismissal", "dismissal_without_notice", "would_have_been_dismissed"}
)
INTERNALLY_DISCIPLINED: Final = frozenset(
    {
        "verbal_warning",
        "written_warning",
        "final_written_warning",
        "reduction_in_rank",
        "management_advice",
    }
)
RESIGNED_DURING_PROCEEDINGS: Final = frozenset(
    {"resigned_during_proceedings", "retired_during_proceedings"}
)
NO_DISCIPLINARY_ACTION: Final = frozenset(
    {"no_case_to_answer", "no_further_action", "reflective_practice", "criminal_nfa", "caution"}
)
"""An incident counts as "no disciplinary action" when every person involved has only outcomes
from this set. Incidents with a ``not_provided`` outcome are counted apart, never as no action."""

# who may use the system ------------------------------------------------------------------------

USER_ROLES: Final = ("investigator", "reviewer", "dpo", "overseer", "admin")
