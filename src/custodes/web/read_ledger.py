"""Group commit of investigators' reads: many concurrent requests, one ledger append.

Every response that shows personal data appends one ``investigator_read`` leaf before it is sent
(:mod:`custodes.cases.audit`). An append takes the store's writer lock and syncs the tree and
the catalog to disk, a few milliseconds when the disk is quiet and tens when it is busy; with
fifty investigators at once, requests spent most of their time queueing for that lock, one
append each (measured: 85% of request threads' time at 20,000 alerts; see
docs/benchmarks.md). Here the requests of one process that arrive while an append is under way
wait together and go to the ledger in the next append, as one
:func:`~custodes.store.ledger.append_actions` call: one lock, one sync, one leaf each, in
arrival order. The store stays open between appends (:class:`~custodes.store.store.KeptAppender`),
so an append is the lock, the leaves and the syncs, not a store's opening as well.

Nothing recorded changes: each request still gets its own leaf with the same fields
:func:`custodes.cases.audit.record_read` writes, and does not return until the append that holds
its leaf is synced and committed (log before serve). If the append fails, every request in it
gets the error and none of them shows the data.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from custodes.cases.audit import READ_KIND
from custodes.store.ledger import append_actions
from custodes.store.store import KeptAppender

MAX_GROUP: Final = 256
"""The most reads one append carries (the rest go in the next)."""

Fields = dict[str, str | int | None]


@dataclass(eq=False)
class _Read:
    fields: Fields
    done: threading.Event = field(default_factory=threading.Event)
    leads: bool = False  # woken to write the next group rather than with a leaf
    leaf: int | None = None
    error: BaseException | None = None


class ReadLedger:
    """The reads of one store's ledger, grouped. The first request to arrive when no append is
    under way writes; the ones arriving meanwhile queue, and when the append is done the
    oldest of them is woken to write the whole queue (leader and followers, as in a database's
    group commit), so no thread is kept for it and no request waits for more than the append
    under way and its own."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self._appender = KeptAppender(home)
        self._lock = threading.Lock()
        self._queue: list[_Read] = []
        self._writing = False

    def record(self, fields: Fields) -> int:
        """Append one read and return its leaf, once it is synced and committed."""
        read = _Read(fields)
        with self._lock:
            self._queue.append(read)
            read.leads = not self._writing
            self._writing = True
        while True:
            if read.leads:
                read.leads = False
                self._write_group()
            else:
                read.done.wait()
                read.done.clear()
            if read.leaf is not None:
                return read.leaf
            if read.error is not None:
                raise _copy(read.error)

    def _write_group(self) -> None:
        with self._lock:
            group, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
        try:
            with self._appender.open() as store:
                events = append_actions(store, [(READ_KIND, read.fields) for read in group])
        except BaseException as error:
            for read in group:
                read.error = error
        else:
            for read, event in zip(group, events, strict=True):
                read.leaf = event.leaf_index
        with self._lock:
            if self._queue:
                self._queue[0].leads = True
                self._queue[0].done.set()
            else:
                self._writing = False
        for read in group:
            read.done.set()


def _copy(error: BaseException) -> BaseException:
    """The error for one of the requests of a failed append: each raises its own copy, since
    raising one exception object in several threads at once tangles its traceback."""
    try:
        return copy.copy(error)
    except Exception:
        return error


_LEDGERS: dict[Path, ReadLedger] = {}
_LEDGERS_LOCK = threading.Lock()


def read_ledger(home: Path) -> ReadLedger:
    """The one :class:`ReadLedger` of this process for the store under ``home``."""
    found = _LEDGERS.get(home)
    if found is None:
        with _LEDGERS_LOCK:  # resolved once: two spellings of one HOME share one group
            key = home.resolve()
            found = _LEDGERS.get(key) or ReadLedger(key)
            _LEDGERS[key] = _LEDGERS[home] = found
    return found
