"""The exceptions a user can cause, in one place.

Everything a person can get wrong (a missing file, a wrong header, a bad argument, a store that
another process is writing) raises a :class:`CustodesError` whose message is one line that names
the thing at fault and says what to do. The CLI prints that line and exits with status 2; it never
shows a traceback for these. Any other exception is a bug in Custodes.

    CustodesError
    ├── BundleError      a bundle file is missing, unreadable or has the wrong header
    └── StoreError       the store under HOME cannot be opened or is busy
"""

from __future__ import annotations


class CustodesError(Exception):
    """A problem the user can fix; the message is one line that says what and where."""


class BundleError(CustodesError):
    """A bundle file that cannot be read at all (as opposed to a bad row, which is quarantined)."""


class StoreError(CustodesError):
    """The store under HOME cannot be used as asked."""
