"""The web application for Professional Standards: alert queue, cases, histories, the ledger.

``create_app(home)`` builds it (FastAPI, Jinja2 templates, HTMX); ``custodes serve`` runs it.
Every route is declared in :mod:`custodes.web.rules` (roles, need-to-know scope, personal data)
and enforced by :mod:`custodes.web.guard`.
"""

from custodes.web.app import create_app

__all__ = ["create_app"]
