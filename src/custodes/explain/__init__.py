"""Explanations: every access event is explained from the force's own data, or unexplained.

See ``templates`` (the explanations, as data), ``paths`` (each kind of path as an Ibis
expression) and ``run`` (explain a store). ``docs/explain.md`` describes them.
"""

from custodes.explain.run import ExplainReport, explain_store, explanations, matches
from custodes.explain.templates import KNOWN_RECIPIENTS, TEMPLATES, UNEXPLAINED, Template

__all__ = [
    "KNOWN_RECIPIENTS",
    "TEMPLATES",
    "UNEXPLAINED",
    "ExplainReport",
    "Template",
    "explain_store",
    "explanations",
    "matches",
]
