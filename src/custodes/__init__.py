"""Custodes: who watches the watchers.

Accountable access to personal data in police systems. See ``DESIGN.md`` in the shared design
folder for the map of the parts; each sub-package here is one of them.
"""

__version__ = "0.1.0"
